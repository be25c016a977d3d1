//! Several gateway replicas on one Redis, and Redis outages: a login may hop between replicas
//! at every step (one public URL behind a load balancer), single-use state stays single use
//! across replicas, and when Redis is gone the gateway fails closed (503) and recovers by
//! itself once Redis is back. Plus an ignored measurement of the store's cost per login.
//!
//! Needs Redis at `REDIS_URL` (default `redis://127.0.0.1:6379`) and `redis-server` on the
//! PATH for the outage test. Missing Redis fails the tests, never skips them. Every key a test
//! writes is under a random `jisr-test:<hex>:` prefix and deleted at the end, also on panic.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jisr_demo::{AGENCY_CLIENT_ID, Demo};
use jisr_e2e::agency::{request, token_at, userinfo_at, verify_id_token};
use jisr_e2e::browser::{Browser, hidden, location, query, via};
use jisr_e2e::cc;
use jisr_e2e::demo::demo_on;
use jisr_e2e::signin::{finish_login, to_callback};
use jisr_e2e::store::{Keyspace, RedisServer, redis_url, require_redis};
use jisr_store::{EncryptionKey, MemoryStore, RedisStore, Store};
use serde_json::Value;

/// Two replicas of one gateway, each with its own `RedisStore` on the same keyspace and key.
struct Pair {
    demo: Demo,
    a: String,
    b: String,
    store_a: Arc<RedisStore>,
    store_b: Arc<RedisStore>,
    // Declared last: dropped (purged) after the servers stop.
    keyspace: Keyspace,
}

async fn pair() -> Pair {
    let url = redis_url();
    require_redis(&url).await;
    let keyspace = Keyspace::new(&url);
    let key = EncryptionKey::generate();
    let store_a = keyspace.store(&key, Duration::from_secs(1));
    let store_b = keyspace.store(&key, Duration::from_secs(1));
    let demo = demo_on(store_a.clone()).await;
    let b = demo.start_replica(store_b.clone()).await.unwrap();
    let a = demo.gateway_url.clone();
    assert_ne!(a, b);
    Pair {
        demo,
        a,
        b,
        store_a,
        store_b,
        keyspace,
    }
}

#[tokio::test]
async fn login_spans_replicas_on_one_redis() {
    let p = pair().await;
    let browser = Browser::new();
    let req = request(&p.demo, &[("ui_locales", "en")]);
    // Authorize and the country choice on A; the national IdP returns to the public URL.
    let callback = to_callback(&p.demo, &browser, &req, &p.a, &p.a, "SA").await;
    assert!(callback.starts_with(&p.a), "public URL is A's: {callback}");

    // Consent pending: whatever is in Redis now is sealed (no citizen data in clear).
    let citizen = jisr_devidp::citizens(cc("SA"))[0];
    let page = browser.get(&via(&p.b, &callback)).await;
    assert_eq!(page.status(), 200, "callback on B");
    let html = page.text().await.unwrap();
    let stored = p.keyspace.keys().unwrap();
    assert!(!stored.is_empty(), "flow state is in Redis");
    let mut conn = p.keyspace.connection().unwrap();
    for k in &stored {
        let raw: Vec<u8> = redis::cmd("GET").arg(k).query(&mut conn).unwrap();
        for clear in [citizen.id, citizen.given_en, citizen.family_en] {
            assert!(
                !raw.windows(clear.len()).any(|w| w == clear.as_bytes()),
                "{k} holds `{clear}` in clear"
            );
        }
    }
    // Consent on B, then on to the agency.
    let (flow, csrf) = (hidden(&html, "flow"), hidden(&html, "csrf"));
    let back = location(
        &browser
            .post(
                &format!("{}/consent", p.b),
                &[("flow", &flow), ("csrf", &csrf), ("decision", "allow")],
            )
            .await,
    );
    let q = query(&back);
    assert!(back.starts_with(&req.redirect_uri), "{back}");
    assert_eq!(q.get("state"), Some(&req.state));
    assert_eq!(
        q.get("iss"),
        Some(&p.a),
        "B speaks as the one public issuer"
    );

    // The agency redeems on A.
    let (status, tokens) = token_at(&p.a, &p.demo, &q["code"], &req).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = verify_id_token(&p.demo, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["iss"], p.a.as_str());
    assert_eq!(claims["nonce"], req.nonce.as_str());
    assert_eq!(claims["origin_country"], "SA");
    assert_eq!(
        claims["verified_claims"]["claims"]["given_name#en"],
        citizen.given_en
    );
    // The access token works on either replica.
    for replica in [&p.a, &p.b] {
        let (status, body) = userinfo_at(replica, tokens["access_token"].as_str().unwrap()).await;
        assert_eq!(status, 200, "{replica}: {body}");
        let info: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(info["sub"], claims["sub"]);
    }
    // Both replicas really went to Redis (neither answered from its own memory alone).
    assert!(p.store_a.stats().round_trips > 0);
    assert!(p.store_b.stats().round_trips > 0);

    // Every step on a different replica than the one before: A, B, A, B.
    let browser = Browser::new();
    let req = request(&p.demo, &[]);
    let callback = to_callback(&p.demo, &browser, &req, &p.a, &p.b, "OM").await;
    let back = finish_login(&browser, &callback, &p.a, &p.b, "allow").await;
    let (status, tokens) = token_at(&p.a, &p.demo, &query(&back)["code"], &req).await;
    assert_eq!(status, 200, "{tokens}");
    drop(p.demo);
    p.keyspace.finish();
}

