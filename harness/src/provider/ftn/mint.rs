//! What the broker mints: ID tokens for a login and userinfo answers, from the profile's claims
//! with the vector's recipes merged over.

use serde_json::{Map, Value, json};

use super::{Core, now};
use crate::forge::id_token::{self, DEFAULT_ACR, Forged, Mutation, TokenContext, TokenRecipe};
use crate::forge::merge_members;
use crate::vector::model::BrokerEndpoint;

/// A userinfo answer and the claims it carries.
pub(crate) struct Userinfo {
    pub(crate) content_type: &'static str,
    pub(crate) body: Vec<u8>,
    pub(crate) claims: Map<String, Value>,
}

impl Core {
    fn token_context(&self, base_claims: Map<String, Value>) -> TokenContext {
        TokenContext {
            issuer: self.issuer.clone(),
            client_id: self.ctx.client_id.clone(),
            now: now(),
            base_claims: Some(base_claims),
            alg: self.profile.alg(),
            enc: self.profile.enc(),
            canary_url: Some(self.url(BrokerEndpoint::BrokerCanary)),
        }
    }

    /// The ID token of login `login` (0-based): the profile's claims for this issuer and client,
    /// the nonce of the login's request object, then the recipe.
    pub(crate) fn id_token(&self, login: usize, nonce: Option<&Value>) -> Result<Forged, String> {
        let recipe = self.spec(login).id_token.clone().unwrap_or_default();
        let acr = self
            .ctx
            .acr_values
            .first()
            .map_or(DEFAULT_ACR, String::as_str);
        let base = self
            .profile
            .id_token_claims(&self.issuer, &self.ctx.client_id, acr, nonce);
        id_token::build(&recipe, &self.ctx.pki, &self.token_context(base)).map_err(String::from)
    }

    /// The userinfo answer of login `login` (0-based): content type, body and the claims it
    /// carries. `id_claims`: the ID token minted for that login, whose `sub`, `iss`, `aud` it
    /// repeats.
    pub(crate) fn userinfo(
        &self,
        login: usize,
        id_claims: Option<&Map<String, Value>>,
    ) -> Result<Userinfo, String> {
        let spec = self.spec(login).userinfo.clone().unwrap_or_default();
        let mut base = self.profile.identity();
        let defaults = [
            ("sub", json!(self.profile.sub())),
            ("iss", json!(self.issuer)),
            ("aud", self.profile.aud(&self.ctx.client_id)),
        ];
        for (k, v) in defaults {
            let v = id_claims.and_then(|c| c.get(k)).cloned().unwrap_or(v);
            base.insert(k.into(), v);
        }
        let form = if spec.plain {
            "json"
        } else {
            self.profile.userinfo().unwrap_or("json")
        };
        if form == "json" {
            if let Some(r) = &spec.token {
                merge_members(&mut base, &r.claims);
            }
            let body = serde_json::to_vec(&base).map_err(|e| e.to_string())?;
            return Ok(Userinfo {
                content_type: "application/json",
                body,
                claims: base,
            });
        }
        let mut recipe: TokenRecipe = spec.token.unwrap_or_default();
        if form == "signed" {
            recipe.mutations.insert(0, Mutation::Unencrypted);
        }
        let forged = id_token::build(&recipe, &self.ctx.pki, &self.token_context(base))?;
        Ok(Userinfo {
            content_type: "application/jwt",
            body: forged.token.into_bytes(),
            claims: forged.claims,
        })
    }
}
