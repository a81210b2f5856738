//! Request-target normalisation and host/port extraction.

/// The normalised form of a request target, as the detection engine's URI buffer holds it.
///
/// Exactly these steps, in order (a fixed "IDS" personality; nothing is configurable):
/// 1. A fragment (`#...`) is dropped.
/// 2. For an absolute-form target (`scheme://authority/path?query`) the scheme and
///    authority are dropped, keeping the path (`/` if it is empty) and query.
/// 3. The target is split at the first `?`; the query is kept byte for byte.
/// 4. In the path, `%XX` escapes whose byte is an RFC 3986 *unreserved* character
///    (`A-Z a-z 0-9 - . _ ~`) are decoded; every other escape, valid or not, is kept as sent.
/// 5. Empty segments (`//`) are collapsed, and `.` and `..` segments removed as in
///    RFC 3986 section 5.2.4 (`..` never climbs above the root); a trailing `/` is kept.
///
/// Authority-form (`host:port`) and asterisk-form (`*`) targets pass through unchanged.
pub fn normalize_uri(raw: &[u8]) -> Vec<u8> {
    let no_fragment = match raw.iter().position(|&b| b == b'#') {
        Some(i) => raw.get(..i).unwrap_or(raw),
        None => raw,
    };
    let (absolute, target) = match absolute_parts(no_fragment) {
        Some((_, rest)) => (true, rest),
        None => (false, no_fragment),
    };
    let (path, query) = match target.iter().position(|&b| b == b'?') {
        Some(i) => (target.get(..i).unwrap_or(target), target.get(i..)),
        None => (target, None),
    };
    let decoded = decode_unreserved(path);
    let mut out = remove_dot_segments(&decoded);
    if out.is_empty() && absolute {
        out.push(b'/');
    }
    if let Some(q) = query {
        out.extend_from_slice(q);
    }
    out
}

/// For an absolute-form target, its authority and the rest (path and query).
pub(crate) fn absolute_parts(raw: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = raw.iter().position(|&b| b == b':')?;
    let scheme = raw.get(..colon)?;
    let valid_scheme = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    let after = raw.get(colon + 1..)?;
    if !valid_scheme || !after.starts_with(b"//") {
        return None;
    }
    let rest = after.get(2..)?;
    let end = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    Some((rest.get(..end)?, rest.get(end..)?))
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn decode_unreserved(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    let mut i = 0;
    while let Some(&b) = path.get(i) {
        if b == b'%' {
            if let (Some(h), Some(l)) = (
                path.get(i + 1).copied().and_then(hex_val),
                path.get(i + 2).copied().and_then(hex_val),
            ) {
                let v = (h << 4) | l;
                if is_unreserved(v) {
                    out.push(v);
                    i += 3;
                    continue;
                }
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

fn remove_dot_segments(path: &[u8]) -> Vec<u8> {
    let absolute = path.first() == Some(&b'/');
    let mut kept: Vec<&[u8]> = Vec::new();
    let mut trailing = false;
    let count = path.split(|&b| b == b'/').count();
    for (i, seg) in path.split(|&b| b == b'/').enumerate() {
        let last = i + 1 == count;
        match seg {
            b"" | b"." => trailing = last,
            b".." => {
                kept.pop();
                trailing = last;
            }
            s => {
                kept.push(s);
                trailing = false;
            }
        }
    }
    let mut out = Vec::with_capacity(path.len());
    if absolute {
        out.push(b'/');
    }
    for (i, seg) in kept.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(seg);
    }
    if trailing && !kept.is_empty() {
        out.push(b'/');
    }
    out
}

/// Why an authority (`[userinfo@]host[:port]`) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthorityError {
    /// The host part is empty or has characters a host name cannot have.
    InvalidHost,
}

/// A parsed authority: normalised host (lowercase, no trailing dots) and port, where the
/// port is `Some(None)` when present but not a number in 1..=65535.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authority {
    pub host: Vec<u8>,
    pub port: Option<Option<u16>>,
}

fn valid_reg_name(host: &[u8]) -> bool {
    !host.is_empty()
        && host.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.'
                        | b'_'
                        | b'~'
                        | b'%'
                        | b'!'
                        | b'$'
                        | b'&'
                        | b'\''
                        | b'('
                        | b')'
                        | b'*'
                        | b'+'
                        | b','
                        | b';'
                        | b'='
                )
        })
}

