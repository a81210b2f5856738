//! Content-based protocol detection and the table of known methods.

use tapwatch_common::{Direction, Probe};

/// Methods the parser knows: RFC 9110, PATCH, and the WebDAV/DeltaV set. A request line
/// with another method is still parsed, with an `REQUEST_LINE_UNKNOWN_METHOD*` anomaly.
pub(crate) const KNOWN_METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"CONNECT",
    b"TRACE",
    b"PATCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"VERSION-CONTROL",
    b"CHECKOUT",
    b"UNCHECKOUT",
    b"CHECKIN",
    b"UPDATE",
    b"LABEL",
    b"REPORT",
    b"MKWORKSPACE",
    b"MKACTIVITY",
    b"BASELINE-CONTROL",
    b"MERGE",
    b"SEARCH",
];

/// True when `method` is one of [`KNOWN_METHODS`] (case-sensitive, as methods are).
pub(crate) fn is_known_method(method: &[u8]) -> bool {
    KNOWN_METHODS.contains(&method)
}

const RESPONSE_PREFIX: &[u8] = b"HTTP/";

/// Whether the first bytes of one direction of a TCP stream look like HTTP/1.x.
///
/// To the server: a known method followed by a space. To the client: `HTTP/`, ASCII
/// case-insensitive. `NeedMore` while `data` is a strict prefix of something that would
/// match (an empty slice included).
pub fn probe(dir: Direction, data: &[u8]) -> Probe {
    match dir {
        Direction::ToServer => probe_request(data),
        Direction::ToClient => probe_response(data),
    }
}

fn probe_request(data: &[u8]) -> Probe {
    let mut need_more = false;
    for method in KNOWN_METHODS {
        let want = method.len() + 1;
        if data.len() >= want {
            if data.starts_with(method) && data.get(method.len()) == Some(&b' ') {
                return Probe::Match;
            }
        } else if method.starts_with(data) {
            need_more = true;
        }
    }
    if need_more {
        Probe::NeedMore
    } else {
        Probe::NoMatch
    }
}

/// `data` compared with the start of `HTTP/`, ASCII case-insensitive.
pub(crate) fn probe_response(data: &[u8]) -> Probe {
    let n = data.len().min(RESPONSE_PREFIX.len());
    match (data.get(..n), RESPONSE_PREFIX.get(..n)) {
        (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => {
            if n == RESPONSE_PREFIX.len() {
                Probe::Match
            } else {
                Probe::NeedMore
            }
        }
        _ => Probe::NoMatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn request_probe() {
        let s = Direction::ToServer;
        assert_eq!(probe(s, b"GET / HTTP/1.1\r\n"), Probe::Match);
        assert_eq!(probe(s, b"PROPFIND "), Probe::Match);
        assert_eq!(probe(s, b"VERSION-CONTROL /x"), Probe::Match);
        assert_eq!(probe(s, b""), Probe::NeedMore);
        assert_eq!(probe(s, b"G"), Probe::NeedMore);
        assert_eq!(probe(s, b"GET"), Probe::NeedMore);
        assert_eq!(probe(s, b"PROP"), Probe::NeedMore);
        assert_eq!(probe(s, b"GETX"), Probe::NoMatch);
        assert_eq!(probe(s, b"GET\t/"), Probe::NoMatch);
        assert_eq!(probe(s, b"get / HTTP/1.1"), Probe::NoMatch);
        assert_eq!(probe(s, b"\x16\x03\x01"), Probe::NoMatch);
        assert_eq!(probe(s, b"HTTP/1.1 200"), Probe::NoMatch);
    }

    #[test]
    fn response_probe() {
        let c = Direction::ToClient;
        assert_eq!(probe(c, b"HTTP/1.1 200 OK"), Probe::Match);
        assert_eq!(probe(c, b"http/1.0"), Probe::Match);
        assert_eq!(probe(c, b"HTTP"), Probe::NeedMore);
        assert_eq!(probe(c, b""), Probe::NeedMore);
        assert_eq!(probe(c, b"HTTX/"), Probe::NoMatch);
        assert_eq!(probe(c, b"GET / HTTP/1.1"), Probe::NoMatch);
    }

    #[test]
    fn known_methods() {
        assert!(is_known_method(b"MKCOL"));
        assert!(!is_known_method(b"get"));
        assert!(!is_known_method(b""));
    }

    proptest! {
        #[test]
        fn probe_never_panics(data in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = probe(Direction::ToServer, &data);
            let _ = probe(Direction::ToClient, &data);
        }
    }
}
