//! The harness as the user agent of an FTN login: it asks the RP to begin, carries the
//! authorization URL to the mock broker, and brings the callback back for the RP to finish.

use crate::adapter::{AdapterError, BeginLogin, FinishLogin, Operation, Outcome};
use crate::forge::jwe;
use crate::transport::{AdapterFailure, Caller};

use super::BrokerMock;

/// Plays the broker's script of logins for one vector.
pub(crate) struct Player<'a> {
    pub broker: &'a BrokerMock,
    pub vector_id: &'a str,
    pub rp: &'a mut dyn Caller,
}

impl Player<'_> {
    /// The vector's operation: `oidc.begin_login` alone, or every login of the script.
    pub async fn play(&mut self, op: &Operation) -> Result<Outcome, AdapterFailure> {
        match op {
            Operation::OidcBeginLogin(b) => self.begin_only(&b.session).await,
            _ => self.logins().await,
        }
    }

    /// A fresh session per login: `<vector id>#<n>-<random>`.
    fn session(&self, login: usize) -> String {
        format!("{}#{login}-{}", self.vector_id, hex::encode(jwe::random(4)))
    }

    /// `oidc.begin_login`: the begin outcome is judged; its URL is carried to the broker so the
    /// request-side checks are made.
    async fn begin_only(&mut self, session: &str) -> Result<Outcome, AdapterFailure> {
        let session = if session.is_empty() {
            self.session(1)
        } else {
            session.to_owned()
        };
        self.broker.start_login(1, &session, None);
        let out = self
            .rp
            .call(Operation::OidcBeginLogin(BeginLogin::new(session)))
            .await?;
        self.broker.record_outcome(1, &out);
        if let Outcome::Accepted {
            authorization_url: Some(url),
            ..
        } = &out
        {
            // Not loopback: recorded, and the checks say so; nothing to follow.
            let _ = self.broker.authorize(url, 1);
        }
        Ok(out)
    }

    /// `oidc.finish_login`: every login of the script in order; the last outcome is judged.
    async fn logins(&mut self) -> Result<Outcome, AdapterFailure> {
        let replays: Vec<bool> = self
            .broker
            .logins()
            .iter()
            .map(|l| l.callback.replay)
            .collect();
        let mut last: Option<(String, String)> = None;
        let mut outcome = None;
        for (i, replay) in replays.into_iter().enumerate() {
            let n = i + 1;
            let (session, callback_url) = if replay {
                let Some(prev) = last.clone() else {
                    return Err(AdapterFailure::Harness(format!(
                        "login #{n} replays, but no login came before it"
                    )));
                };
                self.broker.start_login(n, &prev.0, Some(n - 1));
                prev
            } else {
                let session = self.session(n);
                self.broker.start_login(n, &session, None);
                let begin = self
                    .rp
                    .call(Operation::OidcBeginLogin(BeginLogin::new(session.clone())))
                    .await?;
                let Outcome::Accepted {
                    authorization_url: Some(url),
                    ..
                } = &begin
                else {
                    self.broker.record_outcome(n, &begin);
                    return Ok(begin);
                };
                match self.broker.authorize(url, n) {
                    Ok(callback) => (session, callback),
                    Err(e) => {
                        self.broker.record_outcome(n, &begin);
                        // The RP's doing, not the harness's: it sent the user agent elsewhere.
                        return Err(AdapterFailure::Adapter(AdapterError::Protocol(format!(
                            "login #{n}: the RP's authorization URL is not one eidconf will carry: {e}"
                        ))));
                    }
                }
            };
            let finish = self
                .rp
                .call(Operation::OidcFinishLogin(FinishLogin::new(
                    session.clone(),
                    callback_url.clone(),
                )))
                .await?;
            self.broker.record_outcome(n, &finish);
            if !replay {
                last = Some((session, callback_url));
            }
            outcome = Some(finish);
        }
        outcome.ok_or_else(|| AdapterFailure::Harness("the broker script has no login".into()))
    }
}
