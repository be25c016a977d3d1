//! The operators' view over real HTTP: `/metrics` and `/readyz` on the demo's admin listener
//! before and after real logins and refusals, bounded cardinality under garbage input, no
//! personal data in a scrape, promtool on a real scrape and on the alert rules, and every
//! metric the alerts and the dashboard name present in a real scrape.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use jisr_demo::AGENCY_CLIENT_ID;
use jisr_e2e::agency::{request, token};
use jisr_e2e::browser::{Browser, query};
use jisr_e2e::cc;
use jisr_e2e::demo::{demo_for, demo_on};
use jisr_e2e::signin::sign_in;
use jisr_e2e::store::{Keyspace, RedisServer, random_hex};
use jisr_store::EncryptionKey;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

/// What Prometheus sends: OpenMetrics preferred.
const PROMETHEUS_ACCEPT: &str =
    "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// One scrape of the admin listener's `/metrics`, as Prometheus asks for it.
async fn scrape(admin_url: &str) -> String {
    let r = reqwest::Client::new()
        .get(format!("{admin_url}/metrics"))
        .header("accept", PROMETHEUS_ACCEPT)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    let text = r.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "exposition ends with # EOF");
    text
}

/// Sample lines as `name{labels}` → value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_owned(), value.parse::<f64>().unwrap())
        })
        .collect()
}

/// How much `series` moved between two scrapes (absent counts as 0).
fn delta(before: &HashMap<String, f64>, after: &HashMap<String, f64>, series: &str) -> f64 {
    after.get(series).copied().unwrap_or(0.0) - before.get(series).copied().unwrap_or(0.0)
}

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn promtool() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("promtool"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        // CI runs scripts/prerequisites, which installs it: there a missing promtool fails.
        assert!(
            std::env::var_os("CI").is_none(),
            "promtool missing on CI (scripts/prerequisites installs it)"
        );
        eprintln!("promtool not installed (scripts/prerequisites installs it): check skipped");
    }
    found
}

