//! The reference RP's FTN flow (`oidc.begin_login`, `oidc.finish_login`, `rp.keys`) against a
//! small in-test HTTPS broker stub, and one test per flow fault: the reference behaves right, the
//! fault does not. The mock broker and the vectors are the real proof; this only shows each fault
//! switches on what it claims to.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use eidconf::adapter::{
    BeginLogin, BrokerEnvironment, Environment, FinishLogin, OidcEnvironment, Operation, Outcome,
    Reason, Rejection, RpKey, RpKeysRequest,
};
use eidconf::forge::id_token::{
    self, DEFAULT_CLIENT_ID, DEFAULT_ISSUER, TokenContext, TokenRecipe,
};
use eidconf::pki::Pki;
use eidconf::reference::ReferenceRp;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

const SUB: &str = "2BY5CDNFBEOSUFSKNGFSY4Y3DZISGL4I";
const REDIRECT: &str = "https://rp.eidconf.test/callback";
const ACR: &str = "http://ftn.ficora.fi/2017/loa2";

fn pki() -> Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        Pki::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/keys")).expect("test PKI")
    })
    .clone()
}

// ---------------------------------------------------------------------------------------------
// The broker stub

/// What the stub answers userinfo with.
#[derive(Clone)]
enum Userinfo {
    /// A signed-then-encrypted JWT with these claims over the defaults.
    Encrypted(Value),
}

struct Script {
    /// The nonce the ID token carries (the test copies it from the request object).
    nonce: String,
    /// The code the stub issued; any other is `invalid_grant`.
    code: String,
    recipe: TokenRecipe,
    jwks_keys: Vec<&'static str>,
    userinfo: Option<Userinfo>,
    /// Answer the token request with this (status, content type, body) instead.
    token_answer: Option<(u16, &'static str, String)>,
}

#[derive(Default)]
struct Seen {
    token_requests: Vec<BTreeMap<String, String>>,
    jwks_fetches: usize,
    userinfo_auth: Vec<String>,
}

struct Stub {
    base: String,
    script: Arc<Mutex<Script>>,
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn respond(status: u16, ct: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", ct)
        .body(Full::new(body.into()))
        .expect("response")
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    script: Arc<Mutex<Script>>,
    seen: Arc<Mutex<Seen>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let pki = pki();
    let s = script.lock().unwrap();
    Ok(match path.as_str() {
        "/token" => {
            let form: BTreeMap<String, String> = url_pairs(&String::from_utf8_lossy(&body));
            let ok = form.get("code") == Some(&s.code);
            seen.lock().unwrap().token_requests.push(form);
            if let Some((status, ct, body)) = &s.token_answer {
                return Ok(respond(*status, ct, body.clone()));
            }
            if !ok {
                return Ok(respond(
                    400,
                    "application/json",
                    r#"{"error":"invalid_grant"}"#,
                ));
            }
            let mut recipe = s.recipe.clone();
            recipe.claims.insert("nonce".into(), json!(s.nonce));
            let token = id_token::build(&recipe, &pki, &TokenContext::now()).expect("token");
            let answer = json!({
                "access_token": "at-0123456789",
                "token_type": "Bearer",
                "expires_in": 600,
                "id_token": token.token,
            });
            respond(200, "application/json", answer.to_string())
        }
        "/jwks" => {
            seen.lock().unwrap().jwks_fetches += 1;
            let keys: Vec<Value> = s
                .jwks_keys
                .iter()
                .map(|k| id_token::public_jwk(pki.get(k).unwrap(), "sig").unwrap())
                .collect();
            respond(200, "application/json", json!({ "keys": keys }).to_string())
        }
        "/userinfo" => {
            seen.lock().unwrap().userinfo_auth.push(auth);
            match &s.userinfo {
                Some(Userinfo::Encrypted(claims)) => {
                    let mut recipe = TokenRecipe::default();
                    if let Value::Object(m) = claims {
                        recipe.claims = m.clone();
                    }
                    for gone in ["nonce", "acr", "amr", "auth_time", "azp"] {
                        recipe.claims.insert(gone.into(), Value::Null);
                    }
                    let t = id_token::build(&recipe, &pki, &TokenContext::now()).expect("userinfo");
                    respond(200, "application/jwt", t.token)
                }
                None => respond(404, "text/plain", "no userinfo"),
            }
        }
        _ => respond(404, "text/plain", "not found"),
    })
}

async fn stub(script: Script) -> Stub {
    let pki = pki();
    let chain: Vec<CertificateDer<'static>> = pki
        .chain_der("server-localhost")
        .unwrap()
        .into_iter()
        .map(CertificateDer::from)
        .collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        pki.get("server-localhost").unwrap().key_der.clone(),
    ));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    let script = Arc::new(Mutex::new(script));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (sc, se) = (script.clone(), seen.clone());
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, sc, se) = (acceptor.clone(), sc.clone(), se.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service =
                    hyper::service::service_fn(move |r| handle(r, sc.clone(), se.clone()));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    Stub {
        base,
        script,
        seen,
        task,
    }
}

