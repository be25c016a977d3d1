//! Fixtures shared by the fuzz targets in `fuzz_targets/`.
//!
//! Every target drives the gateway's own code; these fixtures only set the scene once per
//! process: one fixed Ed25519 key (deterministic, so an input carrying a valid signature still
//! reproduces a crash in another run), the national IdP it plays, a gateway built in code
//! with the in-memory store and a fixed clock, and a current-thread runtime.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jisr_gateway::app::Gateway;
use jisr_gateway::config::agencies::{Agencies, Agency, AgencyAuth, AgencyNotice, Secret};
use jisr_gateway::config::{Config, MappingConfig, ServerConfig, StoreSettings, TokenConfig};
use jisr_gateway::provider::keys::{SigningAlg, SigningKeys};
use jisr_gateway::upstream::config::{ClientAuth, JwksSettings, StaticEndpoints};
use jisr_gateway::upstream::{Mode, UpstreamConfig, Upstreams};
use jisr_mapping::{CountryCode, PairwiseKey};
use jisr_store::MemoryStore;
use serde_json::{Value, json};

/// The fixed clock of every target, seconds since the epoch.
pub const NOW: i64 = 1_700_000_000;
/// The national IdP the fixed key belongs to (Saudi Arabia's, in these fixtures).
pub const IDP_ISSUER: &str = "https://idp.sa.example";
/// The gateway's client id at that IdP.
pub const IDP_CLIENT_ID: &str = "jisr";
/// The nonce the ID token target expects.
pub const NONCE: &str = "n-0S6_WzA2Mj";
/// The gateway's issuer.
pub const GATEWAY_ISSUER: &str = "https://jisr.example";
/// The kid of the fixed key, in the IdP's JWKS and the private_key_jwt agency's.
pub const KID: &str = "fuzz-ed25519";
/// An agency authenticating with client_secret_basic (secret [`BASIC_SECRET`]).
pub const BASIC_CLIENT: &str = "fuzz-basic";
pub const BASIC_SECRET: &str = "fuzz-basic-secret-0123456789abcdef";
/// An agency authenticating with private_key_jwt under the fixed key.
pub const PKJWT_CLIENT: &str = "fuzz-pkjwt";
/// The redirect URI registered for both agencies.
pub const REDIRECT_URI: &str = "https://agency.example/callback";

/// The country of the fixture IdP.
pub fn sa() -> CountryCode {
    CountryCode::parse("SA").unwrap_or_else(|_| unreachable!("SA is a country code"))
}

/// The repository's `config/` directory (shipped country profiles and policy).
pub fn config_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../config"))
}

/// The one fixed signing key.
pub struct Signer {
    pair: Ed25519KeyPair,
}

impl Signer {
    fn fixed() -> Self {
        let pair = Ed25519KeyPair::from_seed_unchecked(&[7u8; 32])
            .unwrap_or_else(|_| unreachable!("32-byte Ed25519 seed"));
        Signer { pair }
    }

    /// The public key as a JWK (`kid` [`KID`], `alg` EdDSA).
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(self.pair.public_key().as_ref()),
            "kid": KID,
            "use": "sig",
            "alg": "EdDSA",
        })
    }

    /// A compact JWS of exactly these header and payload bytes (whatever they are), with a
    /// valid Ed25519 signature.
    pub fn sign(&self, header: &[u8], payload: &[u8]) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature = self.pair.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }
}

pub static SIGNER: LazyLock<Signer> = LazyLock::new(Signer::fixed);

/// The IdP's JWKS: the fixed key, and keys the gateway refuses (weak RSA, symmetric, for
/// encryption), so tokens naming them reach those refusals too.
pub fn idp_jwks() -> Value {
    let n1024 = URL_SAFE_NO_PAD.encode([0xC5u8; 128]);
    let n2048 = URL_SAFE_NO_PAD.encode([0xC5u8; 256]);
    json!({"keys": [
        SIGNER.jwk(),
        {"kty": "RSA", "kid": "weak", "n": n1024, "e": "AQAB"},
        {"kty": "RSA", "kid": "enc", "n": n2048, "e": "AQAB", "use": "enc"},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
    ]})
}

/// The upstream settings of the fixture IdP: every accepted algorithm, fixed endpoints and
/// no JWKS URL (the cache is seeded, and a refresh fails at once instead of fetching), no
/// pause between refreshes (so an unknown kid never waits).
pub fn idp_config(require_typ: Option<&str>) -> UpstreamConfig {
    UpstreamConfig {
        country: sa(),
        issuer: IDP_ISSUER.into(),
        client_id: IDP_CLIENT_ID.into(),
        client_auth: ClientAuth::SecretBasic("fuzz-idp-secret-0123456789abcdef".into()),
        algorithms: jisr_gateway::alg::ACCEPTED.to_vec(),
        scopes: vec!["openid".into()],
        mode: Mode::Oidc,
        userinfo: false,
        leeway: Duration::from_secs(60),
        require_typ: require_typ.map(str::to_owned),
        timeout: Duration::from_secs(1),
        jwks: JwksSettings {
            min_refresh_secs: 0,
            ..JwksSettings::default()
        },
        redirect_uri: format!("{GATEWAY_ISSUER}/callback/sa"),
        endpoints: Some(StaticEndpoints {
            authorization: format!("{IDP_ISSUER}/authorize"),
            token: format!("{IDP_ISSUER}/token"),
            userinfo: None,
            jwks_uri: None,
            iss_parameter_supported: true,
        }),
        tls: None,
    }
}

