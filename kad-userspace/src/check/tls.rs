//! The TLS side of keepalived.conf `SSL_GET` (and `kad genhash -S`): a rustls client.
//! Like keepalived, the server's certificate is not verified unless the global `SSL { ca }`
//! names a CA file; `SSL { certificate, key }` give a client certificate. SNI is sent when
//! the checker says `enable_sni` and a `virtualhost` names the server (keepalived.conf(5)).

use std::sync::Arc;

use rustls::{
    ClientConfig, DigitallySignedStruct, SignatureScheme,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::CryptoProvider,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime, pem::PemObject as _};

use crate::config::model::SslConfig;

/// Why the TLS client cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file cannot be read.
    #[error("SSL {what} '{path}': {error}")]
    File {
        /// Which keyword.
        what: &'static str,
        /// The file.
        path: String,
        /// What failed.
        error: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Accepts any certificate (keepalived's SSL_GET without `ca`) but still checks the
/// handshake signatures with the provider's algorithms.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn file_error(what: &'static str, path: &str, error: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        what,
        path: path.to_owned(),
        error: error.to_string(),
    }
}

/// The rustls client for SSL_GET, from the global `SSL { }` block (if any).
pub fn client_config(ssl: Option<&SslConfig>) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match ssl.and_then(|s| s.ca.as_deref()) {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(ca).map_err(|e| file_error("ca", ca, e))? {
                roots
                    .add(cert.map_err(|e| file_error("ca", ca, e))?)
                    .map_err(|e| file_error("ca", ca, e))?;
            }
            builder.with_root_certificates(roots)
        }
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider))),
    };
    let mut config = match ssl.and_then(|s| s.certificate.as_deref().zip(s.key.as_deref())) {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .map_err(|e| file_error("certificate", cert, e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| file_error("certificate", cert, e))?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| file_error("key", key, e))?;
            builder.with_client_auth_cert(chain, key)?
        }
        None => builder.with_no_client_auth(),
    };
    config.enable_sni = true;
    Ok(Arc::new(config))
}

/// The name the TLS client presents: the virtual host when SNI is enabled (rustls sends
/// SNI only for DNS names), else the address (no SNI).
pub fn server_name(sni: Option<&str>, addr: std::net::IpAddr) -> ServerName<'static> {
    sni.and_then(|name| ServerName::try_from(name.to_owned()).ok())
        .unwrap_or_else(|| ServerName::IpAddress(addr.into()))
}
