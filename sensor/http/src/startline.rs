//! Request lines and status lines.

use crate::headers::{is_ws, trim};
use crate::probe::is_known_method;
use crate::HttpAnomaly;

/// Most anomalies one start line can raise.
const MAX_LINE_ANOMALIES: usize = 3;

/// A small fixed list of anomalies (no allocation on the packet path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Anomalies {
    items: [Option<HttpAnomaly>; MAX_LINE_ANOMALIES],
}

impl Anomalies {
    fn push(&mut self, a: HttpAnomaly) {
        if let Some(slot) = self.items.iter_mut().find(|s| s.is_none()) {
            *slot = Some(a);
        }
    }

    /// The anomalies, in the order raised.
    pub(crate) fn iter(&self) -> impl Iterator<Item = HttpAnomaly> + '_ {
        self.items.iter().flatten().copied()
    }
}

/// The parts of a request line (borrowed from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestLine<'a> {
    pub method: &'a [u8],
    pub uri: &'a [u8],
    pub protocol: &'a [u8],
    /// A known method and no protocol: an HTTP/0.9 simple request, which has no headers.
    pub http09: bool,
    pub anomalies: Anomalies,
}

/// True for `HTTP/<digit>.<digit>` (`HTTP` in any case).
pub(crate) fn valid_protocol(p: &[u8]) -> bool {
    matches!(p, [h, t1, t2, p2, b'/', major, b'.', minor]
        if [*h, *t1, *t2, *p2].eq_ignore_ascii_case(b"HTTP")
            && major.is_ascii_digit() && minor.is_ascii_digit())
}

/// True for a valid protocol older than HTTP/1.1.
pub(crate) fn protocol_before_1_1(p: &[u8]) -> bool {
    match p {
        [_, _, _, _, _, major, _, minor] if valid_protocol(p) => (*major, *minor) < (b'1', b'1'),
        _ => false,
    }
}

/// Splits at the first SP/HT: (token, delimiter, rest after all following whitespace).
fn split_token(s: &[u8]) -> (&[u8], Option<u8>, &[u8]) {
    match s.iter().position(|&b| is_ws(b)) {
        Some(i) => {
            let rest = s.get(i..).unwrap_or_default();
            let skip = rest.iter().take_while(|&&b| is_ws(b)).count();
            (
                s.get(..i).unwrap_or_default(),
                s.get(i).copied(),
                rest.get(skip..).unwrap_or_default(),
            )
        }
        None => (s, None, &[]),
    }
}

/// Parses a request line (without its terminator).
///
/// The method ends at the first SP or HT; the URI runs to the last whitespace when what
/// follows it is `HTTP/...` (so a URI with spaces stays whole), else to the next
/// whitespace; the protocol is the rest, trimmed.
pub(crate) fn parse_request_line(line: &[u8]) -> RequestLine<'_> {
    let mut anomalies = Anomalies::default();
    let lead = line.iter().take_while(|&&b| is_ws(b)).count();
    if lead > 0 {
        anomalies.push(HttpAnomaly::RequestLineLeadingWhitespace);
    }
    let line = trim(line);
    let (method, delim, rest) = split_token(line);
    if delim.is_some_and(|d| d != b' ') {
        anomalies.push(HttpAnomaly::MethodDelimNonCompliant);
    }
    let (uri, protocol) = match rest.iter().rposition(|&b| is_ws(b)) {
        Some(i)
            if rest
                .get(i + 1..)
                .and_then(|p| p.get(..5))
                .is_some_and(|p| p.eq_ignore_ascii_case(b"HTTP/")) =>
        {
            let uri = trim(rest.get(..i).unwrap_or_default());
            if rest.get(uri.len()).is_some_and(|&d| d != b' ') {
                anomalies.push(HttpAnomaly::UriDelimNonCompliant);
            }
            (uri, rest.get(i + 1..).unwrap_or_default())
        }
        _ => {
            let (uri, delim, protocol) = split_token(rest);
            if delim.is_some_and(|d| d != b' ') {
                anomalies.push(HttpAnomaly::UriDelimNonCompliant);
            }
            (uri, protocol)
        }
    };
    let known = is_known_method(method);
    let http09 = protocol.is_empty() && known;
    let class = match (known, protocol.is_empty(), valid_protocol(protocol)) {
        (true, true, _) => Some(HttpAnomaly::RequestLineMissingProtocol),
        (false, true, _) => Some(HttpAnomaly::RequestLineUnknownMethodNoProtocol),
        (true, false, false) => Some(HttpAnomaly::RequestLineInvalid),
        (false, false, false) => Some(HttpAnomaly::RequestLineUnknownMethodInvalidProtocol),
        (false, false, true) => Some(HttpAnomaly::RequestLineUnknownMethod),
        (true, false, true) => None,
    };
    if let Some(a) = class {
        anomalies.push(a);
    }
    RequestLine {
        method,
        uri,
        protocol,
        http09,
        anomalies,
    }
}

/// The parts of a status line (borrowed from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StatusLine<'a> {
    pub protocol: &'a [u8],
    pub status_raw: &'a [u8],
    /// The code when `status_raw` is three digits from 100 to 999.
    pub status: Option<u16>,
    pub reason: &'a [u8],
    pub anomalies: Anomalies,
}