#[tokio::test]
async fn code_redeemed_on_a_is_refused_on_b() {
    let p = pair().await;
    let browser = Browser::new();
    let req = request(&p.demo, &[]);
    let callback = to_callback(&p.demo, &browser, &req, &p.a, &p.a, "KW").await;
    let back = finish_login(&browser, &callback, &p.b, &p.b, "allow").await;
    let code = query(&back)["code"].clone();

    let (status, tokens) = token_at(&p.a, &p.demo, &code, &req).await;
    assert_eq!(status, 200, "{tokens}");
    let access_token = tokens["access_token"].as_str().unwrap();
    let (status, body) = userinfo_at(&p.b, access_token).await;
    assert_eq!(status, 200, "the token works on B before the reuse: {body}");

    // oidcc-codereuse, across replicas.
    let (status, again) = token_at(&p.b, &p.demo, &code, &req).await;
    assert_eq!(status, 400, "{again}");
    assert_eq!(again["error"], "invalid_grant");
    let description = again["error_description"].as_str().unwrap();
    assert!(
        description.contains("already used") && description.contains("revoked"),
        "{description}"
    );
    assert!(again.get("access_token").is_none());
    for replica in [&p.a, &p.b] {
        let (status, body) = userinfo_at(replica, access_token).await;
        assert_eq!(status, 401, "{replica} after the reuse: {body}");
    }
    // A third try, on A: still refused, and no token either.
    let (status, third) = token_at(&p.a, &p.demo, &code, &req).await;
    assert_eq!(
        (status.as_u16(), third["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    drop(p.demo);
    p.keyspace.finish();
}

/// Access tokens need their grant's live marker in the store: if the store loses its data
/// (a Redis restart without persistence, a failover), tokens stop working rather than a
/// revoked one coming back.
#[tokio::test]
async fn lost_store_data_fails_closed_for_access_tokens() {
    let p = pair().await;
    let browser = Browser::new();
    let req = request(&p.demo, &[]);
    let callback = to_callback(&p.demo, &browser, &req, &p.a, &p.a, "OM").await;
    let back = finish_login(&browser, &callback, &p.a, &p.a, "allow").await;
    let code = query(&back)["code"].clone();
    let (status, tokens) = token_at(&p.a, &p.demo, &code, &req).await;
    assert_eq!(status, 200, "{tokens}");
    let access_token = tokens["access_token"].as_str().unwrap();
    assert_eq!(userinfo_at(&p.b, access_token).await.0, 200);
    // Redis loses everything under the gateway's prefix.
    p.keyspace.purge().unwrap();
    for replica in [&p.a, &p.b] {
        let (status, body) = userinfo_at(replica, access_token).await;
        assert_eq!(status, 401, "{replica}: {body}");
    }
    drop(p.demo);
    p.keyspace.finish();
}

/// The "expired or already used" page for the citizen: 400, no redirect, no code.
async fn assert_spent(r: reqwest::Response, what: &str) {
    assert_eq!(r.status(), 400, "{what}");
    assert!(r.headers().get("location").is_none(), "{what}: no redirect");
    let html = r.text().await.unwrap();
    assert!(html.contains("invalid_request"), "{what}: {html}");
    assert!(
        html.contains("expired or was already used"),
        "{what}: {html}"
    );
    assert!(!html.contains("code="), "{what}: {html}");
}

#[tokio::test]
async fn upstream_state_consumed_on_one_replica_cannot_be_replayed_on_the_other() {
    let p = pair().await;
    for (first, replay) in [(&p.a, &p.b), (&p.b, &p.a)] {
        let browser = Browser::new();
        let req = request(&p.demo, &[]);
        let callback = to_callback(&p.demo, &browser, &req, &p.a, &p.a, "BH").await;
        let page = browser.get(&via(first, &callback)).await;
        assert_eq!(page.status(), 200, "first use");
        let html = page.text().await.unwrap();
        // Someone who got hold of the callback URL (logs, Referer) replays it elsewhere.
        assert_spent(
            Browser::new().get(&via(replay, &callback)).await,
            "replay on the other replica",
        )
        .await;
        // The citizen's own login is unharmed, and yields exactly one code.
        let (flow, csrf) = (hidden(&html, "flow"), hidden(&html, "csrf"));
        let back = location(
            &browser
                .post(
                    &format!("{first}/consent"),
                    &[("flow", &flow), ("csrf", &csrf), ("decision", "allow")],
                )
                .await,
        );
        let (status, tokens) = token_at(&p.a, &p.demo, &query(&back)["code"], &req).await;
        assert_eq!(status, 200, "{tokens}");
        assert_spent(
            browser.get(&via(replay, &callback)).await,
            "replay after the login completed",
        )
        .await;
    }

    // The same callback on both replicas at once: exactly one is accepted.
    let browser = Browser::new();
    let req = request(&p.demo, &[]);
    let callback = to_callback(&p.demo, &browser, &req, &p.b, &p.b, "QA").await;
    let (url_a, url_b) = (via(&p.a, &callback), via(&p.b, &callback));
    let (on_a, on_b) = futures::join!(browser.get(&url_a), browser.get(&url_b));
    let mut statuses = [on_a.status().as_u16(), on_b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400], "exactly one replica takes the state");
    drop(p.demo);
    p.keyspace.finish();
}

/// Runs `f`, asserting it answers within the bound a citizen should wait at most.
async fn bounded<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    let started = Instant::now();
    let out = f.await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "{what} took {took:?}");
    out
}

