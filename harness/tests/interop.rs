//! Tokens built by other JOSE implementations (josekit, jsonwebtoken), in forms the standards
//! allow but eidconf's own forge never makes: the reference RP must accept each one, or the
//! vector set must allow its refusal (`either` or a HARDENING requirement). This is how eidconf
//! keeps its reference from growing preferences that a correct RP, built on another library,
//! would fail.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use eidconf::adapter::{Environment, FrejaVerifyDetails, IdTokenRequest, Operation, Outcome};
use eidconf::forge::id_token::{
    self, DEFAULT_ACR, DEFAULT_CLIENT_ID, DEFAULT_NONCE, TokenContext, TokenRecipe,
};
use eidconf::pki::Pki;
use eidconf::provider::{FrejaMock, FrejaUser, MockContext};
use eidconf::reference::ReferenceRp;
use eidconf::vector::model::{EnvironmentSpec, ProviderSpec};
use eidconf::vector::{Corpus, ExpectedVerdict};
use serde_json::{Map, Value, json};

fn root() -> std::path::PathBuf {
    eidconf::default_corpus_root()
}

fn pki() -> Pki {
    Pki::load(&root().join("vectors/keys")).expect("keys load")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact JWS over these exact header and payload bytes, signed RS256 by josekit.
fn josekit_jws(header: &str, payload: &str, key_pem: &str) -> String {
    let signer = josekit::jws::RS256.signer_from_pem(key_pem).unwrap();
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let signature = josekit::jws::JwsSigner::sign(&signer, input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&signature))
}

/// The inner JWS encrypted by josekit to the RP's `ftn-rp-enc-1`, with these header members
/// (in this order).
fn josekit_jwe(jws: &str, header: &[(&str, &str)], pki: &Pki) -> String {
    let jwk = id_token::public_jwk(pki.get("ftn-rp-enc-1").unwrap(), "enc").unwrap();
    let mut jwk = jwk.as_object().unwrap().clone();
    jwk.remove("alg"); // the key serves both RSA-OAEP and RSA-OAEP-256 here
    let jwk = josekit::jwk::Jwk::from_map(jwk).unwrap();
    let alg = header.iter().find(|(k, _)| *k == "alg").unwrap().1;
    let mut h = josekit::jwe::JweHeader::new();
    for (k, v) in header {
        h.set_claim(k, Some(Value::String((*v).to_owned())))
            .unwrap();
    }
    let encrypter: Box<dyn josekit::jwe::JweEncrypter> = match alg {
        "RSA-OAEP" => Box::new(josekit::jwe::RSA_OAEP.encrypter_from_jwk(&jwk).unwrap()),
        _ => Box::new(josekit::jwe::RSA_OAEP_256.encrypter_from_jwk(&jwk).unwrap()),
    };
    josekit::jwe::serialize_compact(jws.as_bytes(), &h, &*encrypter).unwrap()
}

/// The claims of a valid FTN ID token, as the forge's defaults make them (times fresh).
fn base_claims(pki: &Pki) -> Map<String, Value> {
    id_token::build(&TokenRecipe::default(), pki, &TokenContext::now())
        .unwrap()
        .claims
}

async fn validate(token: String, pki: &Pki) -> Outcome {
    let mut req = {
        let mut x = IdTokenRequest::default();
        x.id_token = token;
        x.nonce = Some(DEFAULT_NONCE.into());
        x.acr_values = vec![DEFAULT_ACR.into()];
        x
    };
    let text = "vectors:\n  - id: ftn.interop.x\n    title: t\n    requirements: [R]\n    severity: low\n    operation: {op: oidc.validate_id_token}\n    expect: {verdict: accepted}\n";
    let spec = eidconf::vector::load::parse_file(Path::new("t.yaml"), text)
        .unwrap()
        .remove(0)
        .spec;
    let oidc = eidconf::provider::ftn::stand_up(&spec, pki, &mut req).unwrap();
    let env = {
        let mut x = Environment::default();
        x.vector_id = "ftn.interop".into();
        x.oidc = Some(oidc);
        x
    };
    ReferenceRp::new(&[])
        .perform(&env, Operation::OidcValidateIdToken(req))
        .await
}

