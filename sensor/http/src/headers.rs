//! Line framing and header-block handling shared by requests and responses.

use crate::{Header, HttpAnomaly, HttpConfig};

/// SP or HT.
pub(crate) fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `s` without leading and trailing SP/HT.
pub(crate) fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_ws(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_ws(b)).map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or_default()
}

/// `s` without leading and trailing SP, HT, VT, FF, CR and LF.
pub(crate) fn trim_space(s: &[u8]) -> &[u8] {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | 0x0b | 0x0c | b'\r' | b'\n');
    let start = s.iter().position(|b| !space(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !space(b)).map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or_default()
}

/// `line` without its LF or CRLF terminator.
pub(crate) fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A line being assembled from arbitrarily split input, bounded: bytes past the limit are
/// dropped (and remembered as an overflow) until the line's LF arrives.
#[derive(Debug)]
pub(crate) struct LineBuf {
    buf: Vec<u8>,
    limit: usize,
    overflow: bool,
}

impl LineBuf {
    /// An empty buffer keeping at most `limit` bytes of a line.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            buf: Vec::new(),
            limit: limit.max(1),
            overflow: false,
        }
    }

    /// Takes bytes up to and including the first LF (at most `max` bytes); returns how
    /// many were taken and whether the line is now complete.
    pub(crate) fn feed_at_most(&mut self, data: &[u8], max: usize) -> (usize, bool) {
        let window = data.get(..max.min(data.len())).unwrap_or(data);
        match window.iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.push(window.get(..=i).unwrap_or(window));
                (i + 1, true)
            }
            None => {
                self.push(window);
                (window.len(), false)
            }
        }
    }

    /// Takes bytes up to and including the first LF.
    pub(crate) fn feed(&mut self, data: &[u8]) -> (usize, bool) {
        self.feed_at_most(data, data.len())
    }

    fn push(&mut self, bytes: &[u8]) {
        let room = self.limit.saturating_sub(self.buf.len());
        if bytes.len() > room {
            self.overflow = true;
        }
        self.buf
            .extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
    }

    /// How many more bytes the line can take before it overflows.
    pub(crate) fn room(&self) -> usize {
        self.limit.saturating_sub(self.buf.len())
    }

    /// The bytes buffered so far, terminator included.
    pub(crate) fn raw(&self) -> &[u8] {
        &self.buf
    }

    /// True when nothing is buffered.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// True when bytes of the current line were dropped.
    pub(crate) fn overflowed(&self) -> bool {
        self.overflow
    }

    /// Forgets the current line, keeping the allocation.
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.overflow = false;
    }

    /// Moves the buffered bytes out (to process them while `self`'s owner is borrowed
    /// mutably); give the vector back with [`restore`](Self::restore).
    pub(crate) fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Returns a vector from [`take`](Self::take), emptied, and resets the line.
    pub(crate) fn restore(&mut self, mut buf: Vec<u8>) {
        buf.clear();
        self.buf = buf;
        self.overflow = false;
    }
}

/// Which message kind a header block belongs to: selects the anomaly variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Request,
    Response,
}

impl Side {
    pub(crate) fn missing_colon(self) -> HttpAnomaly {
        match self {
            Side::Request => HttpAnomaly::RequestFieldMissingColon,
            Side::Response => HttpAnomaly::ResponseFieldMissingColon,
        }
    }
    pub(crate) fn header_invalid(self) -> HttpAnomaly {
        match self {
            Side::Request => HttpAnomaly::RequestHeaderInvalid,
            Side::Response => HttpAnomaly::ResponseHeaderInvalid,
        }
    }
    pub(crate) fn folding_invalid(self) -> HttpAnomaly {
        match self {
            Side::Request => HttpAnomaly::InvalidRequestFieldFolding,
            Side::Response => HttpAnomaly::InvalidResponseFieldFolding,
        }
    }
    pub(crate) fn too_long(self) -> HttpAnomaly {
        match self {
            Side::Request => HttpAnomaly::RequestFieldTooLong,
            Side::Response => HttpAnomaly::ResponseFieldTooLong,
        }
    }
    pub(crate) fn too_many(self) -> HttpAnomaly {
        match self {
            Side::Request => HttpAnomaly::RequestTooManyHeaders,
            Side::Response => HttpAnomaly::ResponseTooManyHeaders,
        }
    }
    pub(crate) fn repetition(self) -> HttpAnomaly {
        match self {
            Side::Request => HttpAnomaly::RequestHeaderRepetition,
            Side::Response => HttpAnomaly::ResponseHeaderRepetition,
        }
    }
    pub(crate) fn chunk_len(self) -> HttpAnomaly {
        match self {
            Side::Request => HttpAnomaly::InvalidRequestChunkLen,
            Side::Response => HttpAnomaly::InvalidResponseChunkLen,
        }
    }
    pub(crate) fn chunk_ext(self) -> HttpAnomaly {
        match self {
            Side::Request => HttpAnomaly::RequestChunkExtension,
            Side::Response => HttpAnomaly::ResponseChunkExtension,
        }
    }
    pub(crate) fn te_invalid(self) -> HttpAnomaly {
        match self {
            Side::Request => HttpAnomaly::InvalidTransferEncodingValueInRequest,
            Side::Response => HttpAnomaly::InvalidTransferEncodingValueInResponse,
        }
    }
    pub(crate) fn cl_invalid(self) -> HttpAnomaly {
        match self {
            Side::Request => HttpAnomaly::InvalidContentLengthFieldInRequest,
            Side::Response => HttpAnomaly::InvalidContentLengthFieldInResponse,
        }
    }
    pub(crate) fn cl_duplicate(self) -> HttpAnomaly {
        match self {
            Side::Request => HttpAnomaly::DuplicateContentLengthFieldInRequest,
            Side::Response => HttpAnomaly::DuplicateContentLengthFieldInResponse,
        }
    }
}

