//! The Freja wire end to end: the mock provider against the reference RP, and every deliberate
//! fault of the reference RP caught by some scenario.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use eidconf::adapter::{
    Environment, FrejaRequest, FrejaSignRequest, Operation, Outcome, Reason, Rejection,
    RelyingParty, UserInfoType,
};
use eidconf::pki::Pki;
use eidconf::provider::{
    BodyEncoding, FrejaMock, FrejaUser, MockContext, Observations, decode_request_body,
    ensure_loopback, reference_for,
};
use eidconf::reference::{Fault, ReferenceRp};
use eidconf::vector::model::{EnvironmentSpec, FrejaCall, FrejaEndpoint, ProviderSpec};
use serde_json::{Value, json};

const VECTOR: &str = "freja.wire.test";

fn pki() -> Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        Pki::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/keys")).expect("test PKI")
    })
    .clone()
}

fn email_auth() -> Operation {
    Operation::FrejaAuthenticate({
        let mut x = FrejaRequest::new(UserInfoType::Email, "asa.oberg@example.se");
        x.attributes_to_return = vec!["BASIC_USER_INFO".into(), "EMAIL_ADDRESS".into()];
        x
    })
}

fn ssn_auth() -> Operation {
    Operation::FrejaAuthenticate({
        let mut x = FrejaRequest::new(UserInfoType::Ssn, "195210131234");
        x.country = Some("SE".into());
        x.min_registration_level = Some("EXTENDED".into());
        x
    })
}

fn sign_op() -> Operation {
    Operation::FrejaSign({
        let mut x = FrejaSignRequest::new(
            UserInfoType::Email,
            "asa.oberg@example.se",
            "Jag godkänner avtalet",
        );
        x.title = Some("Avtal".into());
        x
    })
}

fn default_attributes() -> Value {
    json!({
        "basicUserInfo": { "name": "Åsa", "surname": "Öberg-Ängström" },
        "emailAddress": "asa.oberg@example.se",
    })
}

/// What one run produced. `outcome` is `None` when the RP panicked.
struct Run {
    outcome: Option<Outcome>,
    obs: Observations,
}

impl Run {
    fn outcome(&self) -> &Outcome {
        self.outcome.as_ref().expect("the RP panicked")
    }

