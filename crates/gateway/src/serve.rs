//! `jisr serve`: the gateway from its configuration directory.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jisr_mapping::ConfigProblem;
use jisr_store::{EncryptionKey, MemoryStore, RedisConfig, RedisStore, Store};
use tokio::net::TcpListener;

use crate::app::{Gateway, Seals, Ttls, system_clock};
use crate::config::gateway::StoreConfig;
use crate::config::{Config, env_lookup, idp_section};
use crate::provider::keys::SigningKeys;
use crate::upstream::Upstreams;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("configuration has problems:\n{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Config(Vec<ConfigProblem>),
    #[error("{0}")]
    Start(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Builds the shared gateway state from a loaded configuration.
pub fn build(config: Config, vars: &[(String, String)]) -> Result<Arc<Gateway>, ServeError> {
    let issuer = config.gateway.server.issuer().to_owned();
    let env = env_lookup(vars);
    let mut upstream_configs = Vec::new();
    let mut problems = Vec::new();
    for (file, profile) in &config.mapping.profiles {
        let Some(table) = &profile.idp else {
            tracing::warn!(country = %profile.country, "no [idp] section: the country is not offered");
            continue;
        };
        let redirect = format!(
            "{issuer}/callback/{}",
            profile.country.as_str().to_ascii_lowercase()
        );
        let section = idp_section(table)
            .map_err(|(k, m)| ServeError::Start(format!("{}: idp.{k}: {m}", file.display())))?;
        let base = file.parent().unwrap_or(Path::new("."));
        match section.resolve(profile.country, redirect, base, &env) {
            Ok(mut c) => {
                c.userinfo = c.userinfo
                    && crate::upstream::needs_userinfo(&c, &config.mapping, profile.country);
                upstream_configs.push(c)
            }
            Err(e) => problems.push(format!("{}: {e}", file.display())),
        }
    }
    if !problems.is_empty() {
        return Err(ServeError::Start(problems.join("\n")));
    }
    let upstreams =
        Upstreams::new(upstream_configs).map_err(|e| ServeError::Start(e.to_string()))?;
    let keys_cfg = &config.gateway.keys;
    if keys_cfg.files.is_empty() {
        return Err(ServeError::Start(
            "keys.files: list at least one signing key (`jisr keys generate`)".into(),
        ));
    }
    let keys = SigningKeys::load(&keys_cfg.files, keys_cfg.active.as_deref())
        .map_err(|e| ServeError::Start(e.to_string()))?;
    let store: Arc<dyn Store> = match &config.gateway.store {
        StoreConfig::Memory { max_entries } => Arc::new(MemoryStore::new(*max_entries)),
        StoreConfig::Redis {
            url,
            prefix,
            timeout_ms,
            ..
        } => {
            let key: EncryptionKey =
                config.secrets.store_encryption_key.clone().ok_or_else(|| {
                    ServeError::Start("store.encryption_key is required for Redis".into())
                })?;
            let mut redis = RedisConfig::new(url.clone(), key);
            redis.prefix = prefix.clone();
            redis.timeout = Duration::from_millis(*timeout_ms);
            Arc::new(RedisStore::new(redis).map_err(|e| ServeError::Start(e.to_string()))?)
        }
    };
    let t = &config.gateway.tokens;
    Ok(Arc::new(Gateway {
        issuer,
        mapping: config.mapping,
        agencies: config.agencies,
        upstreams,
        keys,
        store,
        seals: Seals::from_secret(&config.secrets.pairwise_key),
        pairwise: config.secrets.pairwise_key,
        ttls: Ttls {
            code: Duration::from_secs(t.code_ttl_secs),
            access_token: Duration::from_secs(t.access_token_ttl_secs),
            id_token: Duration::from_secs(t.id_token_ttl_secs),
            login: Duration::from_secs(t.login_ttl_secs),
        },
        clock: system_clock(),
    }))
}

/// Loads the configuration, starts discovery for every country in the background and serves
/// until Ctrl-C.
pub async fn serve(path: &Path, vars: Vec<(String, String)>) -> Result<(), ServeError> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop.send(true);
    });
    serve_until(path, vars, stopped).await
}

/// [`serve`] until `shutdown` turns true: plain HTTP, or HTTPS with rustls when
/// `server.tls` names a certificate chain and key (PEM).
pub async fn serve_until(
    path: &Path,
    vars: Vec<(String, String)>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), ServeError> {
    let config = Config::load(path, &vars).map_err(ServeError::Config)?;
    let listen = config.gateway.server.listen;
    let tls = config.gateway.server.tls.clone();
    let gw = build(config, &vars)?;
    gw.upstreams.spawn_discovery(shutdown.clone());
    tracing::info!(issuer = %gw.issuer, %listen, tls = tls.is_some(), "jisr gateway listening");
    let mut stopped = shutdown.clone();
    let stopped = async move {
        let _ = stopped.wait_for(|v| *v).await;
    };
    match tls {
        None => {
            let listener = TcpListener::bind(listen).await?;
            crate::http::run(listener, gw, stopped).await?;
        }
        Some(tls) => {
            // One TLS stack: rustls with aws-lc-rs (a second install is harmless).
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
            let rustls =
                axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert_file, &tls.key_file)
                    .await
                    .map_err(|e| {
                        ServeError::Start(format!(
                            "server.tls: cannot load the certificate or key: {e}"
                        ))
                    })?;
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            tokio::spawn(async move {
                stopped.await;
                h.graceful_shutdown(Some(Duration::from_secs(10)));
            });
            axum_server::bind_rustls(listen, rustls)
                .handle(handle)
                .serve(crate::http::router(gw).into_make_service())
                .await?;
        }
    }
    Ok(())
}
