//! The TLS front: mutual TLS on 127.0.0.1, serving HTTP/1.1 from a responder. It tells the
//! responder which client certificate was presented and acts on the wire faults it asks for.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{CONNECTION, CONTENT_LENGTH, HeaderValue, TRANSFER_ENCODING};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::server::{ServerSessionMemoryCache, WebPkiClientVerifier};
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use super::exchange::{self, Reply, Respond};
use super::freja::{CLIENT_CERT_HEADER, FAULT_HEADER};
use super::{HANDSHAKE_TIMEOUT, Observations, ProviderError, ServedResponse, lock};
use crate::pki::Pki;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A responder, called one request at a time: scripts answer calls in the order they came.
type Shared = Arc<(Mutex<()>, Box<dyn Respond>)>;

/// A server config presenting `server_cert` and verifying clients against the test root.
/// `require_client` false still rejects certificates from unknown issuers.
///
/// Built once per process for each key, chain and root (importing the key costs more than a
/// handshake); each mock gets its own session cache, so no TLS session outlives its vector.
pub(crate) fn server_config(
    pki: &Pki,
    server_cert: &str,
    require_client: bool,
) -> Result<Arc<ServerConfig>, ProviderError> {
    static BUILT: OnceLock<Mutex<HashMap<Vec<u8>, Arc<ServerConfig>>>> = OnceLock::new();
    let anchor = pki.trust_anchor()?.cert_der.clone();
    let chain = pki.chain_der(server_cert)?;
    let key = pki.get(server_cert)?.key_der.clone();
    let mut id = Sha256::new();
    for part in std::iter::once(&anchor).chain(&chain).chain([&key]) {
        id.update((part.len() as u64).to_be_bytes());
        id.update(part);
    }
    id.update([u8::from(require_client)]);
    let id = id.finalize().to_vec();
    let built = BUILT.get_or_init(Mutex::default);
    let shared = lock(built).get(&id).cloned();
    let shared = match shared {
        Some(c) => c,
        None => {
            let c = build_server_config(anchor, chain, key, server_cert, require_client)?;
            let mut built = lock(built);
            if built.len() < 64 {
                built.insert(id, c.clone());
            }
            c
        }
    };
    let mut config = (*shared).clone();
    config.session_storage = ServerSessionMemoryCache::new(256);
    Ok(Arc::new(config))
}

fn build_server_config(
    anchor: Vec<u8>,
    chain: Vec<Vec<u8>>,
    key: Vec<u8>,
    server_cert: &str,
    require_client: bool,
) -> Result<Arc<ServerConfig>, ProviderError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(anchor))
        .map_err(|e| ProviderError::Tls(format!("trust anchor: {e}")))?;
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    let verifier = if require_client {
        builder.build()
    } else {
        builder.allow_unauthenticated().build()
    }
    .map_err(|e| ProviderError::Tls(format!("client verifier: {e}")))?;
    let chain: Vec<CertificateDer<'static>> = chain.into_iter().map(CertificateDer::from).collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ProviderError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| ProviderError::Tls(format!("server certificate `{server_cert}`: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A running front. Stopping it aborts the accept loop and, with it, every open connection.
pub(crate) struct Front {
    pub(crate) addr: SocketAddr,
    /// Handshakes under way: a failing one is recorded only after its alert went out, so
    /// `observations()` waits for these to settle.
    pub(crate) handshakes: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Front {
    /// Serve `responder` on 127.0.0.1; `canary` marks what it served as the canary's.
    pub(crate) async fn start(
        config: Arc<ServerConfig>,
        responder: impl Respond,
        obs: Arc<Mutex<Observations>>,
        canary: bool,
    ) -> Result<Front, ProviderError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let responder: Shared = Arc::new((Mutex::new(()), Box::new(responder)));
        let handshakes = Arc::new(AtomicUsize::new(0));
        let counter = handshakes.clone();
        let task = tokio::spawn(async move {
            // Owned by this task: aborting the task drops the set, which aborts the connections.
            let mut conns = JoinSet::new();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                while conns.try_join_next().is_some() {}
                counter.fetch_add(1, Ordering::SeqCst);
                let guard = Pending(counter.clone());
                conns.spawn(serve(
                    acceptor.clone(),
                    tcp,
                    responder.clone(),
                    obs.clone(),
                    canary,
                    guard,
                ));
            }
        });
        Ok(Front {
            addr,
            handshakes,
            task,
        })
    }

    pub(crate) fn stop(&self) {
        self.task.abort();
    }
}