/// Per-message accounting of a header block: bytes seen, and which once-per-message
/// anomalies were already raised.
#[derive(Debug, Default, Clone)]
pub(crate) struct BlockState {
    bytes: usize,
    too_long: bool,
    too_many: bool,
    last_dropped: bool,
}

impl BlockState {
    /// A block whose start line took `start_line_len` bytes.
    pub(crate) fn new(start_line_len: usize) -> Self {
        Self {
            bytes: start_line_len,
            ..Self::default()
        }
    }

    /// Raises the too-long anomaly once per message.
    pub(crate) fn flag_too_long(&mut self, side: Side, emit: &mut impl FnMut(HttpAnomaly)) {
        if !self.too_long {
            self.too_long = true;
            emit(side.too_long());
        }
    }
}

/// Adds one header line (`raw` with its terminator; `truncated` when the line buffer
/// overflowed) to `headers`, applying folding, the configured bounds and the header
/// anomalies.
pub(crate) fn add_header_line(
    headers: &mut Vec<Header>,
    st: &mut BlockState,
    raw: &[u8],
    truncated: bool,
    side: Side,
    cfg: &HttpConfig,
    emit: &mut impl FnMut(HttpAnomaly),
) {
    st.bytes = st.bytes.saturating_add(raw.len());
    if truncated || st.bytes > cfg.max_header_bytes {
        st.flag_too_long(side, emit);
        if st.bytes > cfg.max_header_bytes {
            st.last_dropped = true;
            return;
        }
    }
    let line = strip_eol(raw);
    // libhtp reads an indented response line that looks like `Name: value` as a header of
    // its own (with invalid folding), not as the continuation of the previous one.
    // A NUL byte starts a continuation line too, as in libhtp.
    let nul_fold = line.first() == Some(&0);
    let folded = (nul_fold || line.first().copied().is_some_and(is_ws))
        && !(side == Side::Response && looks_like_header(line));
    if line.first().copied().is_some_and(is_ws) && !folded {
        emit(side.folding_invalid());
    }
    if folded {
        if st.last_dropped {
            return;
        }
        if let Some(last) = headers.last_mut() {
            let part = if nul_fold {
                trim(line.get(1..).unwrap_or_default())
            } else {
                trim(line)
            };
            if !part.is_empty() {
                if !last.value.is_empty() {
                    last.value.push(b' ');
                }
                last.value.extend_from_slice(part);
            }
            return;
        }
        emit(side.folding_invalid());
    }
    let line = if line.first().copied().is_some_and(is_ws) {
        trim(line)
    } else {
        line
    };
    if headers.len() >= cfg.max_headers {
        if !st.too_many {
            st.too_many = true;
            emit(side.too_many());
        }
        st.last_dropped = true;
        return;
    }
    st.last_dropped = false;
    let (name, value) = match line.iter().position(|&b| b == b':') {
        Some(i) => {
            let name = line.get(..i).unwrap_or_default();
            let value = line.get(i + 1..).unwrap_or_default();
            // libhtp trims a name of all white space, VT and FF included.
            let tname = trim_space(name);
            if tname.is_empty() || tname.len() != name.len() || tname.iter().any(|&b| is_ws(b)) {
                emit(side.header_invalid());
            }
            (tname, trim(value))
        }
        None => {
            emit(side.missing_colon());
            (trim(line), &b""[..])
        }
    };
    let seen = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case(name))
        .take(2)
        .count();
    if seen == 1 {
        emit(side.repetition());
    }
    headers.push(Header {
        name: name.to_vec(),
        value: value.to_vec(),
    });
}

