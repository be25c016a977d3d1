{{/* Chart name, truncated to the 63 characters a label value may have. */}}
{{- define "jisr.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped name of every object. */}}
{{- define "jisr.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "jisr.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "jisr.selectorLabels" -}}
app.kubernetes.io/name: {{ include "jisr.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "jisr.labels" -}}
helm.sh/chart: {{ include "jisr.chart" . }}
{{ include "jisr.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* repository:tag, or repository@digest when a digest is given. */}}
{{- define "jisr.image" -}}
{{- $repo := required "image.repository is required: where you pushed the image built from deploy/Containerfile" .Values.image.repository -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Where the chart mounts the configuration directory. */}}
{{- define "jisr.configDir" -}}/etc/jisr{{- end -}}

{{/* The ConfigMap key of an extra file: its path with "/" made "_" (keys cannot hold "/"). */}}
{{- define "jisr.extraFileKey" -}}
{{- printf "file_%s" (replace "/" "_" .) -}}
{{- end -}}

{{/* HTTP or HTTPS, for the probes of the public listener. */}}
{{- define "jisr.publicScheme" -}}
{{- if .Values.tls.enabled -}}HTTPS{{- else -}}HTTP{{- end -}}
{{- end -}}