fn identity(o: &Outcome) -> &std::collections::BTreeMap<String, Value> {
    match o {
        Outcome::Accepted { identity, .. } => identity,
        other => panic!("expected acceptance, got {other:?}"),
    }
}

#[tokio::test]
async fn id_tokens_in_every_form_the_standards_allow_are_accepted() {
    let pki = pki();
    let broker_pem = pki.get("ftn-broker-sig-1").unwrap().key_pem.clone();
    let n = now();
    let claims = base_claims(&pki);
    let with = |changes: &[(&str, Value)]| {
        let mut c = claims.clone();
        for (k, v) in changes {
            c.insert((*k).to_owned(), v.clone());
        }
        Value::Object(c).to_string()
    };
    let exp_exponent = {
        // The same instant, spelled with an exponent: 1795000600 → 1.795000600e9.
        let s = (n + 600).to_string();
        format!("{}.{}e{}", &s[..1], &s[1..], s.len() - 1)
    };
    let kid_first = r#"{"kid":"ftn-broker-sig-1","alg":"RS256"}"#;
    // (what, JWS header, JWS payload, JWE header members in order)
    type Case<'a> = (&'a str, String, String, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        (
            "exp and iat with fractions (RFC 7519 §2)",
            kid_first.into(),
            with(&[
                ("exp", json!(n as f64 + 600.5)),
                ("iat", json!(n as f64 - 0.25)),
            ]),
            vec![
                ("alg", "RSA-OAEP"),
                ("enc", "A128CBC-HS256"),
                ("kid", "ftn-rp-enc-1"),
                ("cty", "JWT"),
            ],
        ),
        (
            "exp spelled with an exponent",
            kid_first.into(),
            with(&[]).replacen(
                &format!("\"exp\":{}", claims["exp"]),
                &format!("\"exp\":{exp_exponent}"),
                1,
            ),
            vec![
                ("alg", "RSA-OAEP"),
                ("enc", "A128GCM"),
                ("kid", "ftn-rp-enc-1"),
                ("cty", "JWT"),
            ],
        ),
        (
            "header members in another order, typ present, cty absent",
            r#"{"typ":"JWT","alg":"RS256","kid":"ftn-broker-sig-1"}"#.into(),
            with(&[]),
            vec![
                ("kid", "ftn-rp-enc-1"),
                ("enc", "A256GCM"),
                ("alg", "RSA-OAEP-256"),
            ],
        ),
        (
            "optional claims present: auth_time as a fraction, nbf, azp, at_hash",
            kid_first.into(),
            with(&[
                ("auth_time", json!(n as f64 - 30.75)),
                ("nbf", json!(n - 5)),
                ("azp", json!(DEFAULT_CLIENT_ID)),
                ("at_hash", json!("77QmUPtjPfzWtF2AnpK9RQ")),
            ]),
            vec![
                ("alg", "RSA-OAEP-256"),
                ("enc", "A128CBC-HS256"),
                ("kid", "ftn-rp-enc-1"),
            ],
        ),
        (
            "aud as an array holding only this client",
            kid_first.into(),
            with(&[("aud", json!([DEFAULT_CLIENT_ID]))]),
            vec![
                ("alg", "RSA-OAEP"),
                ("enc", "A128CBC-HS256"),
                ("kid", "ftn-rp-enc-1"),
            ],
        ),
    ];
    for (what, header, payload, jwe_header) in cases {
        let jws = josekit_jws(&header, &payload, &broker_pem);
        let token = josekit_jwe(&jws, &jwe_header, &pki);
        let out = validate(token, &pki).await;
        let got = identity(&out);
        let signed: Map<String, Value> = serde_json::from_str(&payload).unwrap();
        for (k, v) in &signed {
            let same = match (got.get(k), v) {
                (Some(Value::Number(a)), Value::Number(b)) => a.as_f64() == b.as_f64(),
                (a, b) => a == Some(b),
            };
            assert!(same, "{what}: `{k}` is {:?}, signed {v}", got.get(k));
        }
    }
}