/// `name` without its NUL bytes, lowercased: how libhtp compares the names of the headers
/// that frame and encode a body (a NUL inside `Transfer\0-Encoding` does not hide it).
fn lower_without_nul(name: &[u8]) -> impl Iterator<Item = u8> + '_ {
    name.iter()
        .filter(|&&b| b != 0)
        .map(|b| b.to_ascii_lowercase())
}

/// True when `name`, ignoring ASCII case and NUL bytes, is `want` (lowercase).
pub(crate) fn name_is_nozero(name: &[u8], want: &str) -> bool {
    lower_without_nul(name).eq(want.bytes())
}

/// True when `value`, ignoring ASCII case and NUL bytes, contains `needle` (lowercase).
pub(crate) fn contains_nocase_nozero(value: &[u8], needle: &str) -> bool {
    let hay: Vec<u8> = lower_without_nul(value).collect();
    let needle = needle.as_bytes();
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// The values of the headers whose names are `name` ignoring case and NUL bytes, joined
/// with `", "` as libhtp's header table joins a repeated field; `None` without one.
pub(crate) fn combined_value_nozero(headers: &[Header], name: &str) -> Option<Vec<u8>> {
    combined(headers, |h| name_is_nozero(h, name))
}

/// The values of the headers whose names pass `wanted`, joined with `", "`.
fn combined(headers: &[Header], wanted: impl Fn(&[u8]) -> bool) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    for h in headers.iter().filter(|h| wanted(&h.name)) {
        match out.as_mut() {
            None => out = Some(h.value.clone()),
            Some(v) => {
                v.extend_from_slice(b", ");
                v.extend_from_slice(&h.value);
            }
        }
    }
    out
}

/// RFC 9110's `tchar`.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// True when `line`, after white space, is a token, optional white space and a colon.
fn looks_like_header(line: &[u8]) -> bool {
    let rest = trim(line);
    let name = rest.iter().take_while(|&&b| is_token(b)).count();
    name > 0
        && rest
            .get(name..)
            .map(trim)
            .is_some_and(|r| r.first() == Some(&b':'))
}

/// All values of headers named `name`, joined with `", "` as Suricata's header table
/// combines repeated fields; `None` when there is no such header.
pub(crate) fn combined_value(headers: &[Header], name: &str) -> Option<Vec<u8>> {
    combined(headers, |h| h.eq_ignore_ascii_case(name.as_bytes()))
}

/// Parses a decimal Content-Length value (surrounding whitespace allowed).
fn parse_content_length(v: &[u8]) -> Option<u64> {
    let v = trim(v);
    if v.is_empty() {
        return None;
    }
    v.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// How a message's body is delimited, from its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Until the connection closes (responses only).
    UntilClose,
}

/// What the framing headers say, before the message-kind rules are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Declared {
    /// `Transfer-Encoding` includes `chunked`.
    Chunked,
    /// A valid `Content-Length`.
    Length(u64),
    /// A `Content-Length` or `Transfer-Encoding` that could not be used.
    Invalid,
    /// Neither header.
    Nothing,
}