fn script() -> Script {
    Script {
        nonce: String::new(),
        code: "c0de-".repeat(8),
        recipe: TokenRecipe::default(),
        jwks_keys: vec!["ftn-broker-sig-1", "ftn-broker-sig-2"],
        userinfo: None,
        token_answer: None,
    }
}

fn url_pairs(query: &str) -> BTreeMap<String, String> {
    let url = reqwest::Url::parse(&format!("https://x/?{query}")).unwrap();
    url.query_pairs().into_owned().collect()
}

fn rp_key(name: &str, use_: &str) -> RpKey {
    RpKey {
        kid: name.into(),
        use_: use_.into(),
        private_key_pem: pki().get(name).unwrap().key_pem.clone(),
        environment: None,
    }
}

fn default_keys() -> Vec<RpKey> {
    vec![
        rp_key("ftn-rp-enc-1", "enc"),
        rp_key("ftn-rp-enc-2", "enc"),
        rp_key("ftn-rp-sig", "sig"),
    ]
}

fn env(base: &str, userinfo: Option<&str>) -> Environment {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    {
        let mut x = Environment::default();
        x.vector_id = "ftn.flow.test".into();
        x.oidc = Some({
            let mut x = OidcEnvironment::default();
            x.issuer = DEFAULT_ISSUER.into();
            x.client_id = DEFAULT_CLIENT_ID.into();
            x.rp_keys = default_keys();
            x.broker_jwks = json!({});
            x.id_token_signing_alg_values = strings(&["RS256"]);
            x.id_token_encryption_alg_values = strings(&["RSA-OAEP", "RSA-OAEP-256"]);
            x.id_token_encryption_enc_values = strings(&["A128CBC-HS256", "A128GCM", "A256GCM"]);
            x.encryption_required = true;
            x.clock_skew_seconds = 60;
            x.broker = Some({
                let mut x = BrokerEnvironment::default();
                x.discovery_url = format!("{base}/.well-known/openid-configuration");
                x.authorization_endpoint = format!("{base}/authorize");
                x.token_endpoint = format!("{base}/token");
                x.jwks_uri = format!("{base}/jwks");
                x.userinfo_endpoint = userinfo.map(|_| format!("{base}/userinfo"));
                x.userinfo_response = userinfo.map(str::to_owned);
                x.trust_anchors_pem = vec![pki().trust_anchor().unwrap().cert_pem.clone()];
                x.redirect_uri = REDIRECT.into();
                x.acr_values = strings(&[ACR]);
                x.scope = strings(&["openid", "profile"]);
                x.front_channel_parameters = strings(&["client_id"]);
                x.http_timeout_ms = 5_000;
                x
            });
            x
        });
        x
    }
}

