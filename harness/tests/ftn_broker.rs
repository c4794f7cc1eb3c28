//! The mock FTN broker driven by a small hand-written client: signed request objects and client
//! assertions built with josekit from the test PKI, ID tokens decrypted and verified with josekit
//! (the independent oracle), per-profile claims and algorithms, codes, replays, JWKS rotation,
//! userinfo forms, the request-side checks, and the flow orchestration end to end.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use eidconf::adapter::{
    AdapterError, BrokerEnvironment, Environment, OidcEnvironment, Operation, Outcome,
    RelyingParty, RpDescription,
};
use eidconf::pki::Pki;
use eidconf::provider::checks::Check;
use eidconf::provider::ftn::{BrokerContext, BrokerMock, REDIRECT_URI};
use eidconf::vector::{EnvironmentSpec, ProviderSpec};
use josekit::jwe::JweDecrypter;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

const CLIENT_ID: &str = eidconf::forge::id_token::DEFAULT_CLIENT_ID;
const LOA2: &str = "http://ftn.ficora.fi/2017/loa2";

fn pki() -> Pki {
    Pki::load(&eidconf::default_corpus_root().join("vectors/keys")).expect("keys load")
}

fn pem(pki: &Pki, name: &str) -> String {
    let p = &pki.get(name).unwrap().key_pem;
    p[p.find("-----BEGIN").unwrap_or(0)..].to_owned()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn random(n: usize) -> String {
    let bytes: Vec<u8> = (0..n).map(|_| rand_byte()).collect();
    URL_SAFE_NO_PAD.encode(bytes)
}

fn rand_byte() -> u8 {
    let mut b = [0u8; 1];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    b[0]
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Merge with `null` removing, like the vectors do.
fn merge(base: &mut Map<String, Value>, over: &Map<String, Value>) {
    eidconf::forge::merge_members(base, over);
}

async fn start(provider_yaml: &str) -> (BrokerMock, OidcEnvironment) {
    let spec: ProviderSpec = serde_saphyr::from_str(provider_yaml).expect("provider spec parses");
    let ctx = BrokerContext {
        pki: pki(),
        client_id: CLIENT_ID.into(),
        redirect_uri: REDIRECT_URI.into(),
        acr_values: vec![LOA2.into()],
        signing_alg_values: vec!["RS256".into()],
        broker_jwk: Default::default(),
    };
    let broker = BrokerMock::start(&spec, ctx).await.expect("broker starts");
    let env = broker
        .environment(&EnvironmentSpec::default())
        .expect("environment");
    (broker, env)
}

/// The client side of one login: what it sent and must remember.
#[derive(Debug, Clone)]
struct Pending {
    state: String,
    nonce: String,
    verifier: String,
}

/// A minimal FTN RP: josekit for every JOSE operation, reqwest for HTTP.
struct Client {
    env: OidcEnvironment,
    http: reqwest::Client,
    sig_pem: String,
    enc_pem: String,
}

impl Client {
    fn new(env: &OidcEnvironment) -> Client {
        let pki = pki();
        let b = reg(env);
        let anchors = reqwest::Certificate::from_pem_bundle(b.trust_anchors_pem[0].as_bytes())
            .expect("trust anchor");
        let http = reqwest::Client::builder()
            .no_proxy()
            .tls_certs_only(anchors)
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        Client {
            env: env.clone(),
            http,
            sig_pem: pem(&pki, "ftn-rp-sig"),
            enc_pem: pem(&pki, "ftn-rp-enc-1"),
        }
    }

    fn sign(&self, claims: Map<String, Value>) -> String {
        let signer = josekit::jws::RS256.signer_from_pem(&self.sig_pem).unwrap();
        let mut header = josekit::jws::JwsHeader::new();
        header.set_key_id("ftn-rp-sig");
        header.set_token_type("JWT");
        let payload = josekit::jwt::JwtPayload::from_map(claims).unwrap();
        josekit::jwt::encode_with_signer(&payload, &header, &signer).unwrap()
    }

    /// The authorization URL with a request object; `over` is merged over its claims.
    fn authorization_url(&self, over: Value) -> (String, Pending) {
        let b = reg(&self.env);
        let pending = Pending {
            state: random(24),
            nonce: random(24),
            verifier: random(32),
        };
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(pending.verifier.as_bytes()));
        let mut claims = obj(json!({
            "iss": self.env.client_id,
            "aud": self.env.issuer,
            "client_id": self.env.client_id,
            "response_type": "code",
            "scope": b.scope.join(" "),
            "redirect_uri": b.redirect_uri,
            "state": pending.state,
            "nonce": pending.nonce,
            "acr_values": b.acr_values.join(" "),
            "exp": now() + 600,
            "jti": random(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }));
        merge(&mut claims, &obj(over));
        let mut url = reqwest::Url::parse(&b.authorization_endpoint).unwrap();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("request", &self.sign(claims));
            for p in &b.front_channel_parameters {
                if p == "client_id" {
                    q.append_pair("client_id", &self.env.client_id);
                }
            }
        }
        (url.to_string(), pending)
    }

    fn assertion(&self, over: Value) -> String {
        let mut claims = obj(json!({
            "iss": self.env.client_id,
            "sub": self.env.client_id,
            "aud": reg(&self.env).token_endpoint,
            "exp": now() + 300,
            "iat": now(),
            "jti": random(16),
        }));
        merge(&mut claims, &obj(over));
        self.sign(claims)
    }

    async fn token(&self, code: &str, verifier: &str) -> reqwest::Response {
        let b = reg(&self.env);
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", b.redirect_uri.as_str()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &self.assertion(json!({}))),
            ("code_verifier", verifier),
        ];
        let body = form
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        self.http
            .post(&b.token_endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("token request")
    }

    async fn discovery(&self) -> Value {
        let r = self.http.get(&reg(&self.env).discovery_url).send().await;
        r.expect("discovery").json().await.expect("discovery json")
    }

    async fn jwks(&self) -> Value {
        let r = self.http.get(&reg(&self.env).jwks_uri).send().await;
        r.expect("jwks").json().await.expect("jwks json")
    }

    /// Decrypt with `ftn-rp-enc-1` and verify with the broker's published key named by the
    /// inner `kid`: the claims and the JWE header.
    async fn open(&self, token: &str) -> (Map<String, Value>, josekit::jwe::JweHeader) {
        let outer: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        let decrypter: Box<dyn JweDecrypter> = match outer["alg"].as_str() {
            Some("RSA-OAEP") => Box::new(
                josekit::jwe::RSA_OAEP
                    .decrypter_from_pem(&self.enc_pem)
                    .unwrap(),
            ),
            Some("RSA-OAEP-256") => Box::new(
                josekit::jwe::RSA_OAEP_256
                    .decrypter_from_pem(&self.enc_pem)
                    .unwrap(),
            ),
            other => panic!("unexpected JWE alg {other:?}"),
        };
        let (jws, header) = josekit::jwe::deserialize_compact(token, &*decrypter).unwrap();
        let jws = String::from_utf8(jws).unwrap();
        (self.verify(&jws).await, header)
    }

    async fn verify(&self, jws: &str) -> Map<String, Value> {
        let h: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(jws.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        let kid = h["kid"].as_str().unwrap().to_owned();
        let jwks = self.jwks().await;
        let jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid.as_str())
            .unwrap_or_else(|| panic!("kid {kid} not published"))
            .clone();
        let jwk = josekit::jwk::Jwk::from_map(obj(jwk)).unwrap();
        let verifier = josekit::jws::RS256.verifier_from_jwk(&jwk).unwrap();
        let (payload, _) = josekit::jwt::decode_with_verifier(jws, &verifier).unwrap();
        payload.claims_set().clone()
    }
}

fn reg(env: &OidcEnvironment) -> &BrokerEnvironment {
    env.broker.as_ref().expect("a flow environment")
}

fn query(url: &str) -> BTreeMap<String, String> {
    eidconf::provider::checks::query_parameters(url)
}

/// One login through the broker: authorize, redeem the code; the token response.
async fn login(broker: &BrokerMock, client: &Client, n: usize, over: Value) -> (Value, Pending) {
    broker.start_login(n, &format!("s{n}"), None);
    let (url, pending) = client.authorization_url(over);
    let callback = broker.authorize(&url, n).expect("authorize");
    let q = query(&callback);
    assert_eq!(q.get("state"), Some(&pending.state));
    let resp = client.token(&q["code"], &pending.verifier).await;
    assert_eq!(resp.status(), 200);
    (resp.json().await.unwrap(), pending)
}

fn failed(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| format!("{} (login {:?}): {}", c.id, c.login, c.detail))
        .collect()
}