#[tokio::test]
async fn an_id_token_signed_by_jsonwebtoken_is_accepted() {
    let pki = pki();
    let n = now();
    let mut claims = base_claims(&pki);
    claims.insert("exp".into(), json!(n as f64 + 120.125));
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("ftn-broker-sig-1".into());
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(
        pki.get("ftn-broker-sig-1").unwrap().key_pem.as_bytes(),
    )
    .unwrap();
    let jws = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    let token = josekit_jwe(
        &jws,
        &[
            ("alg", "RSA-OAEP"),
            ("enc", "A128CBC-HS256"),
            ("kid", "ftn-rp-enc-1"),
            ("cty", "JWT"),
        ],
        &pki,
    );
    let out = validate(token, &pki).await;
    assert_eq!(identity(&out).get("sub"), claims.get("sub"));
}

/// RFC 7519 §4 lets a recipient refuse duplicate claim names or keep the last one. The reference
/// refuses; the vectors must therefore accept either reading, never demand the refusal.
#[tokio::test]
async fn duplicate_claims_with_the_valid_value_last_are_refused_and_the_vectors_allow_both() {
    let pki = pki();
    let claims = base_claims(&pki);
    let payload = Value::Object(claims.clone()).to_string();
    let sub = claims["sub"].as_str().unwrap();
    let payload = payload.replacen('{', "{\"sub\":\"SOMEONE-ELSE\",", 1);
    assert!(payload.ends_with('}') && payload.contains(sub));
    let jws = josekit_jws(
        r#"{"alg":"RS256","kid":"ftn-broker-sig-1"}"#,
        &payload,
        &pki.get("ftn-broker-sig-1").unwrap().key_pem,
    );
    let token = josekit_jwe(
        &jws,
        &[
            ("alg", "RSA-OAEP"),
            ("enc", "A128CBC-HS256"),
            ("kid", "ftn-rp-enc-1"),
        ],
        &pki,
    );
    let out = validate(token, &pki).await;
    assert!(matches!(out, Outcome::Rejected(_)), "{out:?}");
    let corpus = Corpus::load(&root()).unwrap();
    let duplicates: Vec<_> = corpus
        .vectors
        .iter()
        .filter(|v| v.spec.tags.iter().any(|t| t == "duplicate"))
        .filter(|v| v.spec.expect.verdict == ExpectedVerdict::Rejected)
        .map(|v| v.id().to_owned())
        .collect();
    // Only the header x5t case is refused by both readings (the last x5t names no key).
    assert_eq!(duplicates, ["freja.jws.duplicate-header-x5t"]);
}