fn seed(upstreams: &Upstreams) {
    if let Some(u) = upstreams.get(sa()) {
        u.jwks()
            .seed(&idp_jwks())
            .unwrap_or_else(|e| panic!("fixture JWKS: {e}"));
    }
}

/// The fixture IdP as the gateway's upstream, JWKS seeded.
pub fn upstreams(require_typ: Option<&str>) -> Upstreams {
    jisr_gateway::alg::install_crypto_provider();
    let upstreams = Upstreams::new(vec![idp_config(require_typ)])
        .unwrap_or_else(|e| panic!("fixture upstream: {e}"));
    seed(&upstreams);
    upstreams
}

/// A current-thread runtime for the async entry points.
pub static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"))
});

/// The gateway of the HTTP targets: shipped profiles and policy, two agencies (one per
/// client authentication family), the fixture IdP for Saudi Arabia, the in-memory store
/// (bounded) and the fixed clock.
pub static GATEWAY: LazyLock<Arc<Gateway>> = LazyLock::new(|| {
    jisr_gateway::alg::install_crypto_provider();
    let mapping =
        MappingConfig::load_dir(&config_dir()).unwrap_or_else(|p| panic!("shipped config: {p:?}"));
    let agency = |client_id: &str, country: &str, auth| Agency {
        client_id: client_id.into(),
        name_en: "Fuzz agency".into(),
        name_ar: "جهة".into(),
        country: CountryCode::parse(country).unwrap_or_else(|_| unreachable!()),
        sector: "health".into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        auth,
        id_token_signed_response_alg: None,
        notice: AgencyNotice::default(),
        back_channel: Default::default(),
        logout: Default::default(),
    };
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(json!({"keys": [SIGNER.jwk()]}))
        .unwrap_or_else(|e| panic!("agency JWKS: {e}"));
    let agencies = Agencies::from_list(vec![
        agency(
            BASIC_CLIENT,
            "BH",
            AgencyAuth::ClientSecretBasic(Secret::new(BASIC_SECRET)),
        ),
        agency(PKJWT_CLIENT, "KW", AgencyAuth::PrivateKeyJwt(jwks)),
    ])
    .unwrap_or_else(|e| panic!("agencies: {e}"));
    let config = Config {
        server: ServerConfig {
            listen: ([127, 0, 0, 1], 0).into(),
            public_url: GATEWAY_ISSUER
                .parse()
                .unwrap_or_else(|_| unreachable!("fixed URL")),
            tls: None,
            drain: std::time::Duration::ZERO,
            shutdown_timeout: std::time::Duration::from_secs(1),
        },
        tls: None,
        store: StoreSettings::Memory {
            max_entries: 10_000,
        },
        keys: SigningKeys::generate(SigningAlg::ES256).unwrap_or_else(|e| panic!("keys: {e}")),
        pairwise_key: PairwiseKey::new([9u8; 32]).unwrap_or_else(|_| unreachable!()),
        tokens: TokenConfig::default(),
        mapping,
        agencies,
        upstreams: vec![idp_config(None)],
        admin: None,
        audit: None,
        session: Default::default(),
        rate_limits: Default::default(),
    };
    let _in = RUNTIME.enter();
    let gateway =
        Gateway::from_config(config, Arc::new(MemoryStore::new(10_000)), Arc::new(|| NOW))
            .unwrap_or_else(|e| panic!("gateway: {e}"));
    seed(&gateway.upstreams);
    Arc::new(gateway)
});

/// The router of [`GATEWAY`], as `jisr serve` mounts it.
pub static ROUTER: LazyLock<axum::Router> =
    LazyLock::new(|| jisr_gateway::http::router(GATEWAY.clone()));

/// Sends one request through [`ROUTER`] and returns the status and body.
pub fn send(request: axum::http::Request<axum::body::Body>) -> (axum::http::StatusCode, Vec<u8>) {
    use tower::ServiceExt;
    RUNTIME.block_on(async {
        let response = ROUTER
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|e| match e {});
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap_or_else(|e| panic!("response body over 1 MiB or broken: {e}"));
        (status, body.to_vec())
    })
}

/// The OAuth `error` of a JSON error response, if it is one.
pub fn oauth_error(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<Value>(body)
        .ok()?
        .get("error")?
        .as_str()
        .map(str::to_owned)
}

/// A compact JWS from a fuzz input: the input itself (as text), or, when it starts with the
/// line `sign`, the next two lines as header and payload bytes signed with the fixed key; a
/// following line `flip <n>` changes byte `n % len` of the signed token. Returns the token
/// and whether it carries the fixed key's signature unchanged.
pub fn signed(data: &[u8]) -> (String, bool) {
    let Some(rest) = data.strip_prefix(b"sign\n") else {
        return (String::from_utf8_lossy(data).into_owned(), false);
    };
    let mut lines = rest.splitn(4, |b| *b == b'\n');
    let header = lines.next().unwrap_or_default();
    let payload = lines.next().unwrap_or_default();
    let token = SIGNER.sign(header, payload);
    let flip = lines
        .next()
        .and_then(|l| std::str::from_utf8(l).ok())
        .and_then(|l| l.strip_prefix("flip "))
        .and_then(|n| n.trim().parse::<usize>().ok());
    match flip {
        None => (token, true),
        Some(n) => {
            let mut bytes = token.into_bytes();
            let at = n % bytes.len();
            // Another base64url character, so the token stays well-formed text.
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            (String::from_utf8_lossy(&bytes).into_owned(), false)
        }
    }
}