fn check<'a>(checks: &'a [Check], id: &str, login: usize) -> &'a Check {
    checks
        .iter()
        .find(|c| c.id == id && c.login == Some(login))
        .unwrap_or_else(|| panic!("no check {id} on login {login}: {checks:?}"))
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_happy_login_yields_a_token_josekit_opens_and_every_check_passes() {
    let (broker, env) = start("{}").await;
    assert!(broker.issuer().starts_with("https://127.0.0.1:"));
    let client = Client::new(&env);
    let (resp, pending) = login(&broker, &client, 1, json!({})).await;
    assert_eq!(resp["token_type"], "Bearer");
    assert_eq!(resp["expires_in"], 600);
    let (claims, header) = client.open(resp["id_token"].as_str().unwrap()).await;
    assert_eq!(header.algorithm(), Some("RSA-OAEP"));
    assert_eq!(header.content_encryption(), Some("A128CBC-HS256"));
    assert_eq!(header.key_id(), Some("ftn-rp-enc-1"));
    assert_eq!(claims["iss"], json!(broker.issuer()));
    assert_eq!(claims["aud"], json!([CLIENT_ID]));
    assert_eq!(claims["azp"], json!(CLIENT_ID));
    assert_eq!(claims["nonce"], json!(pending.nonce));
    assert_eq!(claims["acr"], json!(LOA2));
    assert_eq!(claims["urn:oid:1.2.246.21"], json!("131052-308T"));
    assert_eq!(claims["urn:oid:2.5.4.4"], json!("Äyrämö"));
    assert!(claims["exp"].as_i64().unwrap() > now());

    let evidence = broker.evidence();
    assert_eq!(evidence.logins[0].id_token_claims.as_ref(), Some(&claims));
    assert_eq!(evidence.logins[0].session, "s1");
    assert_eq!(
        evidence.logins[0].request_object.as_ref().unwrap()["nonce"],
        json!(pending.nonce)
    );
    assert!(
        !evidence.logins[0]
            .token_request
            .as_ref()
            .unwrap()
            .contains_key("client_assertion")
    );
    assert_eq!(
        evidence.logins[0].client_assertion.as_ref().unwrap()["iss"],
        json!(CLIENT_ID)
    );
    use eidconf::vector::BrokerEndpoint::*;
    assert_eq!(evidence.count(BrokerAuthorize), 1);
    assert_eq!(evidence.count(BrokerToken), 1);
    assert_eq!(evidence.count(BrokerJwks), 1);

    let checks = broker.checks(&env);
    assert!(failed(&checks).is_empty(), "{:#?}", failed(&checks));
    for (id, _) in eidconf::provider::checks::CATALOGUE {
        let expected = !id.starts_with("jwks.")
            && !id.starts_with("rp_keys.")
            && !id.starts_with("freja.")
            && *id != "userinfo.bearer";
        assert_eq!(checks.iter().any(|c| c.id == *id), expected, "{id}");
    }
    drop(broker);
}