fn payload(jws: &str) -> Map<String, Value> {
    let p = jws.split('.').nth(1).expect("a JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
}

fn header(jws: &str) -> Map<String, Value> {
    let h = jws.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap()
}

fn rejected(o: &Outcome) -> Option<&Rejection> {
    match o {
        Outcome::Rejected(r) => Some(r),
        _ => None,
    }
}

fn reason(o: &Outcome) -> Option<(Reason, Option<&str>)> {
    rejected(o).map(|r| (r.reason, r.claim.as_deref()))
}

/// `oidc.begin_login`: the authorization URL's query and the request object's claims.
struct Begun {
    query: Vec<(String, String)>,
    request: String,
    claims: Map<String, Value>,
}

async fn begin(rp: &ReferenceRp, env: &Environment, session: &str) -> Begun {
    let op = Operation::OidcBeginLogin({
        let mut x = BeginLogin::default();
        x.session = session.into();
        x
    });
    let Outcome::Accepted {
        authorization_url: Some(url),
        ..
    } = rp.perform(env, op).await
    else {
        panic!("begin_login was not accepted");
    };
    let url = reqwest::Url::parse(&url).unwrap();
    let broker = env.oidc.as_ref().unwrap().broker.as_ref().unwrap();
    assert!(url.as_str().starts_with(&broker.authorization_endpoint));
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let request = query
        .iter()
        .find(|(k, _)| k == "request")
        .map(|(_, v)| v.clone())
        .expect("a request parameter");
    let claims = payload(&request);
    Begun {
        query,
        request,
        claims,
    }
}

async fn finish(rp: &ReferenceRp, env: &Environment, session: &str, callback: String) -> Outcome {
    let op = Operation::OidcFinishLogin({
        let mut x = FinishLogin::default();
        x.session = session.into();
        x.callback_url = callback;
        x
    });
    rp.perform(env, op).await
}

fn text<'m>(m: &'m Map<String, Value>, k: &str) -> &'m str {
    m.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// A whole login the broker approves: begin, the callback with the stub's code and the state.
async fn login(
    rp: &ReferenceRp,
    stub: &Stub,
    env: &Environment,
    session: &str,
) -> (Begun, Outcome) {
    let b = begin(rp, env, session).await;
    let (code, state) = {
        let mut s = stub.script.lock().unwrap();
        s.nonce = text(&b.claims, "nonce").to_owned();
        (s.code.clone(), text(&b.claims, "state").to_owned())
    };
    let cb = format!("{REDIRECT}?code={code}&state={state}");
    let o = finish(rp, env, session, cb).await;
    (b, o)
}

