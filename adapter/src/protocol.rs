//! The messages of the out-of-process adapter protocol (`adapter/PROTOCOL.md`).
//!
//! One JSON object per line, in both directions. The harness speaks first (`hello`), the driver
//! answers with its own `hello`, then every `perform` request gets exactly one `outcome` or
//! `error` reply carrying the request's `id`. `eidconf schema adapter` prints the JSON Schema of
//! these types; `adapter/protocol.schema.json` is that output, committed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{Environment, Operation, Outcome, RpDescription};

/// The protocol version this harness speaks. A driver answers with the same number.
pub const PROTOCOL_VERSION: u32 = 1;

/// The longest line either side accepts (an environment is a few kB; this is generous).
pub const MAX_LINE_BYTES: usize = 4 << 20;

/// A line the harness writes to the driver's stdin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HarnessMessage {
    /// The first line: the harness's protocol version and the operations it may ask for.
    Hello(HarnessHello),
    /// Perform one operation (one vector). Requests may overlap: answer each by its `id`.
    Perform(Box<PerformRequest>),
}

/// The harness's handshake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HarnessHello {
    /// The protocol version (`1`).
    pub protocol: u32,
    /// The harness's name and version, e.g. `eidconf 0.1.0`.
    pub harness: String,
    /// Every operation name this harness knows; the driver declares the ones it implements.
    pub operations: Vec<String>,
}

/// One vector's request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PerformRequest {
    /// Unique within a run; echo it in the reply.
    pub id: u64,
    /// What the harness stood up for this vector (mock URLs, keys, timeouts).
    pub environment: Environment,
    /// What to do, tagged by `op`.
    pub operation: Operation,
}

/// A line the driver writes to its stdout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DriverMessage {
    /// The answer to the harness's `hello`: who the RP is and what it implements.
    Hello(DriverHello),
    /// The RP's outcome for request `id`.
    Outcome(OutcomeReply),
    /// The driver could not perform request `id` (an exception in the driver, not a rejection
    /// by the RP). The vector is an `error`.
    Error(ErrorReply),
}

/// The driver's handshake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DriverHello {
    /// Must equal the harness's `protocol`.
    pub protocol: u32,
    /// The RP's name, shown in reports.
    pub name: String,
    /// The RP's version, shown in reports.
    pub version: String,
    /// The operations the RP implements; vectors of other operations are `skip`.
    pub operations: Vec<String>,
}

impl DriverHello {
    pub fn description(&self) -> RpDescription {
        RpDescription {
            name: self.name.clone(),
            version: self.version.clone(),
            operations: self.operations.clone(),
        }
    }
}

/// An outcome reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeReply {
    /// The `id` of the request this answers.
    pub id: u64,
    pub outcome: Outcome,
}

/// An error reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorReply {
    /// The `id` of the request this answers.
    pub id: u64,
    /// What went wrong, for humans.
    pub message: String,
}

/// The hello the harness sends.
pub fn harness_hello() -> HarnessMessage {
    HarnessMessage::Hello(HarnessHello {
        protocol: PROTOCOL_VERSION,
        harness: format!("eidconf {}", env!("CARGO_PKG_VERSION")),
        operations: Operation::NAMES.iter().map(|s| s.to_string()).collect(),
    })
}

/// The JSON Schema of every message (`eidconf schema adapter`).
pub fn schema() -> serde_json::Value {
    /// Any line of the protocol: harness → driver or driver → harness.
    #[derive(JsonSchema)]
    #[allow(dead_code, clippy::large_enum_variant)]
    #[serde(untagged)]
    enum AdapterProtocolMessage {
        Harness(HarnessMessage),
        Driver(DriverMessage),
    }
    let mut s = schemars::schema_for!(AdapterProtocolMessage).to_value();
    if let Some(o) = s.as_object_mut() {
        o.insert(
            "title".into(),
            format!("eidconf adapter protocol {PROTOCOL_VERSION}").into(),
        );
        o.insert(
            "description".into(),
            "One JSON object per line. HarnessMessage: what the harness writes to the driver's \
             stdin; DriverMessage: what the driver writes to its stdout. See adapter/PROTOCOL.md."
                .into(),
        );
    }
    s
}

/// A line of driver output as it goes into a failure message: escaped, and cut if long.
pub fn quote(line: &str) -> String {
    const MAX: usize = 300;
    if line.chars().count() <= MAX {
        return format!("{line:?}");
    }
    let cut: String = line.chars().take(MAX).collect();
    format!("{cut:?}… ({} bytes)", line.len())
}

