//! The seam between a run and the providers: stand up what a vector's operation needs, drive the
//! RP through it (the FTN login is played as the user agent), and hand back what the provider
//! observed. A run sees only [`Stage`].

use crate::adapter::{Environment, Operation, Outcome, PublicKeys};
use crate::pki::Pki;
use crate::transport::{AdapterFailure, Caller};
use crate::vector::Vector;
use crate::vector::model::{BrokerEndpoint, Endpoint, FrejaEndpoint};

use super::freja::{self, FrejaMock};
use super::ftn::{self, BrokerMock, player::Player};
use super::{Observations, checks};

/// One vector, stood up.
pub struct Stage {
    /// What the RP is handed.
    pub environment: Environment,
    /// The operation as sent: the vector's, with what the harness fills in.
    operation: Operation,
    mock: Mock,
}

enum Mock {
    /// A data- or token-level operation: nothing listens.
    None,
    /// `rp.keys`: nothing listens; the published JWKS is checked afterwards.
    RpKeys,
    Freja(Box<FrejaMock>),
    Broker(Box<BrokerMock>),
}

/// Stand up `vector`. The error says what could not be built; the vector is then an `error`.
pub async fn stand_up(vector: &Vector, pki: &Pki) -> Result<Stage, String> {
    let mut op = vector.spec.operation.clone();
    let mut env = Environment::new(vector.id());
    let mock = match &mut op {
        Operation::OidcBeginLogin(_) | Operation::OidcFinishLogin(_) => {
            let (broker, oidc) = ftn::stand_up_broker(vector, pki).await?;
            env.oidc = Some(oidc);
            Mock::Broker(Box::new(broker))
        }
        // The broker's token is built now, so relative times are fresh. Off the runtime's
        // threads: a token can be tens of MiB to build, and vectors in flight wait on them.
        Operation::OidcValidateIdToken(req) => {
            let (spec, pki_, mut built) = (vector.spec.clone(), pki.clone(), req.clone());
            let (oidc, built) = tokio::task::spawn_blocking(move || {
                ftn::stand_up(&spec, &pki_, &mut built).map(|oidc| (oidc, built))
            })
            .await
            .map_err(|e| format!("building the ID token failed: {e}"))?
            .map_err(|e| format!("could not build the ID token: {e}"))?;
            *req = built;
            env.oidc = Some(oidc);
            Mock::None
        }
        Operation::RpKeys(_) => {
            let oidc = ftn::stand_up_rp_keys(&vector.spec, pki)
                .map_err(|e| format!("could not build the registration: {e}"))?;
            env.oidc = Some(oidc);
            Mock::RpKeys
        }
        _ => match freja::stand_up(vector, pki, &mut op).await? {
            Some((m, f)) => {
                env.freja = Some(f);
                Mock::Freja(Box::new(m))
            }
            None => Mock::None,
        },
    };
    Ok(Stage {
        environment: env,
        operation: op,
        mock,
    })
}

impl Stage {
    /// The operation as the RP is given it.
    pub fn operation(&self) -> &Operation {
        &self.operation
    }

    /// Run the operation against the RP: one call, or the logins of the broker's script.
    pub async fn drive(&self, rp: &mut dyn Caller) -> Result<Outcome, AdapterFailure> {
        match &self.mock {
            Mock::Broker(broker) => {
                let mut player = Player {
                    broker,
                    vector_id: &self.environment.vector_id,
                    rp,
                };
                player.play(&self.operation).await
            }
            _ => rp.call(self.operation.clone()).await,
        }
    }

    /// What the provider saw, once the RP is done; the mock stops as it is dropped here.
    pub async fn finish(self, outcome: &Result<Outcome, AdapterFailure>) -> Option<Observations> {
        match self.mock {
            Mock::None => None,
            Mock::Freja(m) => Some(m.observations().await),
            Mock::Broker(b) => Some(b.observations(self.environment.oidc.as_ref()).await),
            // The RP's published keys are checked here: no mock saw them.
            Mock::RpKeys => match outcome {
                Ok(Outcome::Accepted {
                    jwks, public_keys, ..
                }) => {
                    let asked = match &self.operation {
                        Operation::RpKeys(r) => r.form,
                        _ => None,
                    };
                    let fetched = match public_keys {
                        Some(PublicKeys::JwksUri { jwks_uri }) => Some(fetch_jwks(jwks_uri).await),
                        _ => None,
                    };
                    Some(Observations {
                        checks: checks::published_keys_checks(
                            asked,
                            jwks.as_ref(),
                            public_keys.as_ref(),
                            fetched.as_ref(),
                        ),
                        ..Observations::default()
                    })
                }
                _ => None,
            },
        }
    }
}

