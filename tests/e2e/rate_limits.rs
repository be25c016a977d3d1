//! Rate limits (`[rate_limits]`) on real HTTP: a flood from one address or one agency is
//! answered 429 with `Retry-After` while another address's and another agency's logins go
//! through; `X-Forwarded-For` counts only from a trusted proxy; an agency's allowance is spent
//! only by requests that authenticated as it; and with Redis the limit holds for the fleet,
//! not per replica. Addresses are told apart the way a load balancer does it: the gateway
//! trusts 127.0.0.1 as its proxy and counts the `X-Forwarded-For` the test sends.

use std::time::Duration;

use jisr_demo::{AGENCY_CLIENT_ID, DemoOptions};
use jisr_e2e::agency::{request, token_at};
use jisr_e2e::browser::{Browser, query};
use jisr_e2e::demo::start;
use jisr_e2e::signin::sign_in;
use jisr_e2e::store::{Keyspace, redis_url, require_redis};
use jisr_gateway::config::StoreSettings;
use jisr_gateway::config::gateway::rate::{RateLimitConfig, RouteLimits};
use jisr_store::EncryptionKey;

const WIDE: RouteLimits = RouteLimits {
    per_address: 10_000,
    per_client: 10_000,
};

/// Loopback is the load balancer; `authorize` and `token` as given, the rest wide open.
fn limits(authorize: RouteLimits, token: RouteLimits) -> RateLimitConfig {
    RateLimitConfig {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        authorize,
        token,
        introspect: WIDE,
        userinfo: WIDE,
        pages: RouteLimits {
            per_client: 0,
            ..WIDE
        },
        ..RateLimitConfig::default()
    }
}