/// How a driver's line is read: a reply to one request, or a violation nobody can be blamed for
/// in particular.
#[derive(Debug, Clone, PartialEq)]
pub enum ParsedLine {
    /// A well-formed reply.
    Reply {
        id: u64,
        result: Result<Outcome, String>,
    },
    /// The line names request `id` but does not match the schema.
    BadReply { id: u64, problem: String },
    /// Not JSON, no usable `id`, or a message that is not a reply.
    Unattributable(String),
}

/// Read one line of driver output after the handshake.
pub fn parse_reply(line: &str) -> ParsedLine {
    let value: serde_json::Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            return ParsedLine::Unattributable(format!(
                "the driver wrote a line that is not JSON ({e}): {}",
                quote(line)
            ));
        }
    };
    let Some(id) = value.get("id").and_then(serde_json::Value::as_u64) else {
        return ParsedLine::Unattributable(format!(
            "the driver wrote a line without a numeric `id`: {}",
            quote(line)
        ));
    };
    match serde_json::from_value::<DriverMessage>(value) {
        Ok(DriverMessage::Outcome(r)) => ParsedLine::Reply {
            id,
            result: Ok(r.outcome),
        },
        Ok(DriverMessage::Error(e)) => ParsedLine::Reply {
            id,
            result: Err(e.message),
        },
        Ok(DriverMessage::Hello(_)) => ParsedLine::BadReply {
            id,
            problem: format!("the driver sent a second hello: {}", quote(line)),
        },
        Err(e) => ParsedLine::BadReply {
            id,
            problem: format!(
                "the driver's reply does not match the protocol ({e}): {}",
                quote(line)
            ),
        },
    }
}

/// Read the driver's handshake line.
pub fn parse_hello(line: &str) -> Result<DriverHello, String> {
    match serde_json::from_str::<DriverMessage>(line) {
        Ok(DriverMessage::Hello(h)) if h.protocol == PROTOCOL_VERSION => Ok(h),
        Ok(DriverMessage::Hello(h)) => Err(format!(
            "the driver speaks protocol {}, this harness speaks {PROTOCOL_VERSION}: {}",
            h.protocol,
            quote(line)
        )),
        Ok(_) => Err(format!(
            "the driver's first line is not a hello: {}",
            quote(line)
        )),
        Err(e) => Err(format!(
            "the driver's first line is not a valid hello ({e}): {}",
            quote(line)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_strictly() {
        let ok = parse_reply(r#"{"type":"outcome","id":3,"outcome":{"verdict":"unsupported"}}"#);
        assert_eq!(
            ok,
            ParsedLine::Reply {
                id: 3,
                result: Ok(Outcome::Unsupported)
            }
        );
        let err = parse_reply(r#"{"type":"error","id":4,"message":"boom"}"#);
        assert_eq!(
            err,
            ParsedLine::Reply {
                id: 4,
                result: Err("boom".into())
            }
        );
        // A misspelt verdict, an extra field, a missing outcome: the line is blamed on its id.
        for bad in [
            r#"{"type":"outcome","id":5,"outcome":{"verdict":"accept"}}"#,
            r#"{"type":"outcome","id":5,"outcome":{"verdict":"unsupported"},"x":1}"#,
            r#"{"type":"outcome","id":5}"#,
            r#"{"type":"hello","id":5,"protocol":1,"name":"a","version":"1","operations":[]}"#,
        ] {
            match parse_reply(bad) {
                ParsedLine::BadReply { id: 5, problem } => {
                    assert!(problem.contains(&quote(bad)), "{problem}")
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        for bad in ["garbage {", r#"{"type":"outcome"}"#, r#"{"id":"5"}"#, "[]"] {
            assert!(
                matches!(parse_reply(bad), ParsedLine::Unattributable(m) if m.contains(&quote(bad))),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_hello_must_match_the_version() {
        let h =
            r#"{"type":"hello","protocol":1,"name":"a","version":"1","operations":["freja.sign"]}"#;
        assert_eq!(parse_hello(h).unwrap().operations, vec!["freja.sign"]);
        assert!(parse_hello(&h.replace(":1,", ":2,")).is_err());
        assert!(parse_hello("hello").is_err());
        assert!(parse_hello(r#"{"type":"error","id":1,"message":"x"}"#).is_err());
    }

    #[test]
    fn long_lines_are_cut_in_messages() {
        let q = quote(&"x".repeat(10_000));
        assert!(q.len() < 400 && q.ends_with("(10000 bytes)"), "{q}");
    }
}
