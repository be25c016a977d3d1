//! `jisr serve`: load the configuration ([`Config::load`]), open the store, build the gateway
//! ([`Gateway::from_config`]) and serve it, over plain HTTP or TLS, until shut down.

use std::path::Path;
use std::sync::Arc;

use jisr_mapping::ConfigProblem;
use jisr_store::{MemoryStore, RedisStore, Store, StoreError};
use tokio::net::TcpListener;

use crate::app::{Gateway, system_clock};
use crate::config::{Config, StoreSettings};

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

/// Opens the flow-state store the configuration names: in memory, or Redis.
pub fn open_store(settings: &StoreSettings) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match settings {
        StoreSettings::Memory { max_entries } => Arc::new(MemoryStore::new(*max_entries)),
        StoreSettings::Redis(redis) => Arc::new(RedisStore::new(redis.clone())?),
    })
}

/// Loads the configuration, starts discovery for every country in the background and serves
/// until SIGTERM or Ctrl-C, then shuts down gracefully (see [`serve_until`]).
pub async fn serve(path: &Path, vars: Vec<(String, String)>) -> Result<(), ServeError> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::spawn(async move {
        let signal = tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!(signal, "shutdown requested");
        let _ = stop.send(true);
    });
    serve_until(path, vars, stopped).await
}

/// [`serve`] until `shutdown` turns true: plain HTTP, or HTTPS with rustls when
/// `server.tls` names a certificate chain and key (PEM).
///
/// Shutting down: `/readyz` answers 503 at once (`"draining": true`) while both listeners
/// still serve, for `server.drain_secs`, so a load balancer stops sending new requests; then
/// the listeners stop accepting, requests in flight get up to `server.shutdown_timeout_secs`
/// to finish (connections still busy after that are closed), the audit log is flushed and
/// its chain head signed, and this returns `Ok`.
pub async fn serve_until(
    path: &Path,
    vars: Vec<(String, String)>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), ServeError> {
    let config = Config::load(path, &vars).map_err(ServeError::Config)?;
    drop(vars);
    for (_, profile) in &config.mapping.profiles {
        if !config
            .upstreams
            .iter()
            .any(|u| u.country == profile.country)
        {
            tracing::warn!(country = %profile.country, "no [idp] section: the country is not offered");
        }
    }
    let listen = config.server.listen;
    let tls_files = config.server.tls.clone();
    let (drain, bound) = (config.server.drain, config.server.shutdown_timeout);
    let tls = config.tls.clone();
    let store = open_store(&config.store).map_err(|e| ServeError::Start(e.to_string()))?;
    let gw = Gateway::from_config(config, store, system_clock())
        .map_err(|e| ServeError::Start(e.to_string()))?;
    let gw = Arc::new(gw);
    // Shutdown in two steps: readiness off at once, the listeners closed `drain` later.
    let (close, closed) = tokio::sync::watch::channel(false);
    {
        let (gw, mut shutdown) = (gw.clone(), shutdown.clone());
        tokio::spawn(async move {
            if shutdown.wait_for(|v| *v).await.is_err() {
                return;
            }
            gw.ops
                .draining
                .store(true, std::sync::atomic::Ordering::Relaxed);
            tracing::info!(
                drain_secs = drain.as_secs(),
                "shutting down: /readyz answers 503 while the load balancer drains this replica"
            );
            tokio::time::sleep(drain).await;
            let _ = close.send(true);
        });
    }
    let when_closed = |mut closed: tokio::sync::watch::Receiver<bool>| async move {
        let _ = closed.wait_for(|v| *v).await;
    };
    gw.upstreams.spawn_discovery(shutdown.clone());
    gw.ops
        .audit
        .spawn_checkpoints(gw.clock.clone(), shutdown.clone());
    if let Some(admin) = &gw.admin {
        let listener = TcpListener::bind(admin.listen).await?;
        tracing::info!(listen = %admin.listen, "jisr admin listener (metrics, dashboard)");
        tokio::spawn(crate::ops::admin::run(
            listener,
            gw.clone(),
            when_closed(closed.clone()),
        ));
    } else {
        tracing::warn!("no [admin] section: no metrics or dashboard listener");
    }
    tracing::info!(issuer = %gw.issuer, %listen, tls = tls.is_some(), "jisr gateway listening");
    let (audit, clock) = (gw.ops.audit.clone(), gw.clock.clone());
    let stopped = when_closed(closed.clone());
    let reloads_closed = closed.clone();
    let serving = async move {
        match tls {
            None => {
                let listener = TcpListener::bind(listen).await?;
                crate::http::run(listener, gw, stopped).await?;
            }
            Some(tls) => {
                // One TLS stack: rustls with aws-lc-rs (a second install is harmless).
                let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
                let rustls =
                    axum_server::tls_rustls::RustlsConfig::from_pem(tls.cert_chain, tls.key)
                        .await
                        .map_err(|e| {
                            ServeError::Start(format!(
                                "server.tls: cannot load the certificate or key: {e}"
                            ))
                        })?;
                if let Some(files) = tls_files {
                    tokio::spawn(reload_tls(rustls.clone(), files, reloads_closed));
                }
                let handle = axum_server::Handle::new();
                let h = handle.clone();
                tokio::spawn(async move {
                    stopped.await;
                    h.graceful_shutdown(Some(bound));
                });
                axum_server::bind_rustls(listen, rustls)
                    .handle(handle)
                    .serve(
                        crate::http::router(gw)
                            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
                    )
                    .await?;
            }
        }
        Ok::<(), ServeError>(())
    };
    // Requests in flight when the listener closes get `bound` to finish.
    let deadline = async move {
        when_closed(closed).await;
        tokio::time::sleep(bound).await;
    };
    tokio::select! {
        served = serving => served?,
        () = deadline => tracing::warn!(
            shutdown_timeout_secs = bound.as_secs(),
            "requests still in flight when the shutdown timeout passed: their connections are closed"
        ),
    }
    // Flushes the audit log and signs the chain head before the process exits.
    audit.close(clock());
    tracing::info!("shut down");
    Ok(())
}