/// Freja `details` built by josekit with the header members in the other order, and with
/// jsonwebtoken (which adds `typ`): the reference verifies both for the mock's reference.
#[tokio::test]
async fn freja_details_built_by_other_libraries_are_accepted() {
    let pki = pki();
    let op = Operation::FrejaVerifyDetails({
        let mut x = FrejaVerifyDetails::default();
        x.sign = false;
        x.reference = String::new();
        x.details = String::new();
        x
    });
    let ctx = MockContext {
        pki: pki.clone(),
        vector_id: "freja.interop".into(),
        user: FrejaUser::from_operation(&op).unwrap(),
    };
    let mock = FrejaMock::start(&ProviderSpec::default(), ctx)
        .await
        .unwrap();
    let (genuine, reference) = mock.details_token(false).unwrap();
    let payload = URL_SAFE_NO_PAD
        .decode(genuine.split('.').nth(1).unwrap())
        .unwrap();
    let payload = String::from_utf8(payload).unwrap();
    let cred = pki.get("freja-jws-current").unwrap();
    let x5t = cred.x5t();
    let by_josekit = josekit_jws(
        &format!(r#"{{"alg":"RS256","x5t":"{x5t}"}}"#),
        &payload,
        &cred.key_pem,
    );
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.x5t = Some(x5t.clone());
    let claims: Value = serde_json::from_str(&payload).unwrap();
    let by_jsonwebtoken = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(cred.key_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    let env = {
        let mut x = Environment::default();
        x.vector_id = "freja.interop".into();
        x.freja = Some(mock.environment(&EnvironmentSpec::default()).unwrap());
        x
    };
    for (what, details) in [("josekit", by_josekit), ("jsonwebtoken", by_jsonwebtoken)] {
        let op = Operation::FrejaVerifyDetails({
            let mut x = FrejaVerifyDetails::default();
            x.sign = false;
            x.reference = reference.clone();
            x.details = details;
            x
        });
        let out = ReferenceRp::new(&[]).perform(&env, op).await;
        assert_eq!(
            identity(&out).get("userInfo"),
            claims.get("userInfo"),
            "{what}: {out:?}"
        );
    }
    drop(mock);
}

/// The forge's ES256, PS256 and RS512 signatures and its ECDH-ES key agreement, checked by
/// josekit: the forge and the reference RP share `jwe::ecdh_es_cek`, so only an independent
/// implementation shows that both follow RFC 7518 §4.6 (and §3.4's r || s).
#[test]
fn forged_es256_ps256_rs512_and_ecdh_es_tokens_open_under_josekit() {
    use josekit::jws::JwsVerifier;
    let pki = pki();
    let recipe = |yaml: &str| -> TokenRecipe { serde_saphyr::from_str(yaml).unwrap() };
    for (alg, key) in [
        ("ES256", "ftn-broker-ec-1"),
        ("PS256", "ftn-broker-sig-2"),
        ("RS512", "ftn-broker-sig-3"),
    ] {
        let r = recipe(&format!(
            "{{key: {key}, alg: {alg}, mutations: [unencrypted]}}"
        ));
        let jws = id_token::build(&r, &pki, &TokenContext::now())
            .unwrap()
            .token;
        let mut jwk = id_token::public_jwk(pki.get(key).unwrap(), "sig").unwrap();
        jwk["alg"] = json!(alg);
        let jwk = josekit::jwk::Jwk::from_map(jwk.as_object().unwrap().clone()).unwrap();
        let verifier: Box<dyn JwsVerifier> = match alg {
            "ES256" => Box::new(josekit::jws::ES256.verifier_from_jwk(&jwk).unwrap()),
            "PS256" => Box::new(josekit::jws::PS256.verifier_from_jwk(&jwk).unwrap()),
            _ => Box::new(josekit::jws::RS512.verifier_from_jwk(&jwk).unwrap()),
        };
        let (payload, _) = josekit::jws::deserialize_compact(&jws, &*verifier)
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        let claims: Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(claims["nonce"], json!(DEFAULT_NONCE), "{alg}");
    }
    // ECDH-ES (direct) to the RP's EC key, for each content encryption.
    for enc in ["A128CBC-HS256", "A128GCM", "A256GCM"] {
        let r = recipe(&format!(
            "{{encryption: {{key: ftn-rp-enc-ec, alg: ECDH-ES, enc: {enc}}}}}"
        ));
        let token = id_token::build(&r, &pki, &TokenContext::now())
            .unwrap()
            .token;
        let decrypter = josekit::jwe::ECDH_ES
            .decrypter_from_pem(pki.get("ftn-rp-enc-ec").unwrap().key_pem.as_bytes())
            .unwrap();
        let (inner, header) = josekit::jwe::deserialize_compact(&token, &decrypter)
            .unwrap_or_else(|e| panic!("ECDH-ES {enc}: {e}"));
        assert_eq!(header.content_encryption(), Some(enc));
        assert_eq!(
            String::from_utf8(inner).unwrap().split('.').count(),
            3,
            "{enc}"
        );
    }
}
