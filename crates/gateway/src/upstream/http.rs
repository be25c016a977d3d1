//! The HTTP client toward national IdPs: rustls, no redirects, a timeout on every call, and
//! bodies read up to a size limit so a hostile or broken IdP cannot exhaust memory or time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jisr_mapping::CountryCode;
use reqwest::header::{CACHE_CONTROL, HeaderMap};

use super::error::UpstreamError;
use crate::ops::metrics::upstream::{CallOutcome, UpstreamMetrics};

/// Largest discovery document, JWKS, token or userinfo response accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A response body with the headers that matter to callers.
#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    pub body: Vec<u8>,
    pub headers: HeaderMap,
}

impl Fetched {
    /// `max-age` from Cache-Control, if the IdP sent one (and no `no-store`/`no-cache`).
    pub fn max_age(&self) -> Option<Duration> {
        let value = self.headers.get(CACHE_CONTROL)?.to_str().ok()?;
        let mut max_age = None;
        for directive in value.split(',').map(str::trim) {
            let lower = directive.to_ascii_lowercase();
            if lower == "no-store" || lower == "no-cache" {
                return Some(Duration::ZERO);
            }
            if let Some(secs) = lower.strip_prefix("max-age=") {
                max_age = secs
                    .trim_matches('"')
                    .parse::<u64>()
                    .ok()
                    .map(Duration::from_secs);
            }
        }
        max_age
    }
}

/// One shared client; cheap to clone.
#[derive(Clone, Debug)]
pub struct HttpClient {
    inner: reqwest::Client,
    timeout: Duration,
    /// Where each call is counted and timed, under its country.
    meter: Option<(CountryCode, Arc<UpstreamMetrics>)>,
}

impl HttpClient {
    /// A client with `timeout` for each whole request (connect, send, read).
    pub fn new(timeout: Duration) -> Result<Self, UpstreamError> {
        Self::with_tls(timeout, None)
    }

    /// [`HttpClient::new`] trusting only `tls.roots` (when given) and presenting
    /// `tls.identity` (when given). TLS 1.2 and 1.3 only, in every case.
    pub fn with_tls(
        timeout: Duration,
        tls: Option<&super::config::UpstreamTls>,
    ) -> Result<Self, UpstreamError> {
        let fail =
            |e: reqwest::Error| UpstreamError::Http(format!("cannot build HTTP client: {e}"));
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .timeout(timeout)
            .tls_version_min(reqwest::tls::Version::TLS_1_2)
            .user_agent(concat!("jisr/", env!("CARGO_PKG_VERSION")));
        if let Some(tls) = tls {
            if let Some(roots) = &tls.roots {
                builder = builder
                    .tls_certs_only(reqwest::Certificate::from_pem_bundle(roots).map_err(fail)?);
            }
            if let Some(identity) = &tls.identity {
                builder = builder.identity(reqwest::Identity::from_pem(identity).map_err(fail)?);
            }
        }
        let inner = builder.build().map_err(fail)?;
        Ok(HttpClient {
            inner,
            timeout,
            meter: None,
        })
    }

    /// The same client, reporting every call to `metrics` under `country`.
    pub fn metered(self, country: CountryCode, metrics: Arc<UpstreamMetrics>) -> Self {
        HttpClient {
            meter: Some((country, metrics)),
            ..self
        }
    }

    pub fn reqwest(&self) -> &reqwest::Client {
        &self.inner
    }