/// Sends `n` authorization requests from `browser`; the statuses in order.
async fn authorize_n(browser: &Browser, base: &str, demo: &jisr_demo::Demo, n: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..n {
        let url = request(demo, &[]).url.replace(&demo.gateway_url, base);
        statuses.push(browser.get(&url).await.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn a_flood_from_one_address_gets_429_while_another_address_signs_in() {
    let demo = start(DemoOptions {
        rate_limits: limits(
            RouteLimits {
                per_address: 10,
                per_client: 10_000,
            },
            WIDE,
        ),
        ..DemoOptions::default()
    })
    .await;
    let flood = Browser::forwarded_for("198.51.100.7");
    let statuses = authorize_n(&flood, &demo.gateway_url, &demo, 25).await;
    assert_eq!(statuses[..10], [200; 10], "{statuses:?}");
    assert_eq!(statuses[10..], [429; 15], "{statuses:?}");

    // What the flooding browser sees: a bilingual page, when to come back, nothing cached.
    let refused = flood.get(&request(&demo, &[]).url).await;
    assert_eq!(refused.status(), 429);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(refused.headers()["cache-control"], "no-store");
    let page = refused.text().await.unwrap();
    assert!(page.contains("Too many requests"), "{page}");
    assert!(page.contains("يرجى الانتظار دقيقة"), "{page}");
    // Not logged, so the page asks for no reference.
    assert!(!page.contains("quote this reference"), "{page}");

    // Another address signs in and the agency redeems the code, during the flood.
    let citizen = Browser::forwarded_for("203.0.113.9");
    let req = request(&demo, &[]);
    let id = jisr_devidp::citizens(jisr_e2e::cc("SA"))[0].id;
    let back = sign_in(&demo, &citizen, &req, "SA", id, "allow").await;
    let code = query(&back)
        .remove("code")
        .unwrap_or_else(|| panic!("no code: {back}"));
    let (status, tokens) = token_at(&demo.gateway_url, &demo, &code, &req).await;
    assert_eq!(status, 200, "{tokens}");

    // Counted for operators by route and kind, never by address.
    let metrics = jisr_e2e::scrape_until(
        &demo.admin_url,
        "jisr_rate_limited_total{route=\"authorize\",by=\"address\"} 16",
    )
    .await;
    assert!(
        metrics.contains("jisr_rate_limited_total{route=\"authorize\",by=\"address\"} 16"),
        "{metrics}"
    );
    assert!(!metrics.contains("198.51.100.7"));
}

/// A client that is not the trusted proxy cannot choose the address it is counted under.
#[tokio::test]
async fn x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let demo = start(DemoOptions {
        rate_limits: limits(
            RouteLimits {
                per_address: 5,
                per_client: 10_000,
            },
            WIDE,
        ),
        ..DemoOptions::default()
    })
    .await;
    // 127.0.0.2 is loopback too, but not the trusted 127.0.0.1.
    let http = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut statuses = Vec::new();
    for i in 0..8 {
        let r = http
            .get(request(&demo, &[]).url)
            .header("x-forwarded-for", format!("192.0.2.{i}"))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
}

/// One agency flooding `/token` spends its own allowance only: the other agency's logins
/// complete, and requests naming the other agency without its credentials spend nothing of it.
#[tokio::test]
async fn a_flood_from_one_agency_leaves_another_agencys_logins_unaffected() {
    let demo = jisr_e2e::demo::start(DemoOptions {
        extra_agencies: vec![flooder()],
        rate_limits: limits(
            WIDE,
            RouteLimits {
                per_address: 10_000,
                per_client: 5,
            },
        ),
        ..DemoOptions::default()
    })
    .await;
    let http = reqwest::Client::new();
    let token_url = format!("{}/token", demo.gateway_url);
    let mut statuses = Vec::new();
    let mut last = None;
    for _ in 0..12 {
        let r = http
            .post(&token_url)
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", "no-such-code"),
                ("redirect_uri", "http://127.0.0.1:9/flood/callback"),
                ("code_verifier", &"v".repeat(43)),
                ("client_id", "flooding-agency"),
                ("client_secret", "flood-secret"),
            ])
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        last = Some(r);
    }
    assert_eq!(statuses[..5], [400; 5], "{statuses:?}");
    assert_eq!(statuses[5..], [429; 7], "{statuses:?}");
    let last = last.unwrap();
    assert!(last.headers().contains_key("retry-after"));
    let body: serde_json::Value = last.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("too many requests from this client"),
        "{body}"
    );

    // Twenty wrong secrets in the demo agency's name: refused as such, and not counted as it.
    for _ in 0..20 {
        let r = http
            .post(&token_url)
            .basic_auth(AGENCY_CLIENT_ID, Some("not-the-secret"))
            .form(&[("grant_type", "authorization_code"), ("code", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }

    // The demo agency's logins go through (its /token is its first, second … fifth).
    for _ in 0..3 {
        let browser = Browser::new();
        let req = request(&demo, &[]);
        let id = jisr_devidp::citizens(jisr_e2e::cc("KW"))[0].id;
        let back = sign_in(&demo, &browser, &req, "KW", id, "allow").await;
        let code = query(&back).remove("code").unwrap();
        let (status, tokens) = token_at(&demo.gateway_url, &demo, &code, &req).await;
        assert_eq!(status, 200, "{tokens}");
    }
}

fn flooder() -> jisr_gateway::config::agencies::Agency {
    use jisr_gateway::config::agencies::{Agency, AgencyAuth, Secret};
    Agency {
        client_id: "flooding-agency".into(),
        name_en: "Flooding agency (test)".into(),
        name_ar: "جهة اختبار".into(),
        country: jisr_e2e::cc("BH"),
        sector: "transport".into(),
        redirect_uris: vec!["http://127.0.0.1:9/flood/callback".into()],
        auth: AgencyAuth::ClientSecretPost(Secret::new("flood-secret")),
        id_token_signed_response_alg: None,
        notice: Default::default(),
        back_channel: Default::default(),
        logout: Default::default(),
    }
}

/// With Redis, one address's allowance is the fleet's: what it spent on replica A counts on
/// replica B once the replicas have synced (every 250 ms), so A and B together accept the
/// limit and no more.
#[tokio::test]
async fn the_limit_holds_across_replicas_sharing_redis() {
    let url = redis_url();
    require_redis(&url).await;
    let keyspace = Keyspace::new(&url);
    let key = EncryptionKey::generate();
    let config = keyspace.config(&key, Duration::from_secs(1));
    let demo = start(DemoOptions {
        store: Some(keyspace.store(&key, Duration::from_secs(1))),
        store_settings: Some(StoreSettings::Redis(config)),
        rate_limits: limits(
            RouteLimits {
                per_address: 12,
                per_client: 10_000,
            },
            WIDE,
        ),
        ..DemoOptions::default()
    })
    .await;
    let b = demo
        .start_replica(keyspace.store(&key, Duration::from_secs(1)))
        .await
        .unwrap();
    let a = demo.gateway_url.clone();
    let flood = Browser::forwarded_for("198.51.100.20");
    let sync = || tokio::time::sleep(Duration::from_millis(700));

    let on_a = authorize_n(&flood, &a, &demo, 8).await;
    assert_eq!(on_a, [200; 8]);
    sync().await;
    // B has not heard of this address yet: its first request is its own, then it learns
    // the fleet's count (8 + 1) at its next sync.
    let first_on_b = authorize_n(&flood, &b, &demo, 1).await;
    assert_eq!(first_on_b, [200]);
    sync().await;
    let on_b = authorize_n(&flood, &b, &demo, 10).await;
    assert_eq!(on_b, [200, 200, 200, 429, 429, 429, 429, 429, 429, 429]);
    // A counted nothing more itself, but this address is past half its limit, so A reads
    // the fleet's count back at every sync and refuses too.
    sync().await;
    assert_eq!(authorize_n(&flood, &a, &demo, 2).await, [429, 429]);
    // Another address is unaffected on either replica.
    let other = Browser::forwarded_for("203.0.113.30");
    assert_eq!(authorize_n(&other, &a, &demo, 1).await, [200]);
    assert_eq!(authorize_n(&other, &b, &demo, 1).await, [200]);

    // The counter in Redis: the fleet's total, named by route and address, expiring.
    let mut conn = keyspace.connection().unwrap();
    let keys = keyspace.keys().unwrap();
    let counter = keys
        .iter()
        .find(|k| k.contains("rl:authorize:a:198.51.100.20:"))
        .unwrap_or_else(|| panic!("no counter among {keys:?}"));
    let total: u64 = redis::cmd("GET").arg(counter).query(&mut conn).unwrap();
    assert_eq!(total, 12, "8 on A, 4 on B: the limit, fleet-wide");
    let ttl: i64 = redis::cmd("PTTL").arg(counter).query(&mut conn).unwrap();
    assert!(ttl > 0 && ttl <= 120_000, "PTTL {ttl}");
    demo.shutdown();
}