    fn rejection(&self) -> &Rejection {
        match self.outcome() {
            Outcome::Rejected(r) => r,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    fn reason(&self) -> Reason {
        self.rejection().reason
    }

    fn identity(&self) -> &BTreeMap<String, Value> {
        match self.outcome() {
            Outcome::Accepted { identity, .. } => identity,
            other => panic!("expected acceptance, got {other:?}"),
        }
    }

    fn accepted(&self) -> bool {
        matches!(self.outcome, Some(Outcome::Accepted { .. }))
    }
}

fn provider(yaml: &str) -> ProviderSpec {
    if yaml.trim().is_empty() {
        ProviderSpec::default()
    } else {
        serde_saphyr::from_str(yaml).expect("provider yaml")
    }
}

fn environment(yaml: &str) -> EnvironmentSpec {
    if yaml.trim().is_empty() {
        EnvironmentSpec::default()
    } else {
        serde_saphyr::from_str(yaml).expect("env yaml")
    }
}

async fn start(provider_yaml: &str, op: &Operation) -> FrejaMock {
    let user = FrejaUser::from_operation(op).expect("a Freja operation");
    let ctx = MockContext {
        pki: pki(),
        vector_id: VECTOR.into(),
        user,
    };
    FrejaMock::start(&provider(provider_yaml), ctx)
        .await
        .expect("mock starts")
}

async fn run_rp(faults: &[Fault], provider_yaml: &str, env_yaml: &str, op: Operation) -> Run {
    let mock = start(provider_yaml, &op).await;
    let env = {
        let mut x = Environment::default();
        x.vector_id = VECTOR.into();
        x.freja = Some(
            mock.environment(&environment(env_yaml))
                .expect("environment"),
        );
        x
    };
    let rp = ReferenceRp::new(faults);
    // A panicking RP must not take the test down: run it as a task.
    let outcome = tokio::spawn(async move { rp.perform(&env, op).await })
        .await
        .ok();
    let obs = mock.observations().await;
    drop(mock);
    Run { outcome, obs }
}

async fn run(provider_yaml: &str, env_yaml: &str, op: Operation) -> Run {
    run_rp(&[], provider_yaml, env_yaml, op).await
}

/// A reqwest client with the RP's identity, for sending hand-made bodies.
fn raw_client(env: &eidconf::adapter::FrejaEnvironment) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(env.trust_anchors_pem[0].as_bytes()).unwrap();
    let id = reqwest::Identity::from_pem(
        format!("{}\n{}", env.client_certificate_pem, env.client_key_pem).as_bytes(),
    )
    .unwrap();
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .identity(id)
        .no_proxy()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Correct RP against the mock

#[tokio::test]
async fn happy_path_authentication() {
    let r = run("", "", email_auth()).await;
    let identity = r.identity();
    assert_eq!(identity["userInfoType"], json!("EMAIL"));
    assert_eq!(identity["userInfo"], json!("asa.oberg@example.se"));
    assert_eq!(identity["requestedAttributes"], default_attributes());
    assert_eq!(identity.len(), 3);
    assert_eq!(r.obs.count(FrejaEndpoint::AuthInit), 1);
    assert_eq!(r.obs.count(FrejaEndpoint::AuthGetOneResult), 1);
    let init = &r.obs.requests[0];
    assert_eq!(init.method, "POST");
    assert_eq!(init.param.as_deref(), Some("initAuthRequest"));
    assert_eq!(init.encoding, BodyEncoding::RawBase64);
    assert_eq!(init.client_certificate.as_deref(), Some("rp-client"));
    assert_eq!(init.response_status, 200);
    let json = init.request_json.as_ref().unwrap();
    assert_eq!(json["userInfoType"], "EMAIL");
    // No level was given, and BASIC_USER_INFO needs EXTENDED.
    assert_eq!(json["minRegistrationLevel"], "EXTENDED");
    assert_eq!(
        json["attributesToReturn"],
        json!([{"attribute": "BASIC_USER_INFO"}, {"attribute": "EMAIL_ADDRESS"}])
    );
    let poll = &r.obs.requests[1];
    assert_eq!(
        poll.request_json,
        Some(json!({ "authRef": reference_for(VECTOR) }))
    );
    assert!(r.obs.tls_failures.is_empty(), "{:?}", r.obs.tls_failures);
}

#[tokio::test]
async fn happy_path_signature() {
    let r = run("", "", sign_op()).await;
    assert_eq!(r.identity()["requestedAttributes"], default_attributes());
    assert_eq!(r.obs.count(FrejaEndpoint::SignInit), 1);
    assert_eq!(r.obs.count(FrejaEndpoint::SignGetOneResult), 1);
    assert_eq!(r.obs.count(FrejaEndpoint::AuthInit), 0);
    let init = r.obs.requests[0].request_json.as_ref().unwrap();
    assert_eq!(init["dataToSignType"], "SIMPLE_UTF8_TEXT");
    assert_eq!(init["signatureType"], "SIMPLE");
    assert_eq!(init["title"], "Avtal");
    assert_eq!(
        init["dataToSign"]["text"],
        STANDARD.encode("Jag godkänner avtalet")
    );
    assert_eq!(
        r.obs.requests[1].request_json,
        Some(json!({ "signRef": reference_for(VECTOR) }))
    );
}

#[tokio::test]
async fn ssn_is_sent_as_base64_json_and_signed_as_a_json_string() {
    let r = run("", "", ssn_auth()).await;
    let sent = r.obs.requests[0].request_json.as_ref().unwrap()["userInfo"]
        .as_str()
        .unwrap()
        .to_owned();
    let decoded: Value = serde_json::from_slice(&STANDARD.decode(sent).unwrap()).unwrap();
    assert_eq!(decoded, json!({"country": "SE", "ssn": "195210131234"}));
    assert_eq!(
        r.identity()["userInfo"],
        json!(r#"{"country":"SE","ssn":"195210131234"}"#)
    );
    assert_eq!(r.identity()["userInfoType"], json!("SSN"));
}

#[tokio::test]
async fn scripted_answers_are_used_in_order_and_the_last_repeats() {
    let r = run(
        "freja:\n  auth_get_one_result:\n    - body: {result: {status: STARTED}}\n    - body: {result: {status: DELIVERED_TO_MOBILE}}\n    - body: {result: {status: APPROVED}}\n",
        "",
        email_auth(),
    )
    .await;
    assert!(r.accepted(), "{:?}", r.outcome);
    assert_eq!(r.obs.count(FrejaEndpoint::AuthGetOneResult), 3);
}

#[tokio::test]
async fn raw_and_percent_encoded_requests_are_both_decoded() {
    let op = email_auth();
    let mock = start("", &op).await;
    let env = mock.environment(&EnvironmentSpec::default()).unwrap();
    let client = raw_client(&env);
    // Pad until the Base64 holds `+`, `/` and `=`: the characters a form decoder would mangle.
    let (json, b64) = (0..30)
        .map(|i| {
            let j = json!({"userInfoType": "EMAIL", "userInfo": format!("{}~~~???@example.se", "a".repeat(i))});
            let b = STANDARD.encode(j.to_string());
            (j, b)
        })
        .find(|(_, b)| b.contains('+') && b.contains('/') && b.ends_with('='))
        .unwrap();
    let url = format!("{}{}", mock.base_url(), FrejaEndpoint::AuthInit.path());
    let pct =
        percent_encoding::utf8_percent_encode(&b64, percent_encoding::NON_ALPHANUMERIC).to_string();
    for body in [
        format!("initAuthRequest={b64}"),
        format!("initAuthRequest={pct}&relyingPartyId=integrator-1"),
        format!("initAuthRequest={}", b64.replace('+', " ")),
    ] {
        let resp = client
            .post(&url)
            .header("content-type", "text/plain")
            .body(body)
            .send()
            .await
            .unwrap();
        let _ = resp.bytes().await;
    }
    let obs = mock.observations().await;
    drop(mock);
    assert_eq!(obs.requests.len(), 3);
    assert_eq!(obs.requests[0].encoding, BodyEncoding::RawBase64);
    assert_eq!(obs.requests[0].request_json.as_ref(), Some(&json));
    assert_eq!(obs.requests[0].response_status, 200);
    assert_eq!(obs.requests[1].encoding, BodyEncoding::PercentEncoded);
    assert_eq!(obs.requests[1].request_json.as_ref(), Some(&json));
    // `+` form-decoded to a space is not Base64: the service says so with 1010.
    assert_eq!(obs.requests[2].encoding, BodyEncoding::Undecodable);
    assert_eq!(obs.requests[2].response_status, 400);
}

#[tokio::test]
async fn undecodable_body_gets_1010_and_foreign_reference_gets_1100() {
    let op = email_auth();
    let mock = start(
        "freja:\n  auth_get_one_result:\n    - body: {result: {status: STARTED}}\n",
        &op,
    )
    .await;
    let env = mock.environment(&EnvironmentSpec::default()).unwrap();
    let client = raw_client(&env);
    let post = |path: &str, body: String| {
        client
            .post(format!("{}{path}", mock.base_url()))
            .body(body)
            .send()
    };
    let r = post(FrejaEndpoint::AuthInit.path(), "wrongParam=e30=".into())
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"code": 1010, "message": "JSON request cannot be parsed."})
    );
    let other = STANDARD.encode(json!({"authRef": "someone-elses"}).to_string());
    let r = post(
        FrejaEndpoint::AuthGetOneResult.path(),
        format!("getOneAuthResultRequest={other}"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 1100);
    let ours = STANDARD.encode(json!({"authRef": reference_for(VECTOR)}).to_string());
    let r = post(
        FrejaEndpoint::AuthGetOneResult.path(),
        format!("getOneAuthResultRequest={ours}"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "STARTED");
    let obs = mock.observations().await;
    drop(mock);
    assert_eq!(obs.requests[0].param.as_deref(), Some("wrongParam"));
    assert_eq!(obs.requests[0].encoding, BodyEncoding::Undecodable);
}

/// One row: the provider's behaviour, and what the reference RP must make of it.
struct WireCase {
    name: &'static str,
    provider: &'static str,
    environment: &'static str,
    reason: Reason,
    code: Option<i64>,
    status: Option<&'static str>,
    /// Requests the mock must have seen per endpoint.
    requests: &'static [(FrejaEndpoint, u32)],
    /// Anything else the row checks.
    also: fn(&Run),
}

const WIRE_CASES: &[WireCase] = &[
    WireCase {
        name: "an error payload is a provider error with its code",
        provider: "freja:\n  auth_init:\n    - status: 422\n      body: {error: {code: 1001}}\n",
        environment: "",
        reason: Reason::ProviderError,
        code: Some(1001),
        status: None,
        requests: &[(FrejaEndpoint::AuthGetOneResult, 0)],
        also: |_| {},
    },
    WireCase {
        name: "an error status without an error payload is an HTTP status",
        provider: "freja:\n  auth_init:\n    - status: 503\n      body: {text: \"<html>down</html>\"}\n",
        environment: "",
        reason: Reason::HttpStatus,
        code: None,
        status: Some("503"),
        requests: &[],
        also: |_| {},
    },
    WireCase {
        name: "status 500 is seen exactly once",
        provider: "freja:\n  auth_init:\n    - status: 500\n      body: {error: {code: 0}}\n",
        environment: "",
        reason: Reason::ProviderError,
        code: Some(0),
        status: None,
        requests: &[(FrejaEndpoint::AuthInit, 1)],
        also: |_| {},
    },
    WireCase {
        name: "a redirect is not followed and the canary is not hit",
        provider: REDIRECT,
        environment: "",
        reason: Reason::HttpStatus,
        code: None,
        status: Some("302"),
        requests: &[(FrejaEndpoint::AuthInit, 1)],
        also: |r| assert!(r.obs.canary_requests.is_empty()),
    },
    WireCase {
        name: "a reset is a transport failure",
        provider: "freja:\n  auth_init:\n    - fault: reset\n",
        environment: "",
        reason: Reason::Transport,
        code: None,
        status: None,
        requests: &[(FrejaEndpoint::AuthInit, 1)],
        also: |r| assert_eq!(r.obs.requests[0].response_status, 0),
    },
    WireCase {
        name: "a truncated answer is a transport failure",
        provider: "freja:\n  auth_get_one_result:\n    - fault: truncate\n",
        environment: "",
        reason: Reason::Transport,
        code: None,
        status: None,
        requests: &[(FrejaEndpoint::AuthGetOneResult, 1)],
        also: |_| {},
    },
    WireCase {
        name: "a delay past the HTTP timeout is a timeout",
        provider: "freja:\n  auth_get_one_result:\n    - delay: 600ms\n",
        environment: "http_timeout: 150ms\n",
        reason: Reason::Timeout,
        code: None,
        status: None,
        requests: &[(FrejaEndpoint::AuthGetOneResult, 1)],
        also: |_| {},
    },
    WireCase {
        name: "CANCELED is not approved",
        provider: "freja:\n  auth_get_one_result:\n    - body: {result: {status: CANCELED}}\n",
        environment: "",
        reason: Reason::StatusNotApproved,
        code: None,
        status: Some("CANCELED"),
        requests: &[],
        also: |_| {},
    },
    WireCase {
        name: "a signature by an unpinned key is key_unknown",
        provider: "freja:\n  auth_get_one_result:\n    - body: {result: {status: APPROVED, details: {key: freja-jws-retired}}}\n",
        environment: "",
        reason: Reason::KeyUnknown,
        code: None,
        status: None,
        requests: &[],
        also: |_| {},
    },
];

#[tokio::test]
async fn each_wire_behaviour_gets_its_reason() {
    for c in WIRE_CASES {
        let r = run(c.provider, c.environment, email_auth()).await;
        assert_eq!(r.reason(), c.reason, "{}: {:?}", c.name, r.outcome);
        if c.code.is_some() {
            assert_eq!(r.rejection().code, c.code, "{}", c.name);
        }
        if c.status.is_some() {
            assert_eq!(r.rejection().status.as_deref(), c.status, "{}", c.name);
        }
        for (ep, n) in c.requests {
            assert_eq!(r.obs.count(*ep), *n, "{}: {ep:?}", c.name);
        }
        (c.also)(&r);
    }
}

const REDIRECT: &str = "freja:\n  auth_init:\n    - status: 302\n      redirect_to_canary: true\n";

#[tokio::test]
async fn untrusted_expired_and_wrong_host_server_certificates() {
    for cert in ["server-untrusted", "server-expired", "server-wrong-host"] {
        let r = run(
            &format!("tls: {{server_certificate: {cert}}}\n"),
            "",
            email_auth(),
        )
        .await;
        assert_eq!(
            r.reason(),
            Reason::ServerUntrusted,
            "{cert}: {:?}",
            r.outcome
        );
        assert!(r.obs.requests.is_empty(), "{cert}");
        assert!(
            !r.obs.tls_failures.is_empty(),
            "{cert}: the aborted handshake is evidence"
        );
    }
}

#[tokio::test]
async fn untrusted_client_certificate_fails_the_handshake() {
    let r = run(
        "",
        "client_certificate: rp-client-untrusted\n",
        email_auth(),
    )
    .await;
    assert_eq!(r.reason(), Reason::Transport, "{:?}", r.outcome);
    assert!(r.obs.requests.is_empty());
    assert!(
        r.obs
            .tls_failures
            .iter()
            .any(|f| f.contains("unknown issuer")),
        "{:?}",
        r.obs.tls_failures
    );
}

#[tokio::test]
async fn truncate_sends_the_head_and_half_the_body() {
    let op = email_auth();
    let mock = start("freja:\n  auth_init:\n    - fault: truncate\n      body: {text: \"0123456789abcdefghij\"}\n", &op).await;
    let env = mock.environment(&EnvironmentSpec::default()).unwrap();
    let body = format!("initAuthRequest={}", STANDARD.encode("{}"));
    let mut resp = raw_client(&env)
        .post(format!(
            "{}{}",
            mock.base_url(),
            FrejaEndpoint::AuthInit.path()
        ))
        .body(body)
        .send()
        .await
        .expect("the head arrives");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.content_length(), Some(20));
    let mut got = Vec::new();
    let err = loop {
        match resp.chunk().await {
            Ok(Some(c)) => got.extend_from_slice(&c),
            Ok(None) => panic!("the body completed"),
            Err(e) => break e,
        }
    };
    assert_eq!(got, b"0123456789");
    assert!(
        err.is_body() || err.is_decode() || err.is_request(),
        "{err:?}"
    );
    drop(mock);
}

#[tokio::test]
async fn jws_checks_map_to_their_reasons() {
    let cases = [
        ("header: {alg: HS256}", Reason::AlgorithmRejected),
        ("header: {x5t: null}", Reason::KeyUnknown),
        ("payload: {status: REJECTED}", Reason::StatusNotApproved),
        (
            "payload: {authRef: another-transaction}",
            Reason::ReferenceMismatch,
        ),
        ("omit: true", Reason::MalformedResponse),
    ];
    for (details, reason) in cases {
        let yaml = format!(
            "freja:\n  auth_get_one_result:\n    - body: {{result: {{status: APPROVED, details: {{{details}}}}}}}\n"
        );
        let r = run(&yaml, "", email_auth()).await;
        assert_eq!(r.reason(), reason, "{details}: {:?}", r.outcome);
    }
    // A tampered signature under the pinned key.
    let r = run(
        "freja:\n  auth_get_one_result:\n    - body: {json: {authRef: x, status: APPROVED, details: \"eyJ4NXQiOiJhIiwiYWxnIjoiUlMyNTYifQ.e30.AAAA.x\"}}\n",
        "",
        email_auth(),
    )
    .await;
    assert_eq!(r.reason(), Reason::SignatureInvalid);
}

#[tokio::test]
async fn unsigned_requested_attributes_are_ignored() {
    let r = run(
        "freja:\n  auth_get_one_result:\n    - body: {result: {status: APPROVED, requested_attributes: {basicUserInfo: {name: Mallory, surname: X}}}}\n",
        "",
        email_auth(),
    )
    .await;
    assert_eq!(r.identity()["requestedAttributes"], default_attributes());
}

#[tokio::test]
async fn every_endpoint_answers_its_happy_path() {
    let op = email_auth();
    let mock = start("", &op).await;
    let env = mock.environment(&EnvironmentSpec::default()).unwrap();
    let client = raw_client(&env);
    let reference = reference_for(VECTOR);
    for ep in FrejaEndpoint::ALL {
        let request = json!({ ep.reference_field(): reference, "includePrevious": "ALL" });
        let body = format!("{}={}", ep.param(), STANDARD.encode(request.to_string()));
        let url = format!("{}{}", mock.base_url(), ep.path());
        let resp = client.post(url).body(body).send().await.unwrap();
        let name = ep.name();
        // User management answers 204 with no body.
        if ep.call() == FrejaCall::ManageUser {
            assert_eq!(resp.status(), 204, "{name}");
            assert!(resp.bytes().await.unwrap().is_empty(), "{name}");
            continue;
        }
        assert_eq!(resp.status(), 200, "{name}");
        let v: Value = resp.json().await.unwrap();
        if name.ends_with("init") {
            assert_eq!(v[ep.reference_field()], json!(reference), "{name}");
        } else if name.ends_with("get_one_result") {
            assert_eq!(v["status"], "APPROVED", "{name}");
            assert!(v["details"].is_string(), "{name}");
        } else if name.ends_with("get_results") {
            let list = if ep.reference_field() == "signRef" {
                "signatureResults"
            } else {
                "authenticationResults"
            };
            assert_eq!(v[list][0]["status"], "APPROVED", "{name}");
        } else {
            assert_eq!(v, json!({}), "{name}");
        }
    }
    let obs = mock.observations().await;
    drop(mock);
    for ep in FrejaEndpoint::ALL {
        assert_eq!(obs.count(*ep), 1, "{}", ep.name());
    }
}

#[tokio::test]
async fn no_content_where_a_body_is_required_is_malformed() {
    let r = run(
        "freja:\n  auth_init:\n    - status: 204\n",
        "",
        email_auth(),
    )
    .await;
    assert_eq!(r.reason(), Reason::MalformedResponse, "{:?}", r.outcome);
    let r = run(
        "freja:\n  auth_init:\n    - body: {json: {authRef: \"\"}}\n",
        "",
        email_auth(),
    )
    .await;
    assert_eq!(r.reason(), Reason::MalformedResponse, "{:?}", r.outcome);
    let r = run(
        "freja:\n  auth_get_one_result:\n    - body: {text: \"{\\\"status\\\": 1}\"}\n",
        "",
        email_auth(),
    )
    .await;
    assert_eq!(r.reason(), Reason::MalformedResponse, "{:?}", r.outcome);
}

#[tokio::test]
async fn error_messages_may_be_null_missing_or_non_ascii() {
    for body in [
        "{json: {code: 1002, message: null}}",
        "{json: {code: 1002}}",
        "{error: {code: 1002, message: \"Ogiltig användare ✗\"}}",
    ] {
        let r = run(
            &format!("freja:\n  auth_init:\n    - status: 400\n      body: {body}\n"),
            "",
            email_auth(),
        )
        .await;
        assert_eq!(
            (r.reason(), r.rejection().code),
            (Reason::ProviderError, Some(1002)),
            "{body}"
        );
    }
    // A code that is not an integer is no error payload.
    let r = run(
        "freja:\n  auth_init:\n    - status: 400\n      body: {json: {code: \"1002\"}}\n",
        "",
        email_auth(),
    )
    .await;
    assert_eq!(r.reason(), Reason::HttpStatus);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_mocks_in_parallel() {
    let runs = (0..24).map(|i| async move {
        let yaml = if i % 2 == 0 {
            ""
        } else {
            "freja:\n  auth_init:\n    - fault: reset\n"
        };
        (i, run(yaml, "", email_auth()).await)
    });
    for (i, r) in futures::future::join_all(runs).await {
        if i % 2 == 0 {
            assert!(r.accepted(), "{i}: {:?}", r.outcome);
        } else {
            assert_eq!(r.reason(), Reason::Transport, "{i}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Every fault changes behaviour observably

#[test]
fn every_fault_has_a_name_that_parses() {
    // That each fault bites is the kill matrix's proof (tests/selfcheck.rs).
    for f in Fault::ALL {
        assert_eq!(f.name().parse::<Fault>(), Ok(*f));
        assert!(!f.description().is_empty());
    }
    let err = "retry-on-503".parse::<Fault>().unwrap_err();
    assert!(
        err.contains("retry-on-500") && err.contains("ignore-reference"),
        "{err}"
    );
    let d = ReferenceRp::new(&[Fault::IgnoreReference, Fault::RetryOn500]).describe();
    assert_eq!(d.name, "eidconf-reference+retry-on-500+ignore-reference");
    assert_eq!(
        d.operations,
        [
            "freja.authenticate",
            "freja.sign",
            "dn.validate",
            "freja.verify_details",
            "oidc.validate_id_token",
            "oidc.begin_login",
            "oidc.finish_login",
            "rp.keys",
            "freja.cancel",
            "freja.set_custom_identifier",
            "freja.delete_custom_identifier"
        ]
    );
    assert_eq!(ReferenceRp::new(&[]).describe().name, "eidconf-reference");
}

// ---------------------------------------------------------------------------------------------
// Units: request decoding and the loopback guard

#[test]
fn decoding_edge_cases() {
    let json = json!({"authRef": "ab+/c", "x": "~~~???"});
    let b64 = STANDARD.encode(json.to_string());
    assert!(b64.contains('+') || b64.contains('/'), "{b64}");
    let param = "getOneAuthResultRequest";

    let d = decode_request_body(format!("{param}={b64}").as_bytes(), param);
    assert_eq!(
        (d.encoding, d.json.as_ref()),
        (BodyEncoding::RawBase64, Some(&json))
    );
    assert_eq!(d.param.as_deref(), Some(param));

    let pct =
        percent_encoding::utf8_percent_encode(&b64, percent_encoding::NON_ALPHANUMERIC).to_string();
    let d = decode_request_body(
        format!("{param}={pct}&relyingPartyId=rp%201").as_bytes(),
        param,
    );
    assert_eq!(
        (d.encoding, d.json.as_ref()),
        (BodyEncoding::PercentEncoded, Some(&json))
    );
    assert_eq!(d.relying_party_id.as_deref(), Some("rp 1"));

    // Missing padding is tolerated, as by the real (Java) decoder.
    let d = decode_request_body(
        format!("{param}={}", b64.trim_end_matches('=')).as_bytes(),
        param,
    );
    assert_eq!(d.json.as_ref(), Some(&json));

    let undecodable = |body: String| decode_request_body(body.as_bytes(), param).encoding;
    let plus_space = b64.replace('+', " ");
    if plus_space != b64 {
        assert_eq!(
            undecodable(format!("{param}={plus_space}")),
            BodyEncoding::Undecodable
        );
    }
    // base64url is not decoded, but recorded as such (`freja.request.form` names it).
    let url_safe = b64.replace('+', "-").replace('/', "_");
    assert_eq!(
        undecodable(format!("{param}={url_safe}")),
        BodyEncoding::Base64Url
    );
    assert_eq!(
        undecodable(format!("otherParam={b64}")),
        BodyEncoding::Undecodable
    );
    assert_eq!(
        undecodable(format!("{param}={}", STANDARD.encode("not json"))),
        BodyEncoding::Undecodable
    );
    assert_eq!(
        undecodable(format!("{param}={}", STANDARD.encode("[1,2]"))),
        BodyEncoding::Undecodable
    );
    assert_eq!(
        undecodable(format!("{param}=%ZZ")),
        BodyEncoding::Undecodable
    );
    assert_eq!(undecodable(json.to_string()), BodyEncoding::Undecodable);
    assert_eq!(
        decode_request_body(&[0xff, 0xfe, b'='], param).encoding,
        BodyEncoding::Undecodable
    );
    assert_eq!(decode_request_body(b"", param).encoding, BodyEncoding::None);
}

#[test]
fn loopback_guard() {
    for ok in [
        "https://127.0.0.1:1234",
        "https://127.0.0.5/x",
        "https://[::1]:9",
        "https://localhost:1",
        "https://LOCALHOST",
    ] {
        assert!(ensure_loopback(ok).is_ok(), "{ok}");
    }
    for bad in [
        "https://10.0.0.1",
        "https://example.com",
        "https://localhost.example.com",
        "https://127.0.0.1.nip.io",
        "https://[::2]",
        "not a url",
        "https://0.0.0.0",
    ] {
        assert!(ensure_loopback(bad).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn verify_details_runs_in_the_mock_environment() {
    let op = Operation::FrejaVerifyDetails({
        let mut x = eidconf::adapter::FrejaVerifyDetails::default();
        x.sign = false;
        x.reference = String::new();
        x.details = String::new();
        x
    });
    let mock = start("", &op).await;
    let (token, reference) = mock.details_token(false).expect("token");
    assert_eq!(reference, reference_for(VECTOR));
    let env = {
        let mut x = Environment::default();
        x.vector_id = VECTOR.into();
        x.freja = Some(mock.environment(&environment("")).expect("environment"));
        x
    };
    let verify = |reference: &str| {
        Operation::FrejaVerifyDetails({
            let mut x = eidconf::adapter::FrejaVerifyDetails::default();
            x.sign = false;
            x.reference = reference.into();
            x.details = token.clone();
            x
        })
    };
    let ok = ReferenceRp::new(&[])
        .perform(&env, verify(&reference))
        .await;
    assert!(matches!(ok, Outcome::Accepted { .. }), "{ok:?}");
    let other = ReferenceRp::new(&[]).perform(&env, verify("other")).await;
    assert!(
        matches!(&other, Outcome::Rejected(r) if r.reason == Reason::ReferenceMismatch),
        "{other:?}"
    );
    let obs = mock.observations().await;
    assert!(
        obs.requests.is_empty(),
        "verify_details sends no Freja request"
    );
    drop(mock);
}