    /// Sends `request` and reads the body up to [`MAX_BODY_BYTES`], all within the timeout.
    /// `what` (`discovery`, `jwks`, `token`, `userinfo`) names the call in errors and metrics.
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
        what: &'static str,
    ) -> Result<Fetched, UpstreamError> {
        let started = Instant::now();
        let (result, outcome) = self.send_unmetered(request, what).await;
        if let Some((country, metrics)) = &self.meter {
            metrics.call(*country, what, started.elapsed(), outcome);
        }
        result
    }

    async fn send_unmetered(
        &self,
        request: reqwest::RequestBuilder,
        what: &'static str,
    ) -> (Result<Fetched, UpstreamError>, CallOutcome) {
        let work = async {
            let response = request.send().await.map_err(|e| transport(what, &e))?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            if response
                .content_length()
                .is_some_and(|n| n > MAX_BODY_BYTES as u64)
            {
                return Err(too_large(what));
            }
            let mut body = Vec::new();
            let mut response = response;
            while let Some(chunk) = response.chunk().await.map_err(|e| transport(what, &e))? {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(too_large(what));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Fetched {
                status,
                body,
                headers,
            })
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(fetched)) => {
                let outcome = if fetched.status >= 400 {
                    CallOutcome::HttpError
                } else {
                    CallOutcome::Ok
                };
                (Ok(fetched), outcome)
            }
            Ok(Err((e, outcome))) => (Err(e), outcome),
            // The same words as reqwest's own timeout (same limit): whichever fires first,
            // the refusal reads the same.
            Err(_) => (
                Err(UpstreamError::Http(format!("{what}: timed out"))),
                CallOutcome::Timeout,
            ),
        }
    }

    /// GET `url` within the timeout, unmetered (a reachability probe, not a call of a
    /// login): the answer's status, its body left unread.
    pub async fn probe(&self, url: &str) -> Result<u16, UpstreamError> {
        match tokio::time::timeout(self.timeout, self.inner.get(url).send()).await {
            Ok(Ok(response)) => Ok(response.status().as_u16()),
            Ok(Err(e)) => Err(transport("probe", &e).0),
            Err(_) => Err(UpstreamError::Http("probe: timed out".into())),
        }
    }

    /// GET `url`, expecting 200.
    pub async fn get_ok(&self, url: &str, what: &'static str) -> Result<Fetched, UpstreamError> {
        let fetched = self.send(self.inner.get(url), what).await?;
        if fetched.status != 200 {
            return Err(UpstreamError::Http(format!(
                "{what}: HTTP {}",
                fetched.status
            )));
        }
        Ok(fetched)
    }

    /// An adapter so openidconnect's discovery runs over this client (same limits).
    pub async fn oidc_call(
        &self,
        request: openidconnect::HttpRequest,
    ) -> Result<openidconnect::HttpResponse, UpstreamError> {
        let (parts, body) = request.into_parts();
        let builder = self
            .inner
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body);
        let fetched = self.send(builder, "discovery").await?;
        let mut response = http::Response::builder().status(fetched.status);
        if let Some(h) = response.headers_mut() {
            *h = fetched.headers;
        }
        response
            .body(fetched.body)
            .map_err(|e| UpstreamError::Http(format!("discovery: {e}")))
    }
}

fn too_large(what: &'static str) -> (UpstreamError, CallOutcome) {
    (
        UpstreamError::Http(format!(
            "{what}: response larger than {MAX_BODY_BYTES} bytes"
        )),
        CallOutcome::Transport,
    )
}

fn transport(what: &'static str, e: &reqwest::Error) -> (UpstreamError, CallOutcome) {
    let outcome = if e.is_timeout() {
        CallOutcome::Timeout
    } else {
        CallOutcome::Transport
    };
    let kind = if e.is_timeout() {
        "timed out".to_owned()
    } else if let Some(tls) = tls_error(e) {
        // The certificate's fault, not the network's: say which (no personal data here).
        format!("TLS handshake failed ({tls}; see idp.tls)")
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else if e.is_body() || e.is_decode() {
        "body could not be read".to_owned()
    } else {
        "request failed".to_owned()
    };
    (UpstreamError::Http(format!("{what}: {kind}")), outcome)
}

/// The rustls error under a failed request, if the handshake is what failed. hyper and
/// tokio-rustls wrap it in `io::Error`s, whose `source()` skips the wrapped error itself, so
/// those are opened with `get_ref`.
fn tls_error(e: &reqwest::Error) -> Option<String> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(err) = next {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        next = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}
