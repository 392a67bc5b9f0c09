//! HTTPS served by the process itself: `serve --tls` with a self-signed certificate made once
//! for development (OAuth providers want an `https://` redirect address, as the reference's
//! `runserver_plus --cert-file`), or `serve --cert FILE --key FILE` with real ones.
//!
//! rustls with the *ring* provider (already in the build for outgoing TLS), TLS 1.2 and 1.3,
//! ALPN offering HTTP/2 then HTTP/1.1.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The acceptor for a certificate chain and its private key, both PEM files.
pub fn acceptor(cert: &Path, key: &Path) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("cannot read the certificate {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not a PEM certificate file", cert.display()))?;
    if chain.is_empty() {
        bail!("{} holds no certificate (a PEM file with -----BEGIN CERTIFICATE-----)", cert.display());
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("{} holds no private key in PEM (PKCS#8, PKCS#1 or SEC1)", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .context("the private key does not match the certificate")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// The development certificate and key under `<data_dir>/tls/`, made on first use for
/// `localhost`, `127.0.0.1`, `::1` and the named hosts, and kept (so a browser's exception for
/// it lasts). The key file is readable by its owner only.
pub fn development_certificate(data_dir: &Path, hosts: &[String]) -> anyhow::Result<(PathBuf, PathBuf)> {
    let dir = data_dir.join("tls");
    let (cert, key) = (dir.join("development-cert.pem"), dir.join("development-key.pem"));
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    for host in hosts {
        let host = host.trim_start_matches('.').trim_start_matches("*.");
        if !host.is_empty() && host != "*" && !names.iter().any(|n| n == host) {
            names.push(host.to_owned());
        }
    }
    let made = rcgen::generate_simple_self_signed(names).context("making a self-signed certificate")?;
    write_private(&key, made.signing_key.serialize_pem().as_bytes())?;
    std::fs::write(&cert, made.cert.pem()).with_context(|| format!("cannot write {}", cert.display()))?;
    Ok((cert, key))
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(bytes).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_development_certificate_is_made_once_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = development_certificate(dir.path(), &["example.test".into(), ".wild.test".into()]).unwrap();
        let first = std::fs::read(&cert).unwrap();
        acceptor(&cert, &key).expect("an acceptor from the made files");
        let again = development_certificate(dir.path(), &[]).unwrap();
        assert_eq!(std::fs::read(&again.0).unwrap(), first, "kept, not made again");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    fn error_of(cert: &Path, key: &Path) -> String {
        match acceptor(cert, key) {
            Ok(_) => panic!("{} and {} were accepted", cert.display(), key.display()),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn bad_files_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = development_certificate(dir.path(), &[]).unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate").unwrap();
        let error = error_of(&empty, &key);
        assert!(error.contains("holds no certificate"), "{error}");
        let error = error_of(&cert, &empty);
        assert!(error.contains("holds no private key"), "{error}");
        let missing = error_of(&dir.path().join("nope.pem"), &key);
        assert!(missing.contains("cannot read the certificate"), "{missing}");
    }
}
