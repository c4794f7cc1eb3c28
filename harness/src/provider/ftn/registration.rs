//! The RP's registration at the mock broker (its keys, the broker's keys, the JWE allow-lists),
//! from a vector's overrides, and the stand-up of token-level (`oidc.validate_id_token`) vectors.

use serde_json::json;

use crate::adapter::{IdTokenRequest, OidcEnvironment, RpKey};
use crate::forge::id_token::{
    BROKER_KEY, DEFAULT_CLIENT_ID, DEFAULT_ISSUER, KeyName, TokenContext, build, public_jwk,
};
use crate::pki::Pki;
use crate::vector::VectorSpec;
use crate::vector::model::{KeyUse, OidcEnvironmentSpec, RpKeySpec};

/// The JWE algorithms the RP registers when a vector does not say (no broker profile is in play:
/// token-level and `rp.keys` vectors). The flow vectors register their broker profile's pair.
const REGISTERED_ALG_VALUES: &[&str] = &["RSA-OAEP", "RSA-OAEP-256"];
const REGISTERED_ENC_VALUES: &[&str] = &["A128CBC-HS256", "A128GCM", "A256GCM"];

/// The RP's registration at a broker whose issuer is `issuer`, from the vector's overrides:
/// RP keys, the broker keys of `broker_jwks`, and the JWE allow-lists (`alg_values`,
/// `enc_values` unless overridden). Token-level and flow operations share it.
pub fn registration(
    o: &OidcEnvironmentSpec,
    pki: &Pki,
    issuer: &str,
    alg_values: &[&str],
    enc_values: &[&str],
) -> Result<OidcEnvironment, String> {
    let rp_key = |name: &str, use_| RpKeySpec {
        key: KeyName::new(name),
        use_,
        environment: None,
    };
    let rp_keys = o.rp_keys.clone().unwrap_or_else(|| {
        vec![
            rp_key("ftn-rp-enc-1", KeyUse::Enc),
            rp_key("ftn-rp-enc-2", KeyUse::Enc),
            rp_key("ftn-rp-sig", KeyUse::Sig),
        ]
    });
    let mut keys = Vec::new();
    for k in &rp_keys {
        let cred = pki.get(&k.key.0).map_err(|e| e.to_string())?;
        keys.push(RpKey {
            kid: cred.name.clone(),
            use_: match k.use_ {
                KeyUse::Enc => "enc".into(),
                KeyUse::Sig => "sig".into(),
            },
            private_key_pem: cred.key_pem.clone(),
            environment: k.environment,
        });
    }
    let broker = o
        .broker_keys
        .clone()
        .unwrap_or_else(|| vec![KeyName::new(BROKER_KEY), KeyName::new("ftn-broker-sig-2")]);
    let mut jwks = Vec::new();
    for k in &broker {
        let mut jwk = public_jwk(pki.get(&k.0).map_err(|e| e.to_string())?, "sig")?;
        if let (Some(over), Some(m)) = (o.broker_jwk.get(&k.0), jwk.as_object_mut()) {
            crate::forge::merge_members(m, over);
        }
        jwks.push(jwk);
    }
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut env = OidcEnvironment::default();
    env.issuer = o.issuer.clone().unwrap_or_else(|| issuer.into());
    env.client_id = o
        .client_id
        .clone()
        .unwrap_or_else(|| DEFAULT_CLIENT_ID.into());
    env.rp_keys = keys;
    env.environment = o.environment;
    env.broker_jwks = json!({ "keys": jwks });
    env.id_token_signing_alg_values = o
        .signing_alg_values
        .clone()
        .unwrap_or_else(|| strings(&["RS256"]));
    env.id_token_encryption_alg_values = o
        .encryption_alg_values
        .clone()
        .unwrap_or_else(|| strings(alg_values));
    env.id_token_encryption_enc_values = o
        .encryption_enc_values
        .clone()
        .unwrap_or_else(|| strings(enc_values));
    env.encryption_required = o.encryption_required.unwrap_or(true);
    env.clock_skew_seconds = 60;
    Ok(env)
}

/// Stand up an `oidc.validate_id_token` vector: the RP's registration and the token the broker
/// issues, filled into `req` unless the vector gave one verbatim.
pub fn stand_up(
    spec: &VectorSpec,
    pki: &Pki,
    req: &mut IdTokenRequest,
) -> Result<OidcEnvironment, String> {
    let o = spec.environment.oidc.clone().unwrap_or_default();
    let env = registration(
        &o,
        pki,
        DEFAULT_ISSUER,
        REGISTERED_ALG_VALUES,
        REGISTERED_ENC_VALUES,
    )?;
    let trusted = o
        .broker_keys
        .clone()
        .unwrap_or_else(|| vec![KeyName::new(BROKER_KEY), KeyName::new("ftn-broker-sig-2")]);
    for name in o.broker_jwk.keys() {
        if !trusted.iter().any(|k| &k.0 == name) {
            return Err(format!(
                "environment.oidc.broker_jwk names `{name}`, which is not among the broker keys"
            ));
        }
    }
    if req.id_token.is_empty() {
        let recipe = spec.provider.id_token.clone().unwrap_or_default();
        req.id_token = build(&recipe, pki, &TokenContext::now())?.token;
    }
    Ok(env)
}

/// Stand up a flow vector (`oidc.begin_login`, `oidc.finish_login`): the mock broker playing the
/// vector's script, and the registration that points the RP at it.
pub async fn stand_up_broker(
    vector: &crate::vector::Vector,
    pki: &Pki,
) -> Result<(super::BrokerMock, OidcEnvironment), String> {
    let o = vector.spec.environment.oidc.clone().unwrap_or_default();
    let ctx = super::BrokerContext {
        pki: pki.clone(),
        client_id: o
            .client_id
            .clone()
            .unwrap_or_else(|| DEFAULT_CLIENT_ID.into()),
        redirect_uri: super::REDIRECT_URI.into(),
        acr_values: o.acr_values.clone().unwrap_or_else(|| {
            super::DEFAULT_ACR_VALUES
                .iter()
                .map(|s| s.to_string())
                .collect()
        }),
        signing_alg_values: o
            .signing_alg_values
            .clone()
            .unwrap_or_else(|| vec!["RS256".into()]),
        broker_jwk: o.broker_jwk.clone(),
    };
    let broker = super::BrokerMock::start(&vector.spec.provider, ctx)
        .await
        .map_err(|e| format!("could not start the mock broker: {e}"))?;
    match broker.environment(&vector.spec.environment) {
        Ok(env) => Ok((broker, env)),
        // Dropping the broker stops it.
        Err(e) => Err(format!("could not build the environment: {e}")),
    }
}

/// Stand up an `rp.keys` vector: the registration only (no broker sees the published keys).
pub fn stand_up_rp_keys(spec: &VectorSpec, pki: &Pki) -> Result<OidcEnvironment, String> {
    let o = spec.environment.oidc.clone().unwrap_or_default();
    registration(
        &o,
        pki,
        DEFAULT_ISSUER,
        REGISTERED_ALG_VALUES,
        REGISTERED_ENC_VALUES,
    )
}
