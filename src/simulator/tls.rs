//! TLS material for the simulator's listener: a freshly generated self-signed certificate, or
//! a certificate and key read from PEM files. Owns no sockets.

use std::net::IpAddr;
use std::path::Path;

use axum_server::tls_rustls::RustlsConfig;

use super::server::SimError;

/// A self-signed certificate and its key, both PEM.
#[derive(Debug, Clone)]
pub(crate) struct SelfSigned {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A certificate for `localhost`, `127.0.0.1`, `::1` and `ip` (the listener's own address),
/// so a client that trusts it can connect by any of those names.
pub(crate) fn self_signed(ip: IpAddr) -> Result<SelfSigned, SimError> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    if !ip.is_unspecified() && !names.contains(&ip.to_string()) {
        names.push(ip.to_string());
    }
    let params = rcgen::CertificateParams::new(names).map_err(SimError::CertGen)?;
    let key = rcgen::KeyPair::generate().map_err(SimError::CertGen)?;
    let cert = params.self_signed(&key).map_err(SimError::CertGen)?;
    Ok(SelfSigned { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
}

/// A rustls config (ALPN h2 and http/1.1) from PEM text.
pub(crate) async fn config_from_pem(pem: &SelfSigned) -> Result<RustlsConfig, SimError> {
    RustlsConfig::from_pem(pem.cert_pem.clone().into_bytes(), pem.key_pem.clone().into_bytes())
        .await
        .map_err(|source| SimError::Tls { what: "the generated certificate".into(), source })
}

/// A rustls config from PEM files, read up front so a missing file is reported by name.
pub(crate) async fn config_from_files(cert: &Path, key: &Path) -> Result<RustlsConfig, SimError> {
    let read = |path: &Path| std::fs::read(path).map_err(|source| SimError::ReadPem { path: path.to_owned(), source });
    let (cert_pem, key_pem) = (read(cert)?, read(key)?);
    RustlsConfig::from_pem(cert_pem, key_pem)
        .await
        .map_err(|source| SimError::Tls { what: format!("{} and {}", cert.display(), key.display()), source })
}
