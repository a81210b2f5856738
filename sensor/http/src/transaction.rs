//! The owned records the parser produces: requests, responses and transactions.

use tapwatch_common::Timestamp;

/// One header field, as sent: original case, value trimmed of surrounding whitespace,
/// folded continuation lines joined with a single space.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// The field name, without the colon.
    pub name: Vec<u8>,
    /// The field value.
    pub value: Vec<u8>,
}

/// The first header named `name` (ASCII case-insensitive) in `headers`.
pub(crate) fn find_header<'a>(headers: &'a [Header], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name.as_bytes()))
        .map(|h| h.value.as_slice())
}

/// An HTTP request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    /// The method token, as sent.
    pub method: Vec<u8>,
    /// The request target exactly as on the request line (what EVE logs as `url`).
    pub uri_raw: Vec<u8>,
    /// The normalised path and query the detection engine inspects; see
    /// [`normalize_uri`](crate::normalize_uri) for exactly what is done.
    pub uri_normalized: Vec<u8>,
    /// The protocol token, e.g. `HTTP/1.1`; empty for an HTTP/0.9 simple request.
    pub protocol: Vec<u8>,
    /// Headers in arrival order (chunked trailers appended after them).
    pub headers: Vec<Header>,
    /// The header block exactly as received: every header line with its own whitespace,
    /// folding and line terminator, and the empty line that ends the block (what the engine
    /// inspects as `http.header.raw`); at most `max_header_bytes`.
    pub headers_raw: Vec<u8>,
    /// The decoded (de-chunked) body, truncated at `request_body_limit`.
    pub body: Vec<u8>,
    /// The full decoded body length, including what was not kept.
    pub body_len: u64,
    /// Time of the data that carried the request line.
    pub ts: Timestamp,
    /// The host the request is for: from an absolute or authority-form URI, else from the
    /// `Host` header; lowercased, without port or trailing dots (EVE `hostname`).
    pub hostname: Option<Vec<u8>>,
    /// The port named with the host, where one was (EVE `http_port`).
    pub port: Option<u16>,
}

impl Request {
    /// The value of the first header named `name`, ASCII case-insensitive.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        find_header(&self.headers, name)
    }

    /// The raw `Host` header value.
    pub fn host(&self) -> Option<&[u8]> {
        self.header("host")
    }

    /// The `User-Agent` header value.
    pub fn user_agent(&self) -> Option<&[u8]> {
        self.header("user-agent")
    }

    /// The `Cookie` header value.
    pub fn cookie(&self) -> Option<&[u8]> {
        self.header("cookie")
    }
}

/// An HTTP response (the final one: interim 1xx responses are not kept).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// The protocol token of the status line, e.g. `HTTP/1.1`; empty when the server sent
    /// no status line (an HTTP/0.9 style response).
    pub protocol: Vec<u8>,
    /// The status code when `status_raw` is a three-digit number.
    pub status: Option<u16>,
    /// The status code token as sent.
    pub status_raw: Vec<u8>,
    /// The reason phrase.
    pub reason: Vec<u8>,
    /// Headers in arrival order (chunked trailers appended after them).
    pub headers: Vec<Header>,
    /// The header block exactly as received, as [`Request::headers_raw`].
    pub headers_raw: Vec<u8>,
    /// The body after de-chunking and, when `Content-Encoding` names gzip or deflate and
    /// decompression is on, decompression; truncated at `response_body_limit`.
    pub body: Vec<u8>,
    /// Body bytes as sent, what Suricata logs as EVE `length`: the bytes after the
    /// headers up to the end of the body, chunk-size lines and chunk CRLFs included up to
    /// the last-chunk line (`0\r\n`), trailers excluded; before any decompression.
    /// (Checked against Suricata 8 records: a chunked body of 4,660 data bytes in 4,671
    /// framed bytes is logged as `length: 4671`.)
    pub body_len: u64,
    /// Time of the data that carried the status line.
    pub ts: Timestamp,
}

impl Response {
    /// The value of the first header named `name`, ASCII case-insensitive.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        find_header(&self.headers, name)
    }
}

/// One request and the response that answered it: the record to log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpTransaction {
    /// 0, 1, 2... per flow, in request order (a response nobody asked for gets the next
    /// number too).
    pub tx_id: u64,
    /// The request; `None` for a response that matched no request.
    pub request: Option<Request>,
    /// The response; `None` when none was seen.
    pub response: Option<Response>,
    /// True when part of the request or response was not seen: a stream gap, the flow
    /// ending mid-message, or the transaction evicted by `max_pending_transactions`.
    pub incomplete: bool,
    /// The files the transaction carried, in the order they ended (see the crate's rules
    /// for what is a file).
    pub files: Vec<tapwatch_files::FileInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lookup_is_case_insensitive_and_first_wins() {
        let req = Request {
            headers: vec![
                Header {
                    name: b"HOST".to_vec(),
                    value: b"a".to_vec(),
                },
                Header {
                    name: b"host".to_vec(),
                    value: b"b".to_vec(),
                },
                Header {
                    name: b"User-Agent".to_vec(),
                    value: b"ua".to_vec(),
                },
            ],
            ..Request::default()
        };
        assert_eq!(req.host(), Some(&b"a"[..]));
        assert_eq!(req.user_agent(), Some(&b"ua"[..]));
        assert_eq!(req.cookie(), None);
        assert_eq!(req.header("user-AGENT"), Some(&b"ua"[..]));
    }
}
