//! One HTTP exchange with a mock, as its responder sees it: the request the TLS front read and
//! the reply the responder chose. The front calls the responder itself, one request at a time
//! per mock, so a responder does in-memory work only (an RSA signature and a CEK wrap at most).

use std::time::Duration;

use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue, IntoHeaderName};
use hyper::{Method, StatusCode};

/// A request as the front read it; the client certificate, if any, is in `CLIENT_CERT_HEADER`.
pub(crate) struct Request {
    /// `http://localhost` and the request target: the path and query are what matter.
    pub url: reqwest::Url,
    pub method: Method,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// What a responder answers. The front frames the body and acts on `FAULT_HEADER`.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
}

impl Reply {
    pub fn new(status: StatusCode) -> Reply {
        Reply {
            status,
            headers: HeaderMap::new(),
            body: Vec::new(),
            delay: None,
        }
    }

    pub fn insert_header(mut self, name: impl IntoHeaderName, value: HeaderValue) -> Reply {
        self.headers.insert(name, value);
        self
    }

    pub fn set_body_bytes(mut self, body: impl Into<Vec<u8>>) -> Reply {
        self.body = body.into();
        self
    }

    pub fn set_delay(mut self, delay: Duration) -> Reply {
        self.delay = Some(delay);
        self
    }

    /// `body` as `content_type`.
    pub fn body(status: StatusCode, content_type: &'static str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::new(status)
            .set_body_bytes(body)
            .insert_header(CONTENT_TYPE, HeaderValue::from_static(content_type))
    }

    pub fn json(status: StatusCode, v: &serde_json::Value) -> Reply {
        Reply::body(status, "application/json", v.to_string())
    }

    /// A failure of the harness's own (a recipe that does not build, a bug): a 500 that says so
    /// in words, so the RP's evidence shows it instead of a broken connection.
    pub fn mock_error(message: &str) -> Reply {
        Reply::body(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain; charset=utf-8",
            format!("eidconf mock error: {message}"),
        )
    }
}

/// A mock's behaviour on the wire.
pub(crate) trait Respond: Send + Sync + 'static {
    fn respond(&self, request: &Request) -> Reply;
}