async fn assert_unavailable_page(r: reqwest::Response, what: &str) {
    assert_eq!(r.status(), 503, "{what}");
    assert!(r.headers().get("location").is_none(), "{what}: no redirect");
    let html = r.text().await.unwrap();
    assert!(html.contains("temporarily_unavailable"), "{what}: {html}");
    assert!(
        html.contains("The service is temporarily unavailable"),
        "{what}: English: {html}"
    );
    assert!(
        html.contains("الخدمة غير متاحة مؤقتاً"),
        "{what}: Arabic: {html}"
    );
}

async fn readyz(base: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(format!("{base}/readyz"))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn redis_outage_fails_closed_and_recovers() {
    let mut server = RedisServer::start(RedisServer::free_port()).await;
    let keyspace = Keyspace::new(&server.url());
    let store = keyspace.store(&EncryptionKey::generate(), Duration::from_millis(500));
    let demo = demo_on(store).await;
    let gw = demo.gateway_url.clone();
    assert_eq!(readyz(&gw).await.0, 200);

    // Two logins in flight: one back from its national IdP but not yet at the callback, one
    // waiting for consent.
    let at_callback = Browser::new();
    let req_callback = request(&demo, &[]);
    let pending_callback = to_callback(&demo, &at_callback, &req_callback, &gw, &gw, "SA").await;
    let at_consent = Browser::new();
    let req_consent = request(&demo, &[]);
    let callback = to_callback(&demo, &at_consent, &req_consent, &gw, &gw, "OM").await;
    let page = at_consent.get(&callback).await;
    assert_eq!(page.status(), 200);
    let consent_html = page.text().await.unwrap();
    // And one login complete, its access token in the agency's hands.
    let done = Browser::new();
    let req_done = request(&demo, &[]);
    let callback_done = to_callback(&demo, &done, &req_done, &gw, &gw, "KW").await;
    let back = finish_login(&done, &callback_done, &gw, &gw, "allow").await;
    let (status, tokens) = token_at(&gw, &demo, &query(&back)["code"], &req_done).await;
    assert_eq!(status, 200, "{tokens}");
    let access_token = tokens["access_token"].as_str().unwrap().to_owned();

    server.kill();

    // A new login needs single-use upstream state: refused, quickly, with the bilingual page.
    let browser = Browser::new();
    let hinted = request(&demo, &[("country", "SA")]);
    let r = bounded("authorize", browser.get(&hinted.url)).await;
    assert_unavailable_page(r, "GET /authorize (country given)").await;
    // Without a country the picker may be shown; the country choice then fails closed.
    let plain = request(&demo, &[]);
    let r = bounded("authorize", browser.get(&plain.url)).await;
    if r.status() != 503 {
        assert_eq!(r.status(), 200, "GET /authorize (picker)");
        let html = r.text().await.unwrap();
        let (flow, csrf) = (hidden(&html, "flow"), hidden(&html, "csrf"));
        let r = bounded(
            "country choice",
            browser.post(
                &format!("{gw}/login/country"),
                &[("flow", &flow), ("csrf", &csrf), ("country", "SA")],
            ),
        )
        .await;
        assert_unavailable_page(r, "POST /login/country").await;
    } else {
        assert_unavailable_page(r, "GET /authorize").await;
    }

    let r = bounded(
        "token",
        reqwest::Client::new()
            .post(format!("{gw}/token"))
            .basic_auth(AGENCY_CLIENT_ID, Some(&demo.agency_secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", "some-code"),
                ("redirect_uri", &plain.redirect_uri),
                ("code_verifier", &plain.verifier),
            ])
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");

    // Userinfo cannot tell whether the token was revoked: it fails closed too.
    let (status, body) = bounded("userinfo", userinfo_at(&gw, &access_token)).await;
    assert_eq!(status, 503, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");

    let (status, body) = bounded("readyz", readyz(&gw)).await;
    assert_eq!(
        (status, &body["store"]),
        (503, &Value::Bool(false)),
        "{body}"
    );

    // The logins in flight cannot complete without the store.
    let r = bounded("callback", at_callback.get(&pending_callback)).await;
    assert_unavailable_page(r, "GET /callback during the outage").await;
    let (flow, csrf) = (hidden(&consent_html, "flow"), hidden(&consent_html, "csrf"));
    let r = bounded(
        "consent",
        at_consent.post(
            &format!("{gw}/consent"),
            &[("flow", &flow), ("csrf", &csrf), ("decision", "allow")],
        ),
    )
    .await;
    let code_in_flight = if r.status().is_redirection() {
        // Consent needs no store: the code it hands out must not redeem while Redis is down.
        let code = query(&location(&r))["code"].clone();
        let (status, body) = bounded("token", token_at(&gw, &demo, &code, &req_consent)).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"], "temporarily_unavailable");
        Some(code)
    } else {
        assert_unavailable_page(r, "POST /consent during the outage").await;
        None
    };

    // Redis comes back, empty; the same gateway process recovers by itself.
    server = RedisServer::start(server.port).await;
    let recovery = Instant::now();
    loop {
        let (status, body) = readyz(&gw).await;
        if status == 200 {
            assert_eq!(body["store"], true);
            break;
        }
        assert!(
            recovery.elapsed() < Duration::from_secs(15),
            "/readyz still {status} {body} 15 s after Redis restarted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The state was lost with Redis: the logins in flight must start over.
    assert_spent(
        at_callback.get(&pending_callback).await,
        "callback after the restart",
    )
    .await;
    if let Some(code) = code_in_flight {
        let (status, body) = token_at(&gw, &demo, &code, &req_consent).await;
        assert_eq!(
            (status.as_u16(), body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
    }
    // A new login goes all the way.
    let browser = Browser::new();
    let req = request(&demo, &[]);
    let callback = to_callback(&demo, &browser, &req, &gw, &gw, "SA").await;
    let back = finish_login(&browser, &callback, &gw, &gw, "allow").await;
    let (status, tokens) = token_at(&gw, &demo, &query(&back)["code"], &req).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = verify_id_token(&demo, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["nonce"], req.nonce.as_str());
    let (status, body) = userinfo_at(&gw, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{body}");

    drop(demo);
    keyspace.finish();
    server.kill();
}

/// Store counters of one login, step by step.
#[derive(Default, Clone, Copy)]
struct Cost {
    round_trips: [u64; 6],
    bytes: u64,
}

const STEPS: [&str; 6] = [
    "authorize (picker)",
    "country choice",
    "callback",
    "consent",
    "token",
    "userinfo",
];

/// What is stored in Redis right now under the prefix: (total bytes, largest value, keys).
async fn stored_now(conn: &mut redis::aio::MultiplexedConnection, prefix: &str) -> (u64, u64, u64) {
    let mut cursor = 0u64;
    let (mut total, mut largest, mut count) = (0, 0, 0);
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await
            .unwrap();
        for key in batch {
            let len: u64 = redis::cmd("STRLEN")
                .arg(&key)
                .query_async(conn)
                .await
                .unwrap();
            total += len;
            largest = largest.max(len);
            count += 1;
        }
        if next == 0 {
            return (total, largest, count);
        }
        cursor = next;
    }
}

/// Records what Redis holds under a prefix at chosen points of a login.
struct Probe<'a> {
    conn: &'a mut redis::aio::MultiplexedConnection,
    prefix: &'a str,
    /// (total bytes, largest value, keys) at each point.
    seen: Vec<(u64, u64, u64)>,
}

impl Probe<'_> {
    async fn record(&mut self) {
        let now = stored_now(self.conn, self.prefix).await;
        self.seen.push(now);
    }
}

/// One login, authorize → … → token → userinfo, with the store's counters between steps and,
/// when `sizes` is given, what Redis holds for it after each step of the front channel.
async fn measured_login(
    demo: &Demo,
    store: &dyn Store,
    country: &str,
    mut sizes: Option<&mut Probe<'_>>,
) -> (Cost, usize) {
    let gw = demo.gateway_url.as_str();
    let browser = Browser::new();
    let req = request(demo, &[]);
    let mut cost = Cost::default();
    let mut mark = store.stats();
    let mut cookie = 0usize;
    let mut step = |cost: &mut Cost, i: usize| {
        let now = store.stats();
        cost.round_trips[i] += now.round_trips - mark.round_trips;
        cost.bytes += now.bytes_written - mark.bytes_written;
        mark = now;
    };
    let mut cookie_len = |r: &reqwest::Response| {
        for v in r.headers().get_all("set-cookie") {
            cookie = cookie.max(v.len());
        }
    };

    let picker = browser.get(&req.url).await;
    assert_eq!(picker.status(), 200);
    cookie_len(&picker);
    let html = picker.text().await.unwrap();
    step(&mut cost, 0);
    if let Some(probe) = sizes.as_mut() {
        probe.record().await;
    }
    let (flow, csrf) = (hidden(&html, "flow"), hidden(&html, "csrf"));
    let r = browser
        .post(
            &format!("{gw}/login/country"),
            &[("flow", &flow), ("csrf", &csrf), ("country", country)],
        )
        .await;
    cookie_len(&r);
    let idp_url = location(&r);
    step(&mut cost, 1);
    if let Some(probe) = sizes.as_mut() {
        probe.record().await;
    }
    let citizen = jisr_devidp::citizens(cc(country))[0].id;
    let callback = location(
        &browser
            .get(&format!("{idp_url}&login_hint={citizen}"))
            .await,
    );
    let page = browser.get(&callback).await;
    cookie_len(&page);
    step(&mut cost, 2);
    if let Some(probe) = sizes.as_mut() {
        probe.record().await;
    }
    let back = if page.status().is_redirection() {
        location(&page)
    } else {
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        let (flow, csrf) = (hidden(&html, "flow"), hidden(&html, "csrf"));
        let r = browser
            .post(
                &format!("{gw}/consent"),
                &[("flow", &flow), ("csrf", &csrf), ("decision", "allow")],
            )
            .await;
        cookie_len(&r);
        location(&r)
    };
    step(&mut cost, 3);
    let (status, tokens) = token_at(gw, demo, &query(&back)["code"], &req).await;
    assert_eq!(status, 200, "{tokens}");
    step(&mut cost, 4);
    let (status, body) = userinfo_at(gw, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{body}");
    step(&mut cost, 5);
    (cost, cookie)
}

/// Store round trips, bytes written and bytes held per login on Redis, and sequential logins
/// per second on Redis vs the in-memory store. Run with
/// `cargo test -p jisr-e2e --release -- --ignored --nocapture measure`
/// (`JISR_MEASURE_LOGINS` sets the number of logins, default 200).
#[tokio::test]
#[ignore = "measurement: run explicitly with --release -- --ignored --nocapture"]
async fn measure_round_trips_and_bytes_per_login() {
    let n: usize = std::env::var("JISR_MEASURE_LOGINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let origins = ["SA", "AE", "OM", "KW", "QA"];
    let url = redis_url();
    require_redis(&url).await;
    let keyspace = Keyspace::new(&url);
    let redis_store = keyspace.store(&EncryptionKey::generate(), Duration::from_secs(1));
    let on_redis = demo_on(redis_store.clone()).await;
    let memory_store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let on_memory = demo_on(memory_store.clone()).await;
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();

    // What one in-flight login holds in Redis, per origin (each measured on an empty prefix).
    println!("\nStored in Redis for one in-flight login (STRLEN of the sealed values):");
    println!(
        "| origin | after picker | after country choice | after callback (consent pending) | largest value | Set-Cookie |"
    );
    println!("|---|---|---|---|---|---|");
    let (mut worst_total, mut worst_value) = (0u64, 0u64);
    for origin in origins {
        keyspace.purge().unwrap();
        let mut probe = Probe {
            conn: &mut conn,
            prefix: &keyspace.prefix,
            seen: Vec::new(),
        };
        let (_, cookie) =
            measured_login(&on_redis, redis_store.as_ref(), origin, Some(&mut probe)).await;
        let sizes = probe.seen;
        let cell = |(total, _, keys): (u64, u64, u64)| format!("{total} B in {keys} keys");
        let largest = sizes.iter().map(|s| s.1).max().unwrap_or(0);
        worst_total = worst_total.max(sizes.iter().map(|s| s.0).max().unwrap_or(0));
        worst_value = worst_value.max(largest);
        println!(
            "| {origin} | {} | {} | {} | {largest} B | {cookie} B |",
            cell(sizes[0]),
            cell(sizes[1]),
            cell(sizes[2]),
        );
    }
    // MEMORY USAGE (Redis's own accounting, with its per-key overhead) mid-flow, SA.
    keyspace.purge().unwrap();
    {
        let browser = Browser::new();
        let req = request(&on_redis, &[]);
        let gw = on_redis.gateway_url.clone();
        let callback = to_callback(&on_redis, &browser, &req, &gw, &gw, "SA").await;
        assert_eq!(browser.get(&callback).await.status(), 200);
        let mut memory = 0u64;
        for key in keyspace.keys().unwrap() {
            let m: Option<u64> = redis::cmd("MEMORY")
                .arg("USAGE")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap();
            memory += m.unwrap_or(0);
        }
        println!("MEMORY USAGE of an SA login pending consent: {memory} B");
    }
    println!(
        "Largest in-flight total: {worst_total} B; largest single value: {worst_value} B (target ≤ 2048 B)"
    );

    // Round trips and bytes, averaged over n logins; then the same n on the memory store.
    for _ in 0..5 {
        measured_login(&on_redis, redis_store.as_ref(), "SA", None).await;
        measured_login(&on_memory, memory_store.as_ref(), "SA", None).await;
    }
    // Alternating rounds, so load from other work on the machine hits both stores alike.
    let mut total = Cost::default();
    let (mut redis_time, mut memory_time) = (Duration::ZERO, Duration::ZERO);
    let rounds = 4;
    for round in 0..rounds {
        let batch = (round * n / rounds)..((round + 1) * n / rounds);
        let started = Instant::now();
        for i in batch.clone() {
            let origin = origins[i % origins.len()];
            let (cost, _) = measured_login(&on_redis, redis_store.as_ref(), origin, None).await;
            for s in 0..STEPS.len() {
                total.round_trips[s] += cost.round_trips[s];
            }
            total.bytes += cost.bytes;
        }
        redis_time += started.elapsed();
        let started = Instant::now();
        for i in batch {
            let origin = origins[i % origins.len()];
            measured_login(&on_memory, memory_store.as_ref(), origin, None).await;
        }
        memory_time += started.elapsed();
    }
    let redis_rate = n as f64 / redis_time.as_secs_f64();
    let memory_rate = n as f64 / memory_time.as_secs_f64();

    let per = |x: u64| x as f64 / n as f64;
    println!("\nRedis round trips per login, {n} logins (origins {origins:?}):");
    for (s, name) in STEPS.iter().enumerate() {
        println!("  {name:<20} {:.2}", per(total.round_trips[s]));
    }
    let with_userinfo: u64 = total.round_trips.iter().sum();
    let without = with_userinfo - total.round_trips[5];
    println!(
        "  authorize → token: {:.2} round trips; with userinfo: {:.2} (target ≤ 6)",
        per(without),
        per(with_userinfo)
    );
    println!(
        "  bytes written to Redis per login (with userinfo): {:.0} B",
        per(total.bytes)
    );
    println!(
        "Sequential logins per second (each: authorize → … → token → userinfo, 5 devidp origins): \
         Redis {redis_rate:.1}/s, in-memory {memory_rate:.1}/s (Redis at {:.0}% of memory)",
        100.0 * redis_rate / memory_rate
    );
    drop(on_redis);
    keyspace.finish();
}