#[tokio::test]
async fn discovery_lists_the_endpoints_under_a_fresh_prefix() {
    let (a, env) = start("{}").await;
    let (b, _) = start("{}").await;
    assert_ne!(a.issuer(), b.issuer());
    let prefix = reqwest::Url::parse(a.issuer()).unwrap().path().to_owned();
    assert_eq!(prefix.len(), 17, "a slash and 16 hex characters: {prefix}");
    let client = Client::new(&env);
    let d: Value = client.discovery().await;
    let be = reg(&env);
    assert_eq!(d["issuer"], json!(a.issuer()));
    assert_eq!(d["token_endpoint"], json!(be.token_endpoint));
    assert_eq!(d["jwks_uri"], json!(be.jwks_uri));
    assert_eq!(
        d["authorization_endpoint"],
        json!(be.authorization_endpoint)
    );
    assert!(
        d.get("userinfo_endpoint").is_none(),
        "Telia registers no userinfo"
    );
    drop(a);
    drop(b);
}

#[tokio::test]
async fn each_profile_has_its_claims_algorithms_and_registration() {
    let cases = [
        (
            "telia",
            "urn:oid:1.2.246.21",
            "RSA-OAEP",
            "A128CBC-HS256",
            true,
            None,
        ),
        (
            "op",
            "personal_identity_code",
            "RSA-OAEP",
            "A128CBC-HS256",
            false,
            Some("json"),
        ),
        (
            "idura",
            "hetu",
            "RSA-OAEP-256",
            "A256GCM",
            false,
            Some("encrypted"),
        ),
        (
            "signicat",
            "nin",
            "RSA-OAEP",
            "A256GCM",
            false,
            Some("encrypted"),
        ),
        ("nets", "ssn", "RSA-OAEP-256", "A128GCM", false, None),
    ];
    for (profile, hetu, alg, enc, aud_array, userinfo) in cases {
        let (broker, env) = start(&format!("broker: {{profile: {profile}}}")).await;
        let b = broker_env(&env);
        assert_eq!(
            env.id_token_encryption_alg_values,
            vec![alg.to_owned()],
            "{profile}"
        );
        assert_eq!(
            env.id_token_encryption_enc_values,
            vec![enc.to_owned()],
            "{profile}"
        );
        assert_eq!(b.userinfo_response.as_deref(), userinfo, "{profile}");
        assert_eq!(
            b.userinfo_endpoint.is_some(),
            userinfo.is_some(),
            "{profile}"
        );
        assert_eq!(env.broker_jwks, json!({"keys": []}));
        assert_eq!(b.acr_values, vec![LOA2.to_owned()]);
        assert_eq!(b.redirect_uri, REDIRECT_URI);
        assert_eq!(
            b.front_channel_parameters,
            if profile == "idura" {
                vec!["client_id".to_owned()]
            } else {
                vec![]
            },
        );
        assert_eq!(b.scope[0], "openid");
        assert_eq!(
            b.scope.iter().any(|s| s == "personal_identity_code"),
            profile == "op"
        );

        let client = Client::new(&env);
        let (resp, _) = login(&broker, &client, 1, json!({})).await;
        let (claims, header) = client.open(resp["id_token"].as_str().unwrap()).await;
        assert_eq!(header.algorithm(), Some(alg), "{profile}");
        assert_eq!(header.content_encryption(), Some(enc), "{profile}");
        assert_eq!(claims[hetu], json!("131052-308T"), "{profile}");
        assert_eq!(claims["aud"].is_array(), aud_array, "{profile}");
        if !aud_array {
            assert_eq!(claims["aud"], json!(CLIENT_ID));
        }
        let checks = broker.checks(&env);
        assert!(
            failed(&checks).is_empty(),
            "{profile}: {:#?}",
            failed(&checks)
        );
        drop(broker);
    }
}