/// How often the certificate and key files are looked at for a renewal.
pub const TLS_RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Watches `server.tls`'s certificate and key files (size and modification time, every
/// [`TLS_RELOAD_EVERY`]) and loads a renewed pair for new handshakes; connections already
/// open keep theirs. A pair that does not load (half written, a key that is not the
/// certificate's, not PEM) is logged and the pair in use stays; the next change is tried
/// again. Ends when the listener closes.
async fn reload_tls(
    rustls: axum_server::tls_rustls::RustlsConfig,
    files: crate::config::gateway::TlsConfig,
    mut closed: tokio::sync::watch::Receiver<bool>,
) {
    let stamp = |path: &Path| {
        std::fs::metadata(path)
            .ok()
            .map(|m| (m.len(), m.modified().ok()))
    };
    let stamps = || (stamp(&files.cert_file), stamp(&files.key_file));
    let mut seen = stamps();
    loop {
        tokio::select! {
            _ = closed.wait_for(|v| *v) => return,
            () = tokio::time::sleep(TLS_RELOAD_EVERY) => {}
        }
        let now = stamps();
        if now == seen {
            continue;
        }
        seen = now;
        let read = |path: &Path| {
            crate::config::secret::read_material(path)
                .map_err(crate::config::secret::SecretError::message)
        };
        let loaded = match (read(&files.cert_file), read(&files.key_file)) {
            (Ok(cert), Ok(key)) => rustls
                .reload_from_pem(cert, key)
                .await
                .map_err(|e| e.to_string()),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        match loaded {
            Ok(()) => tracing::info!(
                cert_file = %files.cert_file.display(),
                "server.tls: the renewed certificate is served to new connections"
            ),
            Err(error) => tracing::warn!(
                %error,
                "server.tls: the changed certificate or key does not load; the previous pair is still served"
            ),
        }
    }
}