async fn serve(
    acceptor: TlsAcceptor,
    tcp: tokio::net::TcpStream,
    responder: Shared,
    obs: Arc<Mutex<Observations>>,
    canary: bool,
    pending: Pending,
) {
    let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            let what = describe_handshake_error(&e);
            lock(&obs).tls_failures.push(if canary {
                format!("canary: {what}")
            } else {
                what
            });
            return;
        }
        Err(_) => {
            lock(&obs)
                .tls_failures
                .push("TLS handshake did not complete in time".into());
            return;
        }
    };
    drop(pending);
    let cert = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| hex::encode(Sha256::digest(c.as_ref())));
    let service = hyper::service::service_fn(move |req| {
        answer(req, responder.clone(), cert.clone(), obs.clone(), canary)
    });
    // Errors here are the faults we inject or the RP hanging up: nothing to report.
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// Counts a handshake as under way until dropped (also when the task is aborted).
struct Pending(Arc<AtomicUsize>);

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn describe_handshake_error(e: &std::io::Error) -> String {
    use rustls::{CertificateError, Error};
    match e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
        Some(Error::NoCertificatesPresented) => "client presented no certificate".into(),
        Some(Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
            "client certificate from an unknown issuer".into()
        }
        Some(Error::InvalidCertificate(c)) => format!("client certificate rejected: {c:?}"),
        Some(Error::AlertReceived(a)) => format!(
            "client aborted the handshake (alert {a:?}), e.g. it rejected the server certificate"
        ),
        Some(other) => format!("TLS handshake failed: {other}"),
        None => format!("TLS handshake failed: {e}"),
    }
}

/// Why a connection is dropped without an answer.
#[derive(Debug)]
struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("eidconf: connection reset on purpose")
    }
}

impl std::error::Error for Reset {}