/// A completed login (SA citizen at a BH agency: token and userinfo too) and one the citizen
/// declines, each counted once under its pair, agency and reason.
#[tokio::test]
async fn metrics_count_a_completed_and_a_refused_login() {
    let demo = demo_for("BH").await;
    let before = samples(&scrape(&demo.admin_url).await);
    let citizen = jisr_devidp::citizens(cc("SA"))[0];

    let browser = Browser::new();
    let req = request(&demo, &[]);
    let back = sign_in(&demo, &browser, &req, "SA", citizen.id, "allow").await;
    let code = query(&back)["code"].clone();
    let (status, tokens) = token(&demo, &code, &req).await;
    assert_eq!(status, 200, "{tokens}");
    let access_token = tokens["access_token"].as_str().unwrap().to_owned();
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let info = reqwest::Client::new()
        .get(format!("{}/userinfo", demo.gateway_url))
        .bearer_auth(&access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);

    let declined = Browser::new();
    let req2 = request(&demo, &[]);
    let back2 = sign_in(&demo, &declined, &req2, "SA", citizen.id, "deny").await;
    assert_eq!(
        query(&back2).get("error").map(String::as_str),
        Some("access_denied"),
        "{back2}"
    );

    let text = scrape(&demo.admin_url).await;
    let after = samples(&text);
    let agency = AGENCY_CLIENT_ID;
    let pair = format!(r#"origin="SA",destination="BH",agency="{agency}""#);
    for (series, moved) in [
        (
            format!(r#"jisr_authorizations_total{{destination="BH",agency="{agency}"}}"#),
            2.0,
        ),
        (format!("jisr_logins_started_total{{{pair}}}"), 2.0),
        (format!("jisr_logins_completed_total{{{pair}}}"), 1.0),
        (
            format!(r#"jisr_logins_refused_total{{{pair},reason="consent_declined"}}"#),
            1.0,
        ),
        (
            format!(r#"jisr_consent_decisions_total{{{pair},decision="declined"}}"#),
            1.0,
        ),
        (
            format!(r#"jisr_tokens_issued_total{{agency="{agency}"}}"#),
            1.0,
        ),
        (
            format!(r#"jisr_userinfo_requests_total{{agency="{agency}"}}"#),
            1.0,
        ),
        (
            r#"jisr_id_token_verifications_total{country="SA",outcome="ok",reason="none"}"#
                .to_owned(),
            2.0,
        ),
        (
            r#"jisr_upstream_requests_total{country="SA",call="token",outcome="ok"}"#.to_owned(),
            2.0,
        ),
        (
            r#"jisr_upstream_request_duration_seconds_count{country="SA",call="token"}"#.to_owned(),
            2.0,
        ),
        (
            r#"jisr_upstream_requests_total{country="BH",call="token",outcome="ok"}"#.to_owned(),
            0.0,
        ),
        (
            r#"jisr_http_requests_total{listener="public",route="/authorize",status="200"}"#
                .to_owned(),
            2.0,
        ),
        (
            r#"jisr_http_request_duration_seconds_count{listener="public",route="/callback/{cc}"}"#
                .to_owned(),
            2.0,
        ),
        (
            r#"jisr_http_requests_total{listener="public",route="/token",status="200"}"#.to_owned(),
            1.0,
        ),
        (
            r#"jisr_store_operations_total{op="take",outcome="ok"}"#.to_owned(),
            3.0,
        ),
        (
            r#"jisr_store_operation_duration_seconds_count{op="take"}"#.to_owned(),
            3.0,
        ),
        (
            r#"jisr_store_operations_total{op="take",outcome="unavailable"}"#.to_owned(),
            0.0,
        ),
    ] {
        assert_eq!(
            delta(&before, &after, &series),
            moved,
            "{series} moved by {} (expected {moved})\n{text}",
            delta(&before, &after, &series)
        );
    }
    // The first scrape is itself counted on the admin listener.
    assert!(
        after
            .keys()
            .any(|s| s.starts_with(r#"jisr_http_requests_total{listener="admin",route="/metrics""#)),
        "{text}"
    );
    // Gauges read at scrape time.
    let kid = demo.gateway.keys.active_kid();
    assert_eq!(
        after.get(&format!(
            r#"jisr_signing_key_info{{kid="{kid}",alg="ES256",active="true"}}"#
        )),
        Some(&1.0),
        "{text}"
    );
    let expiry = after[&format!(r#"jisr_signing_key_expiry_timestamp_seconds{{kid="{kid}"}}"#)];
    let in_days = (expiry - jisr_e2e::now() as f64) / 86_400.0;
    assert!((89.9..=90.1).contains(&in_days), "{in_days}");
    assert_eq!(after[r#"jisr_upstream_up{country="SA"}"#], 1.0);
    assert!(after[r#"jisr_jwks_keys{country="SA"}"#] >= 1.0, "{text}");
    assert_eq!(after[r#"jisr_jwks_last_refresh_ok{country="SA"}"#], 1.0);
    assert!(
        after
            .keys()
            .any(|s| s.starts_with("jisr_build_info{version=")),
        "{text}"
    );

    // No personal data or token of either login anywhere in the scrape.
    for canary in [
        citizen.id,
        citizen.sub,
        citizen.given_en,
        citizen.given_ar,
        citizen.family_en,
        citizen.family_ar,
        citizen.birthdate,
        &access_token,
        &id_token,
        &code,
        &req.state,
        &req.nonce,
    ] {
        assert!(!text.contains(canary), "{canary:?} in the scrape");
    }

    // Every metric the alert rules and the dashboard name exists in this real scrape.
    let present: BTreeSet<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap())
        .collect();
    for file in [
        "deploy/prometheus/jisr-alerts.yml",
        "deploy/grafana/jisr-dashboard.json",
    ] {
        let body = std::fs::read_to_string(repo_file(file)).unwrap();
        let named = metric_names(&body);
        assert!(named.len() >= 5, "{file} names too few metrics: {named:?}");
        for name in named {
            assert!(
                present.contains(name.as_str()),
                "{file} names {name}, which no scrape has"
            );
        }
    }

    // promtool (which reads the Prometheus text format, not OpenMetrics) accepts the real
    // exposition as a client without OpenMetrics gets it: the same samples.
    let r = reqwest::get(format!("{}/metrics", demo.admin_url))
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
    );
    let classic = r.text().await.unwrap();
    assert!(!classic.contains("# EOF"));
    assert!(
        classic.contains("# TYPE jisr_logins_completed_total counter"),
        "{classic}"
    );
    let classic_series: BTreeSet<&str> = classic
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.rsplit_once(' ').unwrap().0)
        .collect();
    assert!(classic_series.contains(format!("jisr_logins_completed_total{{{pair}}}").as_str()));
    if let Some(promtool) = promtool() {
        let mut child = tokio::process::Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(classic.as_bytes()).await.unwrap();
        drop(stdin);
        let out = child.wait_with_output().await.unwrap();
        assert!(
            out.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `jisr_…` names in a rules or dashboard file (PromQL inside YAML or JSON strings).
fn metric_names(body: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = body.as_bytes();
    let mut i = 0;
    while let Some(at) = body[i..].find("jisr_") {
        let start = i + at;
        let before_ok =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        // Alert names and dashboard uids start with `Jisr`/`jisr-`; metric names continue
        // with a letter after `jisr_`.
        if before_ok {
            names.insert(body[start..end].to_owned());
        }
        i = end;
    }
    names
}

/// Garbage from the outside (random client ids, bearer tokens, paths) adds no series: after
/// one burst has created the fixed refusal series, a second burst of new random values
/// leaves the number of series unchanged, and no random value is ever a label.
#[tokio::test]
async fn random_input_does_not_grow_the_series() {
    let demo = demo_for("BH").await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let gw = demo.gateway_url.clone();
    let mut sent = Vec::new();
    let mut burst = async |n: usize| {
        for _ in 0..n {
            let junk = random_hex(8);
            let r = client
                .get(format!(
                    "{gw}/authorize?client_id={junk}&redirect_uri=https://x.example/{junk}&response_type=code&scope=openid"
                ))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 400);
            let r = client
                .get(format!("{gw}/userinfo"))
                .bearer_auth(&junk)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401);
            let r = client
                .post(format!("{gw}/token"))
                .basic_auth(&junk, Some("nope"))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", junk.as_str()),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401);
            let r = client
                .get(format!("{gw}/callback/{junk}?code={junk}&state={junk}"))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_client_error(), "{}", r.status());
            let r = client.get(format!("{gw}/{junk}")).send().await.unwrap();
            assert_eq!(r.status(), 404);
            let r = client
                .get(format!("{}/{junk}", demo.admin_url))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 404);
            sent.push(junk);
        }
    };
    // The scrapes themselves are counted (route /metrics), from the first one on.
    scrape(&demo.admin_url).await;
    burst(3).await;
    let first = scrape(&demo.admin_url).await;
    burst(40).await;
    let second = scrape(&demo.admin_url).await;
    let (a, b) = (samples(&first), samples(&second));
    let grown: Vec<&String> = b.keys().filter(|k| !a.contains_key(*k)).collect();
    assert!(grown.is_empty(), "new series after garbage: {grown:?}");
    assert_eq!(
        delta(
            &a,
            &b,
            r#"jisr_logins_refused_total{origin="none",destination="none",agency="unknown",reason="unknown_client"}"#
        ),
        40.0,
        "{second}"
    );
    assert_eq!(
        delta(
            &a,
            &b,
            r#"jisr_http_requests_total{listener="public",route="unmatched",status="404"}"#
        ),
        40.0,
        "{second}"
    );
    for junk in &sent {
        assert!(!second.contains(junk.as_str()), "{junk} in the scrape");
    }
}

/// Each listener answers only its own paths.
#[tokio::test]
async fn metrics_only_on_the_admin_listener_and_logins_only_on_the_public_one() {
    let demo = demo_for("BH").await;
    let r = reqwest::get(format!("{}/metrics", demo.gateway_url))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = reqwest::get(format!("{}/authorize", demo.admin_url))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = reqwest::get(format!("{}/healthz", demo.admin_url))
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), r.text().await.unwrap()),
        (200, "ok".into())
    );
}

async fn readyz(base: &str) -> (u16, Value) {
    let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// A national IdP that stops answering is `down` in `/readyz` and in `jisr_upstream_up`,
/// while the gateway stays ready for the other countries.
#[tokio::test]
async fn readyz_reports_a_stopped_national_idp_down_and_stays_ready() {
    let mut demo = demo_for("BH").await;
    let (status, body) = readyz(&demo.admin_url).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["national_idps"]["OM"]["state"], "ok", "{body}");
    assert_eq!(body["store"], true, "{body}");
    assert_eq!(body["signing_keys"], true, "{body}");

    let i = demo.idps.iter().position(|(c, _)| *c == cc("OM")).unwrap();
    let (_, idp) = demo.idps.remove(i);
    idp.shutdown().await.unwrap();
    // The gateway's next call to the stopped IdP (here a discovery check) finds nobody.
    let om = demo.gateway.upstreams.get(cc("OM")).unwrap();
    assert!(om.discover().await.is_err());
    // An IdP that answers 503 to its first JWKS fetch: no keys at all, so down too.
    demo.idp(cc("KW")).unwrap().set_faults(jisr_devidp::Faults {
        down: true,
        ..Default::default()
    });
    let kw = demo.gateway.upstreams.get(cc("KW")).unwrap();
    assert!(kw.jwks().keys().await.is_err());

    let (status, body) = readyz(&demo.admin_url).await;
    assert_eq!(
        status, 200,
        "one country down never fails readiness: {body}"
    );
    assert_eq!(body["national_idps"]["OM"]["state"], "down", "{body}");
    assert_eq!(
        body["national_idps"]["OM"]["reason"], "not_answering",
        "{body}"
    );
    assert_eq!(body["national_idps"]["KW"]["state"], "down", "{body}");
    assert_eq!(
        body["national_idps"]["KW"]["reason"], "jwks_unavailable",
        "{body}"
    );
    assert_eq!(body["national_idps"]["SA"]["state"], "ok", "{body}");
    let after = samples(&scrape(&demo.admin_url).await);
    assert_eq!(after[r#"jisr_upstream_up{country="OM"}"#], 0.0);
    assert_eq!(after[r#"jisr_upstream_up{country="SA"}"#], 1.0);
    assert_eq!(
        after[r#"jisr_upstream_requests_total{country="OM",call="discovery",outcome="transport_error"}"#],
        1.0
    );
    assert_eq!(after[r#"jisr_upstream_up{country="KW"}"#], 0.0);
    assert_eq!(
        after[r#"jisr_upstream_requests_total{country="KW",call="jwks",outcome="http_error"}"#],
        1.0
    );
    assert_eq!(
        after[r#"jisr_jwks_refresh_failures_total{country="KW"}"#],
        1.0
    );
    assert_eq!(after[r#"jisr_jwks_last_refresh_ok{country="KW"}"#], 0.0);
    assert_eq!(
        after[r#"jisr_upstream_state{country="KW",state="down"}"#],
        1.0
    );
}

/// A store that does not answer makes the gateway unready (503) and shows in the store
/// metrics; liveness stays 200.
#[tokio::test]
async fn readyz_is_503_when_the_store_is_unreachable() {
    // A Redis store pointed at a port nobody listens on.
    let closed = RedisServer::free_port();
    let keyspace = Keyspace::new(&format!("redis://127.0.0.1:{closed}"));
    let store = keyspace.store(&EncryptionKey::generate(), Duration::from_millis(300));
    let demo = demo_on(store).await;
    let (status, body) = readyz(&demo.admin_url).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["store"], false, "{body}");
    let r = reqwest::get(format!("{}/healthz", demo.admin_url))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let after = samples(&scrape(&demo.admin_url).await);
    assert!(
        after[r#"jisr_store_operations_total{op="health",outcome="unavailable"}"#] >= 1.0,
        "{after:?}"
    );
}

/// The alert rules pass their promtool unit tests.
#[tokio::test]
async fn alert_rules_pass_promtool_unit_tests() {
    let Some(promtool) = promtool() else {
        return;
    };
    let rules = repo_file("deploy/prometheus");
    let out = tokio::process::Command::new(promtool)
        .args(["test", "rules", "jisr-alerts.test.yml"])
        .current_dir(&rules)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "promtool test rules: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