/// Reads `Transfer-Encoding` and `Content-Length`, raising their anomalies.
pub(crate) fn declared_framing(
    headers: &[Header],
    side: Side,
    emit: &mut impl FnMut(HttpAnomaly),
) -> Declared {
    let mut te_present = false;
    let mut chunked = false;
    for h in headers
        .iter()
        .filter(|h| name_is_nozero(&h.name, "transfer-encoding"))
    {
        te_present = true;
        // libhtp takes any value that contains `chunked` (`xchunked`, `chunked, gzip`,
        // `chun\0ked`) as the chunked coding, as browsers do.
        if contains_nocase_nozero(&h.value, "chunked") {
            chunked = true;
        }
    }
    if te_present && !chunked {
        emit(side.te_invalid());
    }
    let mut first: Option<&[u8]> = None;
    let mut duplicate = false;
    for h in headers
        .iter()
        .filter(|h| name_is_nozero(&h.name, "content-length"))
    {
        match first {
            None => first = Some(&h.value),
            Some(f) if f != h.value.as_slice() => duplicate = true,
            Some(_) => {}
        }
    }
    if duplicate {
        emit(side.cl_duplicate());
    }
    let length = first.map(|v| {
        let parsed = parse_content_length(v);
        if parsed.is_none() {
            emit(side.cl_invalid());
        }
        parsed
    });
    if chunked {
        return Declared::Chunked;
    }
    match length {
        Some(Some(n)) => Declared::Length(n),
        Some(None) => Declared::Invalid,
        None if te_present => Declared::Invalid,
        None => Declared::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(name: &str, value: &str) -> Header {
        Header {
            name: name.as_bytes().to_vec(),
            value: value.as_bytes().to_vec(),
        }
    }

    #[test]
    fn trimming_and_eol() {
        assert_eq!(trim(b" \tab c\t "), b"ab c");
        assert_eq!(trim(b"   "), b"");
        assert_eq!(strip_eol(b"abc\r\n"), b"abc");
        assert_eq!(strip_eol(b"abc\n"), b"abc");
        assert_eq!(strip_eol(b"abc\r"), b"abc");
    }

    #[test]
    fn line_buffer_bounds_and_splits() {
        let mut l = LineBuf::new(4);
        assert_eq!(l.feed(b"ab"), (2, false));
        assert_eq!(l.feed(b"cdef\nxy"), (5, true));
        assert_eq!(l.raw(), b"abcd");
        assert!(l.overflowed());
        l.clear();
        assert_eq!(l.feed_at_most(b"a\nb", 1), (1, false));
        assert_eq!(l.feed(b"\nb"), (1, true));
        assert_eq!(l.raw(), b"a\n");
        assert!(!l.overflowed());
    }

    fn run(lines: &[&str], cfg: &HttpConfig) -> (Vec<Header>, Vec<HttpAnomaly>) {
        let mut headers = Vec::new();
        let mut st = BlockState::new(0);
        let mut an = Vec::new();
        for l in lines {
            add_header_line(
                &mut headers,
                &mut st,
                l.as_bytes(),
                false,
                Side::Request,
                cfg,
                &mut |a| an.push(a),
            );
        }
        (headers, an)
    }

    #[test]
    fn header_lines() {
        let cfg = HttpConfig::default();
        let (hs, an) = run(
            &[
                "Host:  example.com \r\n",
                "X-Long: a\r\n",
                " b\r\n",
                "\tc\r\n",
                "NoColon\r\n",
                "host: again\n",
                "HOST: third\n",
                "Bad Name: v\r\n",
            ],
            &cfg,
        );
        assert_eq!(
            hs,
            vec![
                h("Host", "example.com"),
                h("X-Long", "a b c"),
                h("NoColon", ""),
                h("host", "again"),
                h("HOST", "third"),
                h("Bad Name", "v"),
            ]
        );
        assert_eq!(
            an,
            vec![
                HttpAnomaly::RequestFieldMissingColon,
                HttpAnomaly::RequestHeaderRepetition,
                HttpAnomaly::RequestHeaderInvalid,
            ]
        );
    }

    #[test]
    fn indented_response_header_is_a_header() {
        let cfg = HttpConfig::default();
        let mut headers = Vec::new();
        let mut st = BlockState::new(0);
        let mut an = Vec::new();
        for l in [
            "Connection: close\r\n",
            " Transfer-Encoding: chunked\r\n",
            "\tmore\r\n",
        ] {
            add_header_line(
                &mut headers,
                &mut st,
                l.as_bytes(),
                false,
                Side::Response,
                &cfg,
                &mut |a| an.push(a),
            );
        }
        assert_eq!(
            headers,
            vec![
                h("Connection", "close"),
                h("Transfer-Encoding", "chunked more")
            ]
        );
        assert_eq!(an, vec![HttpAnomaly::InvalidResponseFieldFolding]);
        // A line starting with NUL continues the previous header.
        let (hs, _) = run(&["Transfer-Encoding:\n", "\0chunked\r\n"], &cfg);
        assert_eq!(hs, vec![h("Transfer-Encoding", "chunked")]);
        // Names lose VT and FF around them too, as libhtp trims them.
        let (hs, _) = run(
            &["Transfer-Encoding\x0b: chunked\r\n", "\x0cX: 1\r\n"],
            &cfg,
        );
        assert_eq!(hs, vec![h("Transfer-Encoding", "chunked"), h("X", "1")]);
        // A request's indented line stays a continuation.
        let (hs, _) = run(&["Connection: close\r\n", " X-A: 1\r\n"], &cfg);
        assert_eq!(hs, vec![h("Connection", "close X-A: 1")]);
    }

    #[test]
    fn folding_without_previous_header() {
        let (hs, an) = run(&[" X: 1\r\n"], &HttpConfig::default());
        assert_eq!(hs, vec![h("X", "1")]);
        assert_eq!(an, vec![HttpAnomaly::InvalidRequestFieldFolding]);
    }

    #[test]
    fn header_bounds() {
        let cfg = HttpConfig {
            max_headers: 2,
            max_header_bytes: 25,
            ..HttpConfig::default()
        };
        let (hs, an) = run(&["A: 1\r\n", "B: 2\r\n", "C: 3\r\n", " fold\r\n"], &cfg);
        assert_eq!(hs, vec![h("A", "1"), h("B", "2")]);
        assert_eq!(an, vec![HttpAnomaly::RequestTooManyHeaders]);
        let (hs, an) = run(
            &["A: 0123456789\r\n", "B: 0123456789\r\n", "C: 1\r\n"],
            &cfg,
        );
        assert_eq!(hs, vec![h("A", "0123456789")]);
        assert_eq!(an, vec![HttpAnomaly::RequestFieldTooLong]);
    }

    #[test]
    fn framing_headers() {
        let mut an = Vec::new();
        let mut e = |a| an.push(a);
        assert_eq!(
            declared_framing(&[h("Content-Length", " 12 ")], Side::Request, &mut e),
            Declared::Length(12)
        );
        assert_eq!(
            declared_framing(
                &[
                    h("Transfer-Encoding", "gzip, Chunked"),
                    h("Content-Length", "3")
                ],
                Side::Response,
                &mut e
            ),
            Declared::Chunked
        );
        assert_eq!(
            declared_framing(&[h("Content-Length", "-1")], Side::Response, &mut e),
            Declared::Invalid
        );
        assert_eq!(
            declared_framing(
                &[h("Content-Length", "99999999999999999999")],
                Side::Request,
                &mut e
            ),
            Declared::Invalid
        );
        assert_eq!(
            declared_framing(
                &[h("Content-Length", "1"), h("content-length", "2")],
                Side::Request,
                &mut e
            ),
            Declared::Length(1)
        );
        assert_eq!(
            declared_framing(
                &[h("Transfer-Encoding", "identity")],
                Side::Response,
                &mut e
            ),
            Declared::Invalid
        );
        assert_eq!(
            declared_framing(&[], Side::Response, &mut e),
            Declared::Nothing
        );
        assert_eq!(
            an,
            vec![
                HttpAnomaly::InvalidContentLengthFieldInResponse,
                HttpAnomaly::InvalidContentLengthFieldInRequest,
                HttpAnomaly::DuplicateContentLengthFieldInRequest,
                HttpAnomaly::InvalidTransferEncodingValueInResponse,
            ]
        );
    }

    #[test]
    fn framing_names_and_values_as_libhtp_reads_them() {
        let mut e = |_| {};
        for te in [
            "xchunked",
            "chunkedx",
            "x-chunked",
            "chun\0ked",
            "CHUNKED",
            "gzip,chunked",
        ] {
            assert_eq!(
                declared_framing(&[h("Transfer-Encoding", te)], Side::Response, &mut e),
                Declared::Chunked,
                "{te:?}"
            );
        }
        assert_eq!(
            declared_framing(
                &[h("Transfer\0-encoding", "chunked")],
                Side::Response,
                &mut e
            ),
            Declared::Chunked
        );
        assert_eq!(
            declared_framing(
                &[h("Transfer-Encoding", "chunk ed")],
                Side::Response,
                &mut e
            ),
            Declared::Invalid
        );
        assert!(name_is_nozero(b"Content-\0Encoding", "content-encoding"));
        assert!(!name_is_nozero(b"Content-Encoding ", "content-encoding"));
        assert_eq!(
            combined_value_nozero(
                &[
                    h("Content-Encoding", "gzip"),
                    h("content-encoding\0", "deflate")
                ],
                "content-encoding"
            ),
            Some(b"gzip, deflate".to_vec())
        );
    }

    #[test]
    fn combined_values() {
        let hs = [h("Set-Cookie", "a=1"), h("X", "y"), h("set-cookie", "b=2")];
        assert_eq!(
            combined_value(&hs, "set-cookie"),
            Some(b"a=1, b=2".to_vec())
        );
        assert_eq!(combined_value(&hs, "x"), Some(b"y".to_vec()));
        assert_eq!(combined_value(&hs, "z"), None);
    }
}