/// Largest JWKS document the harness reads from an RP.
const MAX_JWKS_BYTES: usize = 1 << 20;

/// How long the harness waits for an RP's JWKS document: as long as a vector's default budget,
/// so that only an RP that never answers, not a busy machine, fails the check.
const JWKS_FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Fetch the JWKS an RP serves for `rp.keys`, once: loopback `http`/`https` only, no proxy, no
/// redirects, [`JWKS_FETCH_TIMEOUT`], at most 1 MiB. The RP's certificate is not checked: on
/// loopback it proves nothing, and the document is public.
async fn fetch_jwks(url: &str) -> checks::FetchedJwks {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("jwks_uri {url:?}: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || super::ensure_loopback(url).is_err() {
        return Err(format!(
            "jwks_uri {url} was not fetched: eidconf fetches only http(s) URLs on loopback \
             (127.0.0.0/8, ::1, localhost)"
        ));
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(JWKS_FETCH_TIMEOUT)
        .tls_danger_accept_invalid_certs(true)
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let mut resp = client
        .get(parsed)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("GET {url}: {e}"))? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(format!("{url} answered more than {MAX_JWKS_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    if status != 200 {
        return Err(format!("{url} answered HTTP {status}"));
    }
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(doc) if doc.get("keys").is_some_and(serde_json::Value::is_array) => Ok(doc),
        _ => Err(format!(
            "{url} did not answer a JWK Set (JSON with a `keys` array)"
        )),
    }
}

/// The endpoints an operation may call.
pub fn reachable_endpoints(op: &Operation) -> Vec<Endpoint> {
    use FrejaEndpoint::*;
    let freja = |v: &[FrejaEndpoint]| v.iter().map(|e| Endpoint::Freja(*e)).collect();
    match op {
        // Both contexts: a vector may assert that an organisation flow never reaches the personal
        // endpoints, and the other way round.
        Operation::FrejaAuthenticate(_) => freja(&[
            AuthInit,
            AuthGetOneResult,
            AuthGetResults,
            AuthCancel,
            OrgAuthInit,
            OrgAuthGetOneResult,
            OrgAuthGetResults,
            OrgAuthCancel,
        ]),
        Operation::FrejaSign(_) => freja(&[
            SignInit,
            SignGetOneResult,
            SignGetResults,
            SignCancel,
            OrgSignInit,
            OrgSignGetOneResult,
            OrgSignGetResults,
            OrgSignCancel,
        ]),
        // The get-result endpoints too: a vector may assert that a cancelling RP does not poll.
        Operation::FrejaCancel(_) => freja(&[
            AuthInit,
            AuthCancel,
            AuthGetOneResult,
            SignInit,
            SignCancel,
            SignGetOneResult,
            OrgAuthInit,
            OrgAuthCancel,
            OrgAuthGetOneResult,
            OrgSignInit,
            OrgSignCancel,
            OrgSignGetOneResult,
        ]),
        Operation::FrejaSetCustomIdentifier(_) | Operation::FrejaDeleteCustomIdentifier(_) => {
            freja(&[SetCustomIdentifier, DeleteCustomIdentifier])
        }
        Operation::OidcBeginLogin(_) | Operation::OidcFinishLogin(_) => {
            use BrokerEndpoint::*;
            [
                BrokerDiscovery,
                BrokerAuthorize,
                BrokerToken,
                BrokerJwks,
                BrokerUserinfo,
                BrokerCanary,
            ]
            .into_iter()
            .map(Endpoint::Broker)
            .collect()
        }
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::fetch_jwks;

    #[tokio::test]
    async fn a_jwks_uri_off_loopback_or_not_http_is_never_fetched() {
        for url in [
            "https://rp.example/jwks.json",
            "http://10.0.0.1/jwks.json",
            "file:///etc/passwd",
            "ftp://127.0.0.1/jwks.json",
            "not a url",
        ] {
            let e = fetch_jwks(url).await.unwrap_err();
            assert!(
                e.contains("not fetched") || e.contains("jwks_uri"),
                "{url}: {e}"
            );
        }
        // Loopback with nothing listening: fetched, and the failure says so.
        let e = fetch_jwks("http://127.0.0.1:9/jwks.json")
            .await
            .unwrap_err();
        assert!(e.starts_with("GET "), "{e}");
    }
}
