//! `--tls-cert/--tls-key`: HTTPS with rustls, HSTS on every response, `Secure` session cookies.

use crate::common::*;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tongdang_access::signin::Accounts;
use tongdang_core::Role;
use tongdang_server::AppState;
use tongdang_store::{ProtectedStore, Store};

/// One HTTP/1.1 request over TLS, trusting `cert_der`; the whole response as text.
async fn https(addr: SocketAddr, cert_der: &[u8], request: &str) -> String {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls::pki_types::CertificateDer::from(cert_der.to_vec())).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut tls = connector.connect(rustls::pki_types::ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

async fn serves_https_with_hsts_and_secure_cookies(store: Arc<ProtectedStore>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let dir = tempfile_dir();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    Accounts::new(store.clone())
        .create("doctor-tls", "测试", "correct horse battery staple", Role::Clinician, Some(CODE), None, None)
        .await
        .unwrap();
    store.upsert_institution(&institution(CODE, NAME)).await.unwrap();
    let mut state = AppState::new(store);
    state.tls = true;
    let config = tongdang_server::tls::server_config(&cert, &key).unwrap();
    let listener = tongdang_server::tls::TlsListener::bind("127.0.0.1:0".parse().unwrap(), config).await.unwrap();
    let addr = axum::serve::Listener::local_addr(&listener).unwrap();
    let app = tongdang_server::router(Arc::new(state)).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(axum::serve::ListenerExt::tap_io(listener, |_| {}), app).await.unwrap() });

    let der = ck.cert.der().to_vec();
    let r = https(addr, &der, "GET /fhir/metadata HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await;
    assert!(r.starts_with("HTTP/1.1 200"), "{}", &r[..r.len().min(200)]);
    assert!(r.to_ascii_lowercase().contains("strict-transport-security: max-age=31536000"), "HSTS over TLS");
    let body = r#"{"login":"doctor-tls","password":"correct horse battery staple"}"#;
    let req = format!(
        "POST /api/v1/auth/sign-in HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let r = https(addr, &der, &req).await;
    let cookie = r.lines().find(|l| l.to_ascii_lowercase().starts_with("set-cookie:")).expect("a session cookie");
    assert!(cookie.contains("; Secure") && cookie.contains("HttpOnly"), "{cookie}");
    // Plain HTTP on the TLS port gets no answer.
    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    plain.write_all(b"GET /fhir/metadata HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), plain.read_to_end(&mut out)).await;
    assert!(!String::from_utf8_lossy(&out).contains("HTTP/1.1 200"));
    std::fs::remove_dir_all(dir).unwrap();
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tongdang-tls-{}", rand_suffix()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand_suffix() -> String {
    format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos())
}

tongdang_testkit::backend_tests!(serves_https_with_hsts_and_secure_cookies);
