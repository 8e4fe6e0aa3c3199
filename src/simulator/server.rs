//! Running a simulator: binding the listener, choosing plain HTTP or TLS, reporting the base
//! URL, and shutting down gracefully. The HTTP behaviour itself lives in `routes`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum_server::Handle;
use thiserror::Error;
use tokio::task::JoinHandle;

use super::app::App;
use super::config::{Approver, SimConfig};
use super::routes::{BASE_PATH, router};
use super::tls;

/// How long a graceful shutdown waits for in-flight requests before closing connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// What the listener speaks.
#[derive(Debug, Clone)]
pub enum Listen {
    /// Plain HTTP.
    Plain,
    /// HTTPS with a freshly generated self-signed certificate (clients need `--insecure`, or
    /// [`Simulator::certificate_pem`] as their trust root).
    SelfSignedTls,
    /// HTTPS with the given certificate chain and private key (PEM files).
    Tls { cert_pem: PathBuf, key_pem: PathBuf },
}

/// Why a simulator could not start.
#[derive(Debug, Error)]
pub enum SimError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot read {}: {source}", path.display())]
    ReadPem { path: PathBuf, source: std::io::Error },
    #[error("cannot use {what} for TLS: {source}")]
    Tls { what: String, source: std::io::Error },
    #[error("cannot generate a self-signed certificate: {0}")]
    CertGen(rcgen::Error),
}

impl SimError {
    /// Whether the error is about the socket (rather than about the arguments).
    pub fn is_bind(&self) -> bool {
        matches!(self, SimError::Bind { .. })
    }
}

/// A running simulator. Dropping it without [`Simulator::stop`] leaves the server running
/// until the runtime shuts down.
pub struct Simulator {
    base_url: url::Url,
    certificate_pem: Option<String>,
    handle: Handle<SocketAddr>,
    task: JoinHandle<std::io::Result<()>>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator").field("base_url", &self.base_url.as_str()).finish_non_exhaustive()
    }
}

/// Whether a simulator logs the requests it answers (see `log`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logging {
    /// Nothing: the in-process simulator of `run`, whose runner logs its own requests.
    Off,
    /// One line per request at info level, headers and bodies at debug level (`serve -v`/`-vv`).
    Requests,
}

impl Simulator {
    /// Binds `addr` (for example `127.0.0.1:0` for a free port), spawns the server on the current
    /// tokio runtime and returns at once. The approver is the demo one, with a fresh password,
    /// and requests are not logged.
    pub async fn start(config: SimConfig, addr: SocketAddr, listen: Listen) -> Result<Simulator, SimError> {
        Simulator::start_with(config, Approver::demo(), addr, listen, Logging::Off).await
    }

    /// [`Simulator::start`] with the approver it accepts and whether it logs requests.
    pub async fn start_with(
        config: SimConfig,
        approver: Approver,
        addr: SocketAddr,
        listen: Listen,
        logging: Logging,
    ) -> Result<Simulator, SimError> {
        // rustls needs a process-wide crypto provider before any config is built; a second
        // install fails harmlessly.
        let _ = rustls::crypto::ring::default_provider().install_default();

        let listener = std::net::TcpListener::bind(addr).map_err(|source| SimError::Bind { addr, source })?;
        let local = listener.local_addr().map_err(|source| SimError::Bind { addr, source })?;
        let bind_err = |source| SimError::Bind { addr: local, source };

        let (tls_config, certificate_pem) = match &listen {
            Listen::Plain => (None, None),
            Listen::SelfSignedTls => {
                let pem = tls::self_signed(local.ip())?;
                (Some(tls::config_from_pem(&pem).await?), Some(pem.cert_pem))
            }
            Listen::Tls { cert_pem, key_pem } => (Some(tls::config_from_files(cert_pem, key_pem).await?), None),
        };

        let app = Arc::new(App::new(config, approver, tls_config.is_some()));
        let mut routes = router(app.clone());
        if logging == Logging::Requests {
            routes = routes.layer(axum::middleware::from_fn_with_state(app, super::log::requests));
        }
        let service = routes.into_make_service();
        let handle = Handle::new();
        let task = match tls_config.clone() {
            None => {
                let server = axum_server::from_tcp(listener).map_err(bind_err)?.handle(handle.clone());
                tokio::spawn(server.serve(service))
            }
            Some(tls_config) => {
                let server =
                    axum_server::from_tcp_rustls(listener, tls_config).map_err(bind_err)?.handle(handle.clone());
                tokio::spawn(server.serve(service))
            }
        };

        Ok(Simulator { base_url: base_url(local, tls_config.is_some()), certificate_pem, handle, task })
    }

    /// `http(s)://IP:PORT/BeyondTrust/api/public/v3`, without a trailing slash.
    ///
    /// The host is the bound IP address (a wildcard address becomes loopback), not `localhost`,
    /// so nothing depends on name resolution; the self-signed certificate names that address,
    /// `localhost`, `127.0.0.1` and `::1`.
    pub fn base_url(&self) -> &url::Url {
        &self.base_url
    }

    /// The self-signed certificate (PEM) of a [`Listen::SelfSignedTls`] listener, for clients
    /// that want to verify it rather than skip verification.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.certificate_pem.as_deref()
    }

    /// Graceful shutdown: stops accepting, lets in-flight requests finish (up to a few
    /// seconds), then waits for the server task.
    pub async fn stop(self) {
        self.handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("simulator stopped with an error: {e}"),
            Err(e) => tracing::warn!("simulator task failed: {e}"),
        }
    }
}

fn base_url(local: SocketAddr, tls: bool) -> url::Url {
    let ip = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let scheme = if tls { "https" } else { "http" };
    let text = format!("{scheme}://{}{BASE_PATH}", SocketAddr::new(ip, local.port()));
    url::Url::parse(&text).expect("a socket address and a fixed path form a valid URL")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_uses_a_connectable_host() {
        let u = base_url("0.0.0.0:8443".parse().expect("addr"), true);
        assert_eq!(u.as_str(), "https://127.0.0.1:8443/BeyondTrust/api/public/v3");
        let u = base_url("[::]:80".parse().expect("addr"), false);
        assert_eq!(u.as_str(), "http://[::1]/BeyondTrust/api/public/v3", "a default port is dropped");
        let u = base_url("192.0.2.1:1".parse().expect("addr"), false);
        assert_eq!(u.as_str(), "http://192.0.2.1:1/BeyondTrust/api/public/v3");
    }
}