async fn answer(
    req: Request<Incoming>,
    responder: Shared,
    cert: Option<String>,
    obs: Arc<Mutex<Observations>>,
    canary: bool,
) -> Result<Response<FrontBody>, Reset> {
    let (mut parts, body) = req.into_parts();
    let method = parts.method.to_string();
    let request_path = parts.uri.path().to_owned();
    let Ok(body) = body.collect().await.map(|c| c.to_bytes()) else {
        return Err(Reset);
    };
    // Only the front may speak for itself in these headers.
    parts.headers.remove(CLIENT_CERT_HEADER);
    parts.headers.remove(FAULT_HEADER);
    if let Some(sha) = cert.and_then(|c| HeaderValue::try_from(c).ok()) {
        parts.headers.insert(CLIENT_CERT_HEADER, sha);
    }
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let reply = match format!("http://localhost{target}").parse() {
        Ok(url) => {
            let request = exchange::Request {
                url,
                method: parts.method,
                headers: parts.headers,
                body: body.to_vec(),
            };
            let (turn, responder) = &*responder;
            let _turn = lock(turn);
            // A bug of the mock's must show in the evidence, not as a dropped connection.
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| responder.respond(&request)))
                .unwrap_or_else(|panic| {
                    Reply::mock_error(&format!(
                        "the mock failed (a bug: please report it with the vector): {}",
                        crate::panic_message(panic.as_ref())
                    ))
                })
        }
        Err(_) => Reply::mock_error("unparsable request target"),
    };
    if let Some(d) = reply.delay {
        tokio::time::sleep(d).await;
    }
    let (status, mut headers) = (reply.status, reply.headers);
    let body = Bytes::from(reply.body);
    let fault = headers.remove(FAULT_HEADER);
    // hyper frames the body itself.
    for h in [CONTENT_LENGTH, TRANSFER_ENCODING, CONNECTION] {
        headers.remove(h);
    }
    // Whole: redaction needs the whole of a key; the report truncates after redacting.
    let text = String::from_utf8_lossy(&body).into_owned();
    lock(&obs).served.push(ServedResponse {
        method,
        path: request_path,
        status: status.as_u16(),
        headers: headers
            .iter()
            .filter(|(k, _)| *k != hyper::header::DATE)
            .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_owned())))
            .collect(),
        body: text,
        body_bytes: body.len(),
        fault: fault
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        canary,
    });
    let body = match fault.as_ref().map(|v| v.as_bytes()) {
        Some(b"reset") => return Err(Reset),
        Some(b"truncate") => FrontBody::truncated(body),
        _ => FrontBody::Full(Some(body)),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

/// A response body: whole, or announcing its full length and breaking off after half.
enum FrontBody {
    Full(Option<Bytes>),
    Truncated {
        declared: u64,
        half: Option<Bytes>,
        pause: Option<Pin<Box<tokio::time::Sleep>>>,
    },
}

impl FrontBody {
    fn truncated(body: Bytes) -> FrontBody {
        let half = body.slice(..body.len() / 2);
        FrontBody::Truncated {
            // An empty body cannot be cut in half: announce one byte that never comes.
            declared: body.len().max(1) as u64,
            half: Some(half),
            pause: None,
        }
    }
}

impl Body for FrontBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            FrontBody::Full(b) => Poll::Ready(
                b.take()
                    .filter(|b| !b.is_empty())
                    .map(|b| Ok(Frame::data(b))),
            ),
            FrontBody::Truncated { half, pause, .. } => {
                if let Some(h) = half.take().filter(|h| !h.is_empty()) {
                    return Poll::Ready(Some(Ok(Frame::data(h))));
                }
                // Pause once so hyper flushes the head and the half body, then fail: hyper
                // closes the connection short of the announced length.
                let sleep = pause
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_millis(20))));
                match sleep.as_mut().poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(()) => {
                        Poll::Ready(Some(Err("eidconf: body truncated on purpose".into())))
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, FrontBody::Full(b) if b.as_ref().is_none_or(|b| b.is_empty()))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            FrontBody::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            FrontBody::Truncated { declared, .. } => SizeHint::with_exact(*declared),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Panics;

    impl Respond for Panics {
        fn respond(&self, _: &exchange::Request) -> Reply {
            panic!("responder bug")
        }
    }

    #[tokio::test]
    async fn a_panicking_responder_answers_a_500_that_says_so_and_is_recorded() {
        let pki = Pki::load(&crate::default_corpus_root().join("vectors/keys")).unwrap();
        let config = server_config(&pki, crate::pki::SERVER_DEFAULT, false).unwrap();
        let obs = Arc::new(Mutex::new(Observations::default()));
        let front = Front::start(config, Panics, obs.clone(), false)
            .await
            .unwrap();
        let client = reqwest::Client::builder()
            .no_proxy()
            .tls_danger_accept_invalid_certs(true)
            .build()
            .unwrap();
        let resp = client
            .get(format!("https://127.0.0.1:{}/x", front.addr.port()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 500);
        let body = resp.text().await.unwrap();
        assert!(
            body.contains("a bug") && body.contains("responder bug"),
            "{body}"
        );
        let served = lock(&obs).served.clone();
        assert_eq!(served.len(), 1);
        assert_eq!(served[0].status, 500);
        front.stop();
    }
}