fn broker_env(env: &OidcEnvironment) -> BrokerEnvironment {
    reg(env).clone()
}

#[tokio::test]
async fn recipes_merge_over_the_profile_and_the_nonce() {
    let yaml = "broker:\n  logins:\n    - id_token:\n        claims: {nonce: wrong, acr: null, sub: other}\n        encryption: {alg: RSA-OAEP-256, enc: A256GCM}\n";
    let (broker, env) = start(yaml).await;
    let client = Client::new(&env);
    let (resp, _) = login(&broker, &client, 1, json!({})).await;
    let (claims, header) = client.open(resp["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["nonce"], "wrong");
    assert_eq!(claims["sub"], "other");
    assert!(claims.get("acr").is_none());
    assert_eq!(header.algorithm(), Some("RSA-OAEP-256"));
    assert_eq!(header.content_encryption(), Some("A256GCM"));

    // No nonce in the request object: none in the token.
    let (broker, env) = start("{}").await;
    let client = Client::new(&env);
    let (resp, _) = login(&broker, &client, 1, json!({"nonce": null})).await;
    let (claims, _) = client.open(resp["id_token"].as_str().unwrap()).await;
    assert!(claims.get("nonce").is_none());
    assert!(!check(&broker.checks(&env), "request_object.nonce", 1).passed);
}

#[tokio::test]
async fn codes_have_the_scripted_length_and_errors_come_back_with_the_state() {
    let yaml = "broker:\n  logins:\n    - {}\n    - callback: {code_length: 800}\n    - callback: {error: access_denied}\n    - callback: {state: forged}\n    - callback: {omit_state: true}\n";
    let (broker, env) = start(yaml).await;
    let client = Client::new(&env);
    let mut callbacks = Vec::new();
    let mut states = Vec::new();
    for n in 1..=5 {
        broker.start_login(n, &format!("s{n}"), None);
        let (url, p) = client.authorization_url(json!({}));
        callbacks.push(query(&broker.authorize(&url, n).unwrap()));
        states.push(p.state);
    }
    let code = |q: &BTreeMap<String, String>| q.get("code").map(|c| c.len());
    assert_eq!(code(&callbacks[0]), Some(64));
    assert_eq!(code(&callbacks[1]), Some(800));
    assert!(
        callbacks[1]["code"]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(
        callbacks[2].get("error").map(String::as_str),
        Some("access_denied")
    );
    assert_eq!(callbacks[2].get("state"), Some(&states[2]));
    assert!(!callbacks[2].contains_key("code"));
    assert_eq!(
        callbacks[3].get("state").map(String::as_str),
        Some("forged")
    );
    assert!(!callbacks[4].contains_key("state"));
    assert!(
        broker.evidence().logins[4]
            .callback_url
            .as_deref()
            .unwrap()
            .starts_with(REDIRECT_URI)
    );
    drop(broker);
}

#[tokio::test]
async fn a_code_is_honoured_again_and_an_unknown_one_is_refused() {
    let (broker, env) = start("{}").await;
    let client = Client::new(&env);
    broker.start_login(1, "s1", None);
    let (url, p) = client.authorization_url(json!({}));
    let code = query(&broker.authorize(&url, 1).unwrap())["code"].clone();
    assert_eq!(client.token(&code, &p.verifier).await.status(), 200);
    assert_eq!(client.token(&code, &p.verifier).await.status(), 200);
    let r = client.token("no-such-code", &p.verifier).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": "invalid_grant"})
    );
    // Garbage forms and assertions are recorded, not fatal.
    let r = client
        .http
        .post(&reg(&env).token_endpoint)
        .body("%%%&&=&client_assertion=not.a.jwt&code=%ff")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let checks = broker.checks(&env);
    assert!(!check(&checks, "client_assertion.signed", 1).passed);
    drop(broker);
}

#[tokio::test]
async fn the_jwks_follows_the_login_being_played() {
    let yaml = "broker:\n  logins:\n    - {jwks: [ftn-broker-sig-1]}\n    - {jwks: [ftn-broker-sig-2], id_token: {key: ftn-broker-sig-2}}\n    - {jwks: [ftn-broker-sig-1, ftn-broker-sig-2]}\n";
    let (broker, env) = start(yaml).await;
    let client = Client::new(&env);
    let kids = |j: Value| -> Vec<String> {
        j["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                assert_eq!(k["use"], "sig");
                assert!(k.get("d").is_none());
                k["kid"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    broker.start_login(1, "s1", None);
    assert_eq!(kids(client.jwks().await), ["ftn-broker-sig-1"]);
    let (resp, _) = login(&broker, &client, 2, json!({})).await;
    assert_eq!(kids(client.jwks().await), ["ftn-broker-sig-2"]);
    // The token of login 2 is signed with the rotated key and verifies against the new set.
    client.open(resp["id_token"].as_str().unwrap()).await;
    broker.start_login(3, "s3", None);
    assert_eq!(
        kids(client.jwks().await),
        ["ftn-broker-sig-1", "ftn-broker-sig-2"]
    );
    let ev = broker.evidence();
    assert_eq!(ev.count(eidconf::vector::BrokerEndpoint::BrokerJwks), 4);
    drop(broker);
}

#[tokio::test]
async fn userinfo_answers_in_the_registered_form() {
    // OP: plain JSON.
    let (broker, env) = start("broker: {profile: op}").await;
    let client = Client::new(&env);
    let (resp, _) = login(&broker, &client, 1, json!({})).await;
    let at = resp["access_token"].as_str().unwrap();
    let url = reg(&env).userinfo_endpoint.clone().unwrap();
    let r = client.http.get(&url).bearer_auth(at).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/json");
    let u: Value = r.json().await.unwrap();
    assert_eq!(u["personal_identity_code"], "131052-308T");
    assert_eq!(u["aud"], json!(CLIENT_ID));
    let r = client
        .http
        .get(&url)
        .bearer_auth("stolen")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let checks = broker.checks(&env);
    assert!(!check(&checks, "userinfo.bearer", 1).passed);
    drop(broker);

    // Idura: signed then encrypted, repeating the ID token's sub.
    let yaml =
        "broker:\n  profile: idura\n  logins:\n    - userinfo: {token: {claims: {extra: 1}}}\n";
    let (broker, env) = start(yaml).await;
    let client = Client::new(&env);
    let (resp, _) = login(&broker, &client, 1, json!({})).await;
    let (id, _) = client.open(resp["id_token"].as_str().unwrap()).await;
    let url = reg(&env).userinfo_endpoint.clone().unwrap();
    let at = resp["access_token"].as_str().unwrap();
    let r = client.http.get(&url).bearer_auth(at).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/jwt");
    let (u, header) = client.open(&r.text().await.unwrap()).await;
    assert_eq!(header.algorithm(), Some("RSA-OAEP-256"));
    assert_eq!(u["sub"], id["sub"]);
    assert_eq!(u["hetu"], "131052-308T");
    assert_eq!(u["extra"], 1);
    assert_eq!(
        broker.evidence().logins[0].userinfo_claims.as_ref(),
        Some(&u)
    );
    assert!(check(&broker.checks(&env), "userinfo.bearer", 1).passed);
    drop(broker);

    // `plain` whatever was registered, and a scripted answer.
    let yaml = "broker:\n  profile: signicat\n  logins:\n    - userinfo: {plain: true}\n    - userinfo: {response: {status: 500, body: {text: oops}}}\n";
    let (broker, env) = start(yaml).await;
    let client = Client::new(&env);
    let url = reg(&env).userinfo_endpoint.clone().unwrap();
    let (resp, _) = login(&broker, &client, 1, json!({})).await;
    let r = client
        .http
        .get(&url)
        .bearer_auth(resp["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["nin"], "131052-308T");
    let (resp, _) = login(&broker, &client, 2, json!({})).await;
    let r = client
        .http
        .get(&url)
        .bearer_auth(resp["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(r.text().await.unwrap(), "oops");
    drop(broker);
}

#[tokio::test]
async fn a_scripted_token_answer_replaces_the_token_response() {
    let yaml = "broker:\n  logins:\n    - token: {status: 503, body: {json: {error: temporarily_unavailable}}}\n";
    let (broker, env) = start(yaml).await;
    let client = Client::new(&env);
    broker.start_login(1, "s1", None);
    let (url, p) = client.authorization_url(json!({}));
    let code = query(&broker.authorize(&url, 1).unwrap())["code"].clone();
    let r = client.token(&code, &p.verifier).await;
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "temporarily_unavailable"
    );
    assert!(broker.evidence().logins[0].id_token_claims.is_none());
    drop(broker);

    let bad: ProviderSpec =
        serde_saphyr::from_str("broker:\n  logins:\n    - token: {body: reference}\n").unwrap();
    let ctx = BrokerContext {
        pki: pki(),
        client_id: CLIENT_ID.into(),
        redirect_uri: REDIRECT_URI.into(),
        acr_values: vec![LOA2.into()],
        signing_alg_values: vec!["RS256".into()],
        broker_jwk: Default::default(),
    };
    assert!(
        BrokerMock::start(&bad, ctx).await.is_err(),
        "a Freja body is a spec error"
    );
}

#[tokio::test]
async fn checks_fail_for_a_bad_request_object() {
    let yaml = "broker:\n  logins: [{}, {}, {}, {}]\n";
    let (broker, env) = start(yaml).await;
    let client = Client::new(&env);
    login(
        &broker,
        &client,
        1,
        json!({"aud": "https://other.example/", "jti": "same-jti"}),
    )
    .await;
    login(
        &broker,
        &client,
        2,
        json!({"nonce": "short-nonce", "jti": "same-jti"}),
    )
    .await;
    // PKCE plain: the challenge is the verifier itself.
    broker.start_login(3, "s3", None);
    let (url, p) = client.authorization_url(json!({"code_challenge_method": "plain"}));
    let code = query(&broker.authorize(&url, 3).unwrap())["code"].clone();
    client.token(&code, &p.verifier).await;
    // Signed with the encryption key, and extra parameters in the clear.
    broker.start_login(4, "s4", None);
    let (url, _) = client.authorization_url(json!({"kid_is_ignored": true}));
    let forged = url.replace("request=", "login_hint=131052-308T&request=");
    broker.authorize(&forged, 4).unwrap();

    let checks = broker.checks(&env);
    assert!(!check(&checks, "request_object.aud", 1).passed);
    assert!(check(&checks, "request_object.jti", 1).passed);
    assert!(check(&checks, "request_object.nonce", 1).passed);
    assert!(!check(&checks, "request_object.nonce", 2).passed);
    assert!(
        !check(&checks, "request_object.jti", 2).passed,
        "a reused jti"
    );
    assert!(check(&checks, "request_object.aud", 2).passed);
    assert!(!check(&checks, "pkce.s256", 3).passed);
    assert!(check(&checks, "pkce.s256", 2).passed);
    let p4 = check(&checks, "authorization.parameters", 4);
    assert!(!p4.passed && p4.detail.contains("login_hint"), "{p4:?}");
    assert!(check(&checks, "request_object.signed", 4).passed);
    drop(broker);
}

#[tokio::test]
async fn a_request_object_signed_with_another_key_fails_the_signature_check() {
    let (broker, env) = start("{}").await;
    let mut client = Client::new(&env);
    client.sig_pem = pem(&pki(), "ftn-rp-enc-1");
    broker.start_login(1, "s1", None);
    let (url, _) = client.authorization_url(json!({}));
    broker.authorize(&url, 1).unwrap();
    let c = check(&broker.checks(&env), "request_object.signed", 1).clone();
    assert!(!c.passed && c.detail.contains("does not verify"), "{c:?}");
    // Garbage: recorded, the user still comes back, the checks fail.
    broker.start_login(2, "s2", None);
    let cb = broker
        .authorize(
            &format!("{}?request=%00garbage", reg(&env).authorization_endpoint),
            2,
        )
        .unwrap();
    assert!(cb.starts_with(REDIRECT_URI));
    assert!(!check(&broker.checks(&env), "request_object.signed", 2).passed);
    // Not loopback: recorded, not carried.
    broker.start_login(3, "s3", None);
    assert!(
        broker
            .authorize(
                "https://tunnistus.telia.fi/uas/oauth2/authorization?request=x",
                3
            )
            .is_err()
    );
    assert!(!check(&broker.checks(&env), "authorization.endpoint", 3).passed);
    drop(broker);
}

// ---------------------------------------------------------------------------------------------
// The orchestration, with the client above as an in-process RP.

struct TestRp {
    sessions: Mutex<HashMap<String, Pending>>,
    /// Answer `rp.keys` with this JWKS.
    jwks: Value,
}

impl TestRp {
    fn new() -> TestRp {
        TestRp {
            sessions: Mutex::default(),
            jwks: json!({"keys": []}),
        }
    }
}

#[async_trait]
impl RelyingParty for TestRp {
    fn describe(&self) -> RpDescription {
        RpDescription {
            name: "ftn-broker-test-rp".into(),
            version: "0".into(),
            operations: vec![
                "oidc.begin_login".into(),
                "oidc.finish_login".into(),
                "rp.keys".into(),
            ],
        }
    }

    async fn perform(&self, env: &Environment, op: Operation) -> Result<Outcome, AdapterError> {
        Ok(self.outcome(env, op).await)
    }
}

impl TestRp {
    async fn outcome(&self, env: &Environment, op: Operation) -> Outcome {
        let oidc = env.oidc.as_ref().unwrap();
        match op {
            Operation::RpKeys(_) => Outcome::Accepted {
                identity: BTreeMap::new(),
                authorization_url: None,
                jwks: Some(self.jwks.clone()),
                public_keys: None,
            },
            Operation::OidcBeginLogin(b) => {
                let (url, p) = Client::new(oidc).authorization_url(json!({}));
                self.sessions.lock().unwrap().insert(b.session, p);
                Outcome::Accepted {
                    identity: BTreeMap::new(),
                    authorization_url: Some(url),
                    jwks: None,
                    public_keys: None,
                }
            }
            Operation::OidcFinishLogin(f) => {
                let refuse = |m: &str| {
                    Outcome::Rejected(
                        eidconf::adapter::Rejection::new(eidconf::adapter::Reason::ClaimsInvalid)
                            .detail(m),
                    )
                };
                // One use per session: a replay finds nothing.
                let Some(p) = self.sessions.lock().unwrap().remove(&f.session) else {
                    return refuse("unknown session");
                };
                let q = query(&f.callback_url);
                if q.get("state") != Some(&p.state) {
                    return refuse("state");
                }
                let Some(code) = q.get("code") else {
                    return refuse("no code");
                };
                let client = Client::new(oidc);
                let resp: Value = client.token(code, &p.verifier).await.json().await.unwrap();
                let (claims, _) = client.open(resp["id_token"].as_str().unwrap()).await;
                if claims.get("nonce") != Some(&json!(p.nonce)) {
                    return refuse("nonce");
                }
                Outcome::accepted(claims.into_iter().collect())
            }
            _ => Outcome::Unsupported,
        }
    }
}

fn vector(yaml_body: &str) -> eidconf::vector::Vector {
    let text = format!(
        "vectors:\n  - id: ftn.flow.test\n    title: t\n    requirements: [R]\n    severity: low\n{yaml_body}"
    );
    parse(&text)
}

fn parse(text: &str) -> eidconf::vector::Vector {
    eidconf::vector::load::parse_file(Path::new("t.yaml"), text)
        .expect("parses")
        .remove(0)
}

#[tokio::test]
async fn finish_login_plays_every_login_and_judges_the_last() {
    let rp: Arc<dyn RelyingParty> = Arc::new(TestRp::new());
    let v = vector(
        "    operation: {op: oidc.finish_login}\n    provider:\n      broker:\n        profile: op\n        logins: [{}, {callback: {replay: true}}]\n    expect: {verdict: rejected}\n",
    );
    let exec = eidconf::run::execute(rp, &v, &pki(), Duration::from_secs(20)).await;
    let outcome = exec.outcome.expect("an outcome");
    assert!(matches!(outcome, Outcome::Rejected(_)), "{outcome:?}");
    let obs = exec.observations.unwrap();
    let ev = obs.broker.as_ref().unwrap();
    assert_eq!(ev.logins.len(), 2);
    assert_eq!(
        ev.logins[0].outcome.as_ref().unwrap()["verdict"],
        "accepted"
    );
    assert_eq!(
        ev.logins[1].outcome.as_ref().unwrap()["verdict"],
        "rejected"
    );
    assert_eq!(ev.logins[1].session, ev.logins[0].session);
    assert_eq!(ev.logins[1].callback_url, ev.logins[0].callback_url);
    assert!(ev.logins[0].session.starts_with("ftn.flow.test#1-"));
    use eidconf::vector::BrokerEndpoint::*;
    assert_eq!(ev.count(BrokerAuthorize), 1);
    assert_eq!(ev.count(BrokerToken), 1);
    assert!(failed(&obs.checks).is_empty(), "{:#?}", failed(&obs.checks));
    let env = exec.environment.unwrap();
    assert_eq!(
        env.oidc.unwrap().broker.unwrap().scope,
        vec!["openid".to_owned(), "personal_identity_code".to_owned()]
    );

    // The happy path: accepted, with the identity the broker signed.
    let rp: Arc<dyn RelyingParty> = Arc::new(TestRp::new());
    let v = vector("    operation: {op: oidc.finish_login}\n    expect: {verdict: accepted}\n");
    let exec = eidconf::run::execute(rp, &v, &pki(), Duration::from_secs(20)).await;
    let Ok(Outcome::Accepted { identity, .. }) = &exec.outcome else {
        panic!("{:?}", exec.outcome);
    };
    let obs = exec.observations.as_ref().unwrap();
    let signed = obs.broker.as_ref().unwrap().logins[0]
        .id_token_claims
        .clone()
        .unwrap();
    assert_eq!(
        identity.get("urn:oid:1.2.246.21"),
        signed.get("urn:oid:1.2.246.21")
    );
    assert!(failed(&obs.checks).is_empty());
}

#[tokio::test]
async fn begin_login_is_judged_on_its_own_outcome_with_the_checks_made() {
    let rp: Arc<dyn RelyingParty> = Arc::new(TestRp::new());
    let v = vector(
        "    operation: {op: oidc.begin_login}\n    environment: {oidc: {acr_values: [\"http://ftn.ficora.fi/2017/loatest2\"]}}\n    expect: {verdict: accepted}\n",
    );
    let exec = eidconf::run::execute(rp, &v, &pki(), Duration::from_secs(20)).await;
    assert!(matches!(
        exec.outcome,
        Ok(Outcome::Accepted {
            authorization_url: Some(_),
            ..
        })
    ));
    let obs = exec.observations.unwrap();
    let ev = obs.broker.unwrap();
    assert_eq!(
        ev.count(eidconf::vector::BrokerEndpoint::BrokerAuthorize),
        1
    );
    assert_eq!(ev.count(eidconf::vector::BrokerEndpoint::BrokerToken), 0);
    assert!(check(&obs.checks, "request_object.acr_values", 1).passed);
    assert!(!obs.checks.iter().any(|c| c.id.starts_with("token_request")));
}

#[tokio::test]
async fn rp_keys_runs_the_jwks_checks_on_what_the_rp_publishes() {
    let pki = pki();
    let jwk = |name: &str, use_: &str| {
        eidconf::forge::id_token::public_jwk(pki.get(name).unwrap(), use_).unwrap()
    };
    let mut leaky = jwk("ftn-rp-enc-1", "enc");
    leaky["d"] = json!("AQAB");
    let rp = TestRp {
        sessions: Mutex::default(),
        jwks: json!({"keys": [jwk("ftn-rp-sig", "sig"), leaky]}),
    };
    let v = vector("    operation: {op: rp.keys}\n    expect: {verdict: accepted}\n");
    let exec = eidconf::run::execute(Arc::new(rp), &v, &pki, Duration::from_secs(20)).await;
    let checks = exec.observations.unwrap().checks;
    let by_id = |id: &str| checks.iter().find(|c| c.id == id).unwrap().passed;
    assert!(!by_id("jwks.public_only"));
    assert!(by_id("jwks.key_size"));
    assert!(by_id("jwks.use_separation"));
    assert!(by_id("jwks.kid"));
}

/// A broker that publishes several algorithms: discovery lists them, and the JWKS carries each
/// key's JWK with the members the vector merged over it (an EC key, a key without alg).
#[tokio::test]
async fn discovery_and_jwks_publish_several_algorithms_and_per_key_members() {
    let spec: ProviderSpec = serde_saphyr::from_str(
        "broker:\n  logins:\n    - {jwks: [ftn-broker-sig-1, ftn-broker-ec-1]}\n",
    )
    .unwrap();
    let mut broker_jwk = std::collections::BTreeMap::new();
    broker_jwk.insert(
        "ftn-broker-sig-1".to_owned(),
        json!({"alg": null, "key_ops": ["verify"]})
            .as_object()
            .unwrap()
            .clone(),
    );
    let ctx = BrokerContext {
        pki: pki(),
        client_id: CLIENT_ID.into(),
        redirect_uri: REDIRECT_URI.into(),
        acr_values: vec![LOA2.into()],
        signing_alg_values: vec!["RS256".into(), "ES256".into()],
        broker_jwk: broker_jwk.clone(),
    };
    let broker = BrokerMock::start(&spec, ctx).await.expect("broker starts");
    let env = broker.environment(&EnvironmentSpec::default()).unwrap();
    let client = Client::new(&env);
    let d: Value = client.discovery().await;
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256"])
    );
    broker.start_login(1, "s1", None);
    let jwks = client.jwks().await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys[0]["kid"], "ftn-broker-sig-1");
    assert!(keys[0].get("alg").is_none());
    assert_eq!(keys[0]["key_ops"], json!(["verify"]));
    assert_eq!(keys[1]["kty"], "EC");
    assert_eq!(keys[1]["crv"], "P-256");
    assert_eq!(keys[1]["alg"], "ES256");
    drop(broker);

    // A member override for a key no login publishes is a spec error.
    broker_jwk.insert("ftn-broker-sig-2".to_owned(), Map::new());
    let ctx = BrokerContext {
        pki: pki(),
        client_id: CLIENT_ID.into(),
        redirect_uri: REDIRECT_URI.into(),
        acr_values: vec![LOA2.into()],
        signing_alg_values: vec!["RS256".into()],
        broker_jwk,
    };
    assert!(BrokerMock::start(&spec, ctx).await.is_err());
}