fn valid_ip_literal(host: &[u8]) -> bool {
    match host.strip_prefix(b"[").and_then(|h| h.strip_suffix(b"]")) {
        Some(inner) => {
            !inner.is_empty()
                && inner
                    .iter()
                    .all(|&b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.'))
        }
        None => false,
    }
}

fn parse_port(p: &[u8]) -> Option<u16> {
    if p.is_empty() || p.len() > 5 || !p.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = p
        .iter()
        .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'));
    u16::try_from(v).ok().filter(|&v| v != 0)
}

/// Parses `[userinfo@]host[:port]` (surrounding whitespace ignored).
pub(crate) fn parse_authority(raw: &[u8]) -> Result<Authority, AuthorityError> {
    let raw = crate::headers::trim(raw);
    let hostport = match raw.iter().rposition(|&b| b == b'@') {
        Some(i) => raw.get(i + 1..).unwrap_or_default(),
        None => raw,
    };
    let (host, port) = if hostport.first() == Some(&b'[') {
        let close = hostport
            .iter()
            .position(|&b| b == b']')
            .ok_or(AuthorityError::InvalidHost)?;
        let host = hostport.get(..=close).unwrap_or_default();
        let rest = hostport.get(close + 1..).unwrap_or_default();
        if !valid_ip_literal(host) {
            return Err(AuthorityError::InvalidHost);
        }
        match rest.split_first() {
            None => (host, None),
            Some((b':', p)) => (host, Some(p)),
            Some(_) => return Err(AuthorityError::InvalidHost),
        }
    } else {
        match hostport.iter().rposition(|&b| b == b':') {
            Some(i) => (hostport.get(..i).unwrap_or_default(), hostport.get(i + 1..)),
            None => (hostport, None),
        }
    };
    let mut host = host.to_ascii_lowercase();
    while host.last() == Some(&b'.') {
        host.pop();
    }
    if !(valid_reg_name(&host) || valid_ip_literal(&host)) {
        return Err(AuthorityError::InvalidHost);
    }
    let port = match port {
        None | Some(b"") => None,
        Some(p) => Some(parse_port(p)),
    };
    Ok(Authority { host, port })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn n(s: &str) -> String {
        String::from_utf8(normalize_uri(s.as_bytes())).unwrap()
    }

    #[test]
    fn normalisation_steps() {
        assert_eq!(n("/"), "/");
        assert_eq!(n("/a/b/c.html?x=1&y=%41"), "/a/b/c.html?x=1&y=%41");
        assert_eq!(n("/%61%62%2Fc"), "/ab%2Fc");
        assert_eq!(n("/a%7e%5f"), "/a~_");
        assert_eq!(n("/%zz%4"), "/%zz%4");
        assert_eq!(n("//a///b//"), "/a/b/");
        assert_eq!(n("/a/./b/../c"), "/a/c");
        assert_eq!(n("/../../etc/passwd"), "/etc/passwd");
        assert_eq!(n("/%2e%2e/%2E%2E/etc/passwd"), "/etc/passwd");
        assert_eq!(n("/a/.."), "/");
        assert_eq!(n("/a/b/.?q=/../x"), "/a/b/?q=/../x");
        assert_eq!(n("http://Example.com:8080/x/../y?z#frag"), "/y?z");
        assert_eq!(n("http://example.com"), "/");
        assert_eq!(n("http://example.com?q"), "/?q");
        assert_eq!(n("example.com:443"), "example.com:443");
        assert_eq!(n("*"), "*");
        assert_eq!(n(""), "");
    }

    #[test]
    fn authority_parsing() {
        let a = parse_authority(b" WWW.Example.COM.:8080 ").unwrap();
        assert_eq!(a.host, b"www.example.com");
        assert_eq!(a.port, Some(Some(8080)));
        let a = parse_authority(b"user:pw@host").unwrap();
        assert_eq!((a.host.as_slice(), a.port), (&b"host"[..], None));
        let a = parse_authority(b"[::1]:80").unwrap();
        assert_eq!((a.host.as_slice(), a.port), (&b"[::1]"[..], Some(Some(80))));
        let a = parse_authority(b"host:").unwrap();
        assert_eq!(a.port, None);
        assert_eq!(parse_authority(b"host:99999").unwrap().port, Some(None));
        assert_eq!(parse_authority(b"host:0").unwrap().port, Some(None));
        assert_eq!(parse_authority(b"host:8a").unwrap().port, Some(None));
        assert_eq!(parse_authority(b""), Err(AuthorityError::InvalidHost));
        assert_eq!(parse_authority(b"a b"), Err(AuthorityError::InvalidHost));
        assert_eq!(
            parse_authority(br#"{"verbose":false,"echo":true}"#),
            Err(AuthorityError::InvalidHost)
        );
        assert_eq!(parse_authority(b"[zz]"), Err(AuthorityError::InvalidHost));
    }

    #[test]
    fn absolute_form_split() {
        assert_eq!(
            absolute_parts(b"http://h:1/p?q"),
            Some((&b"h:1"[..], &b"/p?q"[..]))
        );
        assert_eq!(absolute_parts(b"/p:x//"), None);
        assert_eq!(absolute_parts(b"host:443"), None);
    }

    proptest! {
        #[test]
        fn never_panics(raw in proptest::collection::vec(any::<u8>(), 0..64)) {
            let out = normalize_uri(&raw);
            prop_assert!(out.len() <= raw.len() + 1);
            let _ = parse_authority(&raw);
        }
    }
}