fn accepted(o: &Outcome) -> &BTreeMap<String, Value> {
    match o {
        Outcome::Accepted { identity, .. } => identity,
        other => panic!("expected accepted, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The reference

#[tokio::test]
async fn reference_login_end_to_end() {
    let mut s = script();
    s.userinfo = Some(Userinfo::Encrypted(
        json!({"email": "tero.testi@example.fi"}),
    ));
    let stub = stub(s).await;
    let env = env(&stub.base, Some("encrypted"));
    let rp = ReferenceRp::new(&[]);
    let (b, o) = login(&rp, &stub, &env, "s1").await;
    let identity = accepted(&o);
    assert_eq!(identity["sub"], SUB);
    assert_eq!(identity["urn:oid:1.2.246.21"], "131052-308T");
    assert_eq!(identity["email"], "tero.testi@example.fi");

    // The front channel: request, and client_id because the broker lists it.
    let names: Vec<&str> = b.query.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["request", "client_id"]);
    // The request object (RFC 9101 §4), signed with the sig key.
    let h = header(&b.request);
    assert_eq!((text(&h, "alg"), text(&h, "kid")), ("RS256", "ftn-rp-sig"));
    let sig_key = id_token::public_jwk(pki().get("ftn-rp-sig").unwrap(), "sig").unwrap();
    let key = jsonwebtoken::DecodingKey::from_rsa_components(
        sig_key["n"].as_str().unwrap(),
        sig_key["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[DEFAULT_ISSUER]);
    jsonwebtoken::decode::<Value>(&b.request, &key, &v).expect("the request object verifies");
    let c = &b.claims;
    assert_eq!(text(c, "iss"), DEFAULT_CLIENT_ID);
    assert_eq!(text(c, "client_id"), DEFAULT_CLIENT_ID);
    assert_eq!(text(c, "aud"), DEFAULT_ISSUER);
    assert_eq!(text(c, "response_type"), "code");
    assert_eq!(text(c, "scope"), "openid profile");
    assert_eq!(text(c, "redirect_uri"), REDIRECT);
    assert_eq!(text(c, "acr_values"), ACR);
    assert_eq!(text(c, "state").len(), 43);
    assert_eq!(text(c, "nonce").len(), 43);
    assert!(text(c, "jti").len() >= 22);
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 600);

    // The token request (RFC 6749 §4.1.3), its client assertion (RFC 7523 §3) and PKCE (RFC 7636).
    let seen = stub.seen.lock().unwrap();
    let t = &seen.token_requests[0];
    assert_eq!(t["grant_type"], "authorization_code");
    assert_eq!(t["code"], "c0de-".repeat(8));
    assert_eq!(t["redirect_uri"], REDIRECT);
    assert_eq!(t["client_id"], DEFAULT_CLIENT_ID);
    assert_eq!(
        t["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(t["code_verifier"].as_bytes()));
    assert_eq!(text(c, "code_challenge"), challenge);
    assert_eq!(text(c, "code_challenge_method"), "S256");
    let a = payload(&t["client_assertion"]);
    assert_eq!(text(&header(&t["client_assertion"]), "kid"), "ftn-rp-sig");
    assert_eq!(text(&a, "iss"), DEFAULT_CLIENT_ID);
    assert_eq!(text(&a, "sub"), DEFAULT_CLIENT_ID);
    assert_eq!(text(&a, "aud"), format!("{}/token", stub.base));
    assert_eq!(a["exp"].as_i64().unwrap() - a["iat"].as_i64().unwrap(), 60);
    assert_eq!(seen.userinfo_auth, ["Bearer at-0123456789"]);
    assert_eq!(seen.jwks_fetches, 1);
}

#[tokio::test]
async fn reference_refuses_bad_callbacks_and_token_answers() {
    let stub = stub(script()).await;
    let env = env(&stub.base, None);
    let rp = ReferenceRp::new(&[]);
    // An unknown session, and a callback replayed after the session was consumed.
    let o = finish(&rp, &env, "nobody", format!("{REDIRECT}?code=x&state=y")).await;
    assert_eq!(reason(&o), Some((Reason::ClaimsInvalid, Some("state"))));
    let (b, o) = login(&rp, &stub, &env, "s1").await;
    accepted(&o);
    let cb = format!("{REDIRECT}?code=x&state={}", text(&b.claims, "state"));
    let o = finish(&rp, &env, "s1", cb).await;
    assert_eq!(reason(&o), Some((Reason::ClaimsInvalid, Some("state"))));
    // No state; no code.
    begin(&rp, &env, "s2").await;
    let o = finish(&rp, &env, "s2", format!("{REDIRECT}?code=x")).await;
    assert_eq!(reason(&o), Some((Reason::ClaimsInvalid, Some("state"))));
    let b = begin(&rp, &env, "s3").await;
    let cb = format!("{REDIRECT}?state={}", text(&b.claims, "state"));
    let o = finish(&rp, &env, "s3", cb).await;
    assert_eq!(reason(&o), Some((Reason::MalformedResponse, None)));
    // A code the broker refuses: its OAuth error.
    let b = begin(&rp, &env, "s4").await;
    let cb = format!("{REDIRECT}?code=stale&state={}", text(&b.claims, "state"));
    let o = finish(&rp, &env, "s4", cb).await;
    let r = rejected(&o).unwrap();
    assert_eq!(
        (r.reason, r.detail.as_deref()),
        (Reason::ProviderError, Some("invalid_grant"))
    );
    // A broker nobody trusts.
    let mut untrusted = env.clone();
    let broker = untrusted.oidc.as_mut().unwrap().broker.as_mut().unwrap();
    broker.trust_anchors_pem = vec![pki().get("untrusted-ca").unwrap().cert_pem.clone()];
    let (_, o) = login(&rp, &stub, &untrusted, "s5").await;
    assert_eq!(reason(&o), Some((Reason::ServerUntrusted, None)));
}

#[tokio::test]
async fn reference_refuses_key_configurations() {
    let rp = ReferenceRp::new(&[]);
    let keys = |env: &mut Environment, keys: Vec<RpKey>| {
        env.oidc.as_mut().unwrap().rp_keys = keys;
    };
    let mut e = env("https://127.0.0.1:9", None);
    let o = rp
        .perform(&e, Operation::RpKeys(RpKeysRequest::default()))
        .await;
    let Outcome::Accepted { jwks: Some(j), .. } = o else {
        panic!("{o:?}")
    };
    let keys_out = j["keys"].as_array().unwrap();
    assert_eq!(keys_out.len(), 3);
    for k in keys_out {
        let names: Vec<&str> = k.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(names, ["kty", "n", "e", "kid", "use", "alg"]);
    }
    assert_eq!(keys_out[0]["alg"], "RSA-OAEP");
    assert_eq!(keys_out[2]["alg"], "RS256");
    for bad in [
        vec![rp_key("ftn-rp-enc-1", "enc")],
        vec![rp_key("ftn-rp-sig", "sig")],
        vec![rp_key("ftn-rp-sig", "sig"), rp_key("ftn-rp-sig", "enc")],
    ] {
        let mut bad = bad;
        for (i, k) in bad.iter_mut().enumerate() {
            k.kid = format!("k{i}");
        }
        keys(&mut e, bad);
        let o = rp
            .perform(&e, Operation::RpKeys(RpKeysRequest::default()))
            .await;
        assert_eq!(reason(&o), Some((Reason::InvalidInput, None)), "{o:?}");
    }
}

#[tokio::test]
async fn reference_maps_token_endpoint_answers() {
    let cases: [(u16, &str, &str, Reason, Option<&str>); 6] = [
        (
            500,
            "text/html",
            "<h1>oops</h1>",
            Reason::HttpStatus,
            Some("500"),
        ),
        (302, "text/plain", "", Reason::HttpStatus, Some("302")),
        (
            400,
            "application/json",
            r#"{"error":"invalid_client"}"#,
            Reason::ProviderError,
            None,
        ),
        (
            200,
            "text/plain",
            "id_token=x",
            Reason::MalformedResponse,
            None,
        ),
        (
            200,
            "application/json",
            r#"{"token_type":"Bearer"}"#,
            Reason::MalformedResponse,
            None,
        ),
        (
            200,
            "application/json",
            r#"{"id_token":"a.b.c.d.e","token_type":"DPoP"}"#,
            Reason::MalformedResponse,
            None,
        ),
    ];
    for (status, ct, body, want, want_status) in cases {
        let mut s = script();
        s.token_answer = Some((status, ct, body.to_owned()));
        let stub = stub(s).await;
        let env = env(&stub.base, None);
        let rp = ReferenceRp::new(&[]);
        let o = login(&rp, &stub, &env, "s").await.1;
        let r = rejected(&o).unwrap_or_else(|| panic!("{status} {body}: {o:?}"));
        assert_eq!(
            (r.reason, r.status.as_deref()),
            (want, want_status),
            "{body}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// One test per flow fault
