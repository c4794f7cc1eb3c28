//! What differs between the FTN brokers, as far as an RP can tell (their public integration guides:
//! Telia Tunnistus, OP Identity Service Broker, Idura, Signicat, Nets E-Ident): claim names, the
//! shape of `aud`, the JWE algorithms, the front channel and the userinfo registration.

use serde_json::{Map, Value, json};

use crate::forge::jwe::{ContentEnc, KeyAlg};
use crate::vector::model::BrokerProfile;

/// The person every profile identifies: a valid HETU (mod-31 check character) and UTF-8 names,
/// the same as the token-level default (`forge::id_token::default_claims`).
pub const HETU: &str = "131052-308T";
pub const BIRTHDATE: &str = "1952-10-13";
pub const FAMILY_NAME: &str = "Äyrämö";
pub const GIVEN_NAME: &str = "Tero Testi";
pub const NAME: &str = "Tero Testi Äyrämö";

/// A broker profile with its facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile(pub BrokerProfile);

impl Profile {
    /// The person's claims under this broker's names (from each broker's integration guide).
    pub fn identity(self) -> Map<String, Value> {
        let v = match self.0 {
            BrokerProfile::Telia => json!({
                "urn:oid:1.2.246.21": HETU,
                "urn:oid:1.3.6.1.5.5.7.9.1": BIRTHDATE,
                "urn:oid:2.5.4.4": FAMILY_NAME,
                "urn:oid:1.2.246.575.1.14": GIVEN_NAME,
                "urn:oid:2.16.840.1.113730.3.1.241": NAME,
            }),
            BrokerProfile::Op => json!({
                "personal_identity_code": HETU,
                "birthdate": BIRTHDATE,
                "family_name": FAMILY_NAME,
                "given_name": GIVEN_NAME,
                "name": NAME,
            }),
            BrokerProfile::Idura => json!({
                "identityscheme": "fitupas",
                "hetu": HETU,
                "satu": "",
                "country": "FI",
                "birthdate": BIRTHDATE,
                "family_name": FAMILY_NAME,
                "given_name": GIVEN_NAME,
                "name": NAME,
            }),
            BrokerProfile::Signicat => json!({
                "nin": HETU,
                "nin_type": "PERSON",
                "nin_issuing_country": "FI",
                "ftn_hetu": HETU,
                "ftn_idp": "fi-op",
                "birthdate": BIRTHDATE,
                "family_name": FAMILY_NAME,
                "given_name": GIVEN_NAME,
                "name": NAME,
            }),
            BrokerProfile::Nets => json!({
                "ssn": HETU,
                "fi_ssn": HETU,
                "fi_tupas_bank": "nordea",
                "birthdate": BIRTHDATE,
                "family_name": FAMILY_NAME,
                "given_name": GIVEN_NAME,
                "name": NAME,
            }),
        };
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// The name of the HETU claim.
    pub fn hetu_claim(self) -> &'static str {
        match self.0 {
            BrokerProfile::Telia => "urn:oid:1.2.246.21",
            BrokerProfile::Op => "personal_identity_code",
            BrokerProfile::Idura => "hetu",
            BrokerProfile::Signicat => "nin",
            BrokerProfile::Nets => "ssn",
        }
    }

    pub fn sub(self) -> &'static str {
        match self.0 {
            BrokerProfile::Telia => "2BY5CDNFBEOSUFSKNGFSY4Y3DZISGL4I",
            BrokerProfile::Op => "TRPKQMXXQ2QOXHGMAGS5AZSH6GH7MHGW",
            BrokerProfile::Idura => "{6c2bd7e3-1d0b-4f0c-9b53-4c8e2f3a9d41}",
            BrokerProfile::Signicat => "c2lnbmljYXQtZnRuLWVpZGNvbmYtc3Vi",
            BrokerProfile::Nets => "3f6e0b0a-5d8c-4a7e-9d55-0e8f3b1c2a77",
        }
    }

    /// `aud` as this broker writes it: Telia an array, the others the bare client_id.
    pub fn aud(self, client_id: &str) -> Value {
        match self.0 {
            BrokerProfile::Telia => json!([client_id]),
            _ => json!(client_id),
        }
    }

    /// The JWE key management this broker emits.
    pub fn alg(self) -> KeyAlg {
        match self.0 {
            BrokerProfile::Telia | BrokerProfile::Op | BrokerProfile::Signicat => KeyAlg::RsaOaep,
            BrokerProfile::Idura | BrokerProfile::Nets => KeyAlg::RsaOaep256,
        }
    }

    /// The JWE content encryption this broker emits.
    pub fn enc(self) -> ContentEnc {
        match self.0 {
            BrokerProfile::Telia | BrokerProfile::Op => ContentEnc::A128CbcHs256,
            BrokerProfile::Idura | BrokerProfile::Signicat => ContentEnc::A256Gcm,
            BrokerProfile::Nets => ContentEnc::A128Gcm,
        }
    }

    /// Authorization parameters sent in the clear next to `request`.
    pub fn front_channel_parameters(self) -> &'static [&'static str] {
        match self.0 {
            BrokerProfile::Idura => &["client_id"],
            _ => &[],
        }
    }

    /// The registered userinfo response (`json`, `signed`, `encrypted`); `None`: no userinfo.
    pub fn userinfo(self) -> Option<&'static str> {
        match self.0 {
            BrokerProfile::Op => Some("json"),
            BrokerProfile::Idura | BrokerProfile::Signicat => Some("encrypted"),
            BrokerProfile::Telia | BrokerProfile::Nets => None,
        }
    }

    /// Scopes the RP requests besides `openid`.
    pub fn extra_scopes(self) -> &'static [&'static str] {
        match self.0 {
            BrokerProfile::Op => &["personal_identity_code"],
            _ => &[],
        }
    }

    /// The claims of an ID token before the recipe's are merged over (relative times resolved by
    /// the forge).
    pub fn id_token_claims(
        self,
        issuer: &str,
        client_id: &str,
        acr: &str,
        nonce: Option<&Value>,
    ) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("iss".into(), json!(issuer));
        m.insert("sub".into(), json!(self.sub()));
        m.insert("aud".into(), self.aud(client_id));
        m.insert("azp".into(), json!(client_id));
        m.insert("exp".into(), json!("+10m"));
        m.insert("iat".into(), json!("-1m"));
        m.insert("auth_time".into(), json!("-1m"));
        if let Some(n) = nonce {
            m.insert("nonce".into(), n.clone());
        }
        m.insert("acr".into(), json!(acr));
        if self.0 == BrokerProfile::Telia {
            m.insert(
                "amr".into(),
                json!([format!("{issuer}/saml2/names/ac/oidc.aktia.1")]),
            );
        }
        m.extend(self.identity());
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_names_the_same_person() {
        for p in [
            BrokerProfile::Telia,
            BrokerProfile::Op,
            BrokerProfile::Idura,
            BrokerProfile::Signicat,
            BrokerProfile::Nets,
        ] {
            let p = Profile(p);
            assert_eq!(p.identity()[p.hetu_claim()], json!(HETU));
            let c = p.id_token_claims("https://i", "c", "acr", None);
            assert!(!c.contains_key("nonce"));
            assert_eq!(c["aud"].is_array(), p.0 == BrokerProfile::Telia);
        }
    }
}