/// Parses a status line (without its terminator).
pub(crate) fn parse_status_line(line: &[u8]) -> StatusLine<'_> {
    let mut anomalies = Anomalies::default();
    let line = trim(line);
    let (protocol, _, rest) = split_token(line);
    let (status_raw, _, reason) = split_token(rest);
    if !valid_protocol(protocol) {
        anomalies.push(HttpAnomaly::ResponseLineInvalidProtocol);
    }
    let status = match status_raw {
        [a, b, c] if status_raw.iter().all(u8::is_ascii_digit) && *a != b'0' => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    };
    if status.is_none() {
        anomalies.push(HttpAnomaly::ResponseInvalidStatus);
    }
    StatusLine {
        protocol,
        status_raw,
        status,
        reason: trim(reason),
        anomalies,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn req(s: &[u8]) -> (String, String, String, bool, Vec<HttpAnomaly>) {
        let r = parse_request_line(s);
        (
            String::from_utf8_lossy(r.method).into_owned(),
            String::from_utf8_lossy(r.uri).into_owned(),
            String::from_utf8_lossy(r.protocol).into_owned(),
            r.http09,
            r.anomalies.iter().collect(),
        )
    }

    #[test]
    fn request_lines() {
        assert_eq!(
            req(b"GET /a?b HTTP/1.1"),
            (
                "GET".into(),
                "/a?b".into(),
                "HTTP/1.1".into(),
                false,
                vec![]
            )
        );
        assert_eq!(
            req(b"GET /a b HTTP/1.0"),
            (
                "GET".into(),
                "/a b".into(),
                "HTTP/1.0".into(),
                false,
                vec![]
            )
        );
        assert_eq!(
            req(b"GET /"),
            (
                "GET".into(),
                "/".into(),
                "".into(),
                true,
                vec![HttpAnomaly::RequestLineMissingProtocol]
            )
        );
        assert_eq!(
            req(b"GET/HTTP/1.1"),
            (
                "GET/HTTP/1.1".into(),
                "".into(),
                "".into(),
                false,
                vec![HttpAnomaly::RequestLineUnknownMethodNoProtocol]
            )
        );
        assert_eq!(
            req(b"FOO /x HTTP/1.1"),
            (
                "FOO".into(),
                "/x".into(),
                "HTTP/1.1".into(),
                false,
                vec![HttpAnomaly::RequestLineUnknownMethod]
            )
        );
        assert_eq!(
            req(b"FOO /x HTTP/1."),
            (
                "FOO".into(),
                "/x".into(),
                "HTTP/1.".into(),
                false,
                vec![HttpAnomaly::RequestLineUnknownMethodInvalidProtocol]
            )
        );
        assert_eq!(
            req(b" GET\t/x\tHTTP/1.1"),
            (
                "GET".into(),
                "/x".into(),
                "HTTP/1.1".into(),
                false,
                vec![
                    HttpAnomaly::RequestLineLeadingWhitespace,
                    HttpAnomaly::MethodDelimNonCompliant,
                    HttpAnomaly::UriDelimNonCompliant
                ]
            )
        );
        assert_eq!(
            req(b"GET /x FTP/1.0").4,
            vec![HttpAnomaly::RequestLineInvalid]
        );
    }

    #[test]
    fn status_lines() {
        let s = parse_status_line(b"HTTP/1.1 200 OK fine");
        assert_eq!(
            (s.protocol, s.status_raw, s.status, s.reason),
            (&b"HTTP/1.1"[..], &b"200"[..], Some(200), &b"OK fine"[..])
        );
        assert_eq!(s.anomalies.iter().count(), 0);
        let s = parse_status_line(b"HTTP/1.0 2XX");
        assert_eq!((s.status, s.reason), (None, &b""[..]));
        assert_eq!(
            s.anomalies.iter().collect::<Vec<_>>(),
            vec![HttpAnomaly::ResponseInvalidStatus]
        );
        let s = parse_status_line(b"HTTP/1 404");
        assert_eq!(s.status, Some(404));
        assert_eq!(
            s.anomalies.iter().collect::<Vec<_>>(),
            vec![HttpAnomaly::ResponseLineInvalidProtocol]
        );
        assert_eq!(parse_status_line(b"HTTP/1.1 099").status, None);
        assert_eq!(parse_status_line(b"HTTP/1.1 1000").status, None);
    }

    #[test]
    fn protocols() {
        assert!(valid_protocol(b"HTTP/1.1"));
        assert!(valid_protocol(b"http/1.0"));
        assert!(!valid_protocol(b"HTTP/1."));
        assert!(!valid_protocol(b"HTTP/11.1"));
        assert!(protocol_before_1_1(b"HTTP/1.0"));
        assert!(protocol_before_1_1(b"HTTP/0.9"));
        assert!(!protocol_before_1_1(b"HTTP/1.1"));
        assert!(!protocol_before_1_1(b"HTTP/2.0"));
        assert!(!protocol_before_1_1(b""));
    }

    proptest! {
        #[test]
        fn never_panic(line in proptest::collection::vec(any::<u8>(), 0..80)) {
            let r = parse_request_line(&line);
            prop_assert!(r.method.len() + r.uri.len() + r.protocol.len() <= line.len());
            let s = parse_status_line(&line);
            prop_assert!(s.protocol.len() + s.status_raw.len() <= line.len());
        }
    }
}
