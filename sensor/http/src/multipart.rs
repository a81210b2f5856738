//! A bounded scanner of `multipart/*` request bodies that checks the part headers.
//!
//! Only what the anomaly needs is kept: the boundary, the current line's first bytes and one
//! flag per line. The body is scanned line by line as it streams in (split anywhere):
//!
//! - before the first delimiter (the preamble), lines are skipped;
//! - a line starting with `--<boundary>` is a delimiter: a part's header block follows (or,
//!   with `--<boundary>--`, the epilogue, which is skipped);
//! - in a part's header block, every line up to the first empty one must be a header field
//!   (`name: value`, the name not empty and without whitespace or control bytes) or the
//!   folded continuation of one. Any other line, a delimiter line included (headers directly
//!   followed by the next boundary, as WinRM's `multipart/encrypted` messages are), raises
//!   `MULTIPART_INVALID_HEADER`, once per message, as Suricata does;
//! - after the empty line, part data runs to the next delimiter line.
//!
//! Checked against Suricata 8.0.6's records: every one of the 178 WinRM
//! `multipart/encrypted` requests of the corpus raises the event once, and well-formed
//! `multipart/form-data` uploads raise nothing.

use crate::headers::{is_ws, strip_eol, trim};

/// Most bytes of one header line kept for the check; a longer line is judged on its start.
const MAX_LINE: usize = 1024;

/// Longest boundary accepted (RFC 2046 allows 70 characters; some leeway for senders).
const MAX_BOUNDARY: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Preamble,
    Headers,
    Data,
    Epilogue,
}

/// Scans one multipart body for invalid part headers.
#[derive(Debug)]
pub(crate) struct MultipartScanner {
    /// `--` followed by the boundary.
    delimiter: Vec<u8>,
    state: State,
    /// The current line's first bytes (at most `MAX_LINE`).
    line: Vec<u8>,
    /// The current line has more bytes than `line` holds.
    line_long: bool,
    /// The anomaly was raised already.
    raised: bool,
    /// Body bytes scanned so far, and the most that are scanned.
    scanned: usize,
    limit: usize,
}

/// The boundary of a `multipart/*` `Content-Type` value, if it names one.
pub(crate) fn boundary(content_type: &[u8]) -> Option<&[u8]> {
    let mut params = content_type.split(|&b| b == b';');
    let media = trim(params.next()?);
    let prefix = media.get(..10)?;
    if !prefix.eq_ignore_ascii_case(b"multipart/") {
        return None;
    }
    params.find_map(|p| {
        let p = trim(p);
        let eq = p.iter().position(|&b| b == b'=')?;
        let (name, value) = (trim(p.get(..eq)?), trim(p.get(eq + 1..)?));
        if !name.eq_ignore_ascii_case(b"boundary") {
            return None;
        }
        let value = match value {
            [b'"', inner @ .., b'"'] => inner,
            v => v,
        };
        (!value.is_empty() && value.len() <= MAX_BOUNDARY).then_some(value)
    })
}

/// True when `line` (without its terminator) is a valid part header field.
fn valid_header(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let name = line.get(..colon).unwrap_or_default();
    !name.is_empty() && name.iter().all(|&b| b.is_ascii_graphic())
}

impl MultipartScanner {
    /// A scanner for a body delimited by `boundary`, scanning at most `limit` bytes.
    pub(crate) fn new(boundary: &[u8], limit: usize) -> Self {
        let mut delimiter = Vec::with_capacity(boundary.len() + 2);
        delimiter.extend_from_slice(b"--");
        delimiter.extend_from_slice(boundary);
        Self {
            delimiter,
            state: State::Preamble,
            line: Vec::new(),
            line_long: false,
            raised: false,
            scanned: 0,
            limit,
        }
    }

    /// Scans the next body bytes; returns true the first time an invalid part header is
    /// found (the caller raises `MULTIPART_INVALID_HEADER`).
    pub(crate) fn feed(&mut self, data: &[u8]) -> bool {
        let room = self.limit.saturating_sub(self.scanned);
        let data = data.get(..room.min(data.len())).unwrap_or_default();
        self.scanned = self.scanned.saturating_add(data.len());
        let mut found = false;
        for piece in data.split_inclusive(|&b| b == b'\n') {
            self.push(piece);
            if piece.last() == Some(&b'\n') {
                found |= self.line_done();
            }
        }
        found
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.state == State::Epilogue {
            return;
        }
        // Part data only needs enough of a line to recognise a delimiter.
        let keep = match self.state {
            State::Headers => MAX_LINE,
            _ => self.delimiter.len() + 2,
        };
        let room = keep.saturating_sub(self.line.len());
        if bytes.len() > room {
            self.line_long = true;
        }
        self.line
            .extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
    }

    /// A line ended; returns true when it raised the anomaly.
    fn line_done(&mut self) -> bool {
        let mut found = false;
        let line = strip_eol(&self.line);
        let delimiter = line.starts_with(&self.delimiter);
        let closing = delimiter
            && line
                .get(self.delimiter.len()..)
                .is_some_and(|rest| rest.starts_with(b"--"));
        match self.state {
            State::Epilogue => {}
            State::Preamble | State::Data => {
                if closing {
                    self.state = State::Epilogue;
                } else if delimiter {
                    self.state = State::Headers;
                }
            }
            State::Headers => {
                if line.is_empty() && !self.line_long {
                    self.state = State::Data;
                } else if delimiter {
                    found = self.raise();
                    self.state = if closing {
                        State::Epilogue
                    } else {
                        State::Headers
                    };
                } else if !line.first().copied().is_some_and(is_ws) && !valid_header(line) {
                    found = self.raise();
                }
            }
        }
        self.line.clear();
        self.line_long = false;
        found
    }

    fn raise(&mut self) -> bool {
        !std::mem::replace(&mut self.raised, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scan_split(body: &[u8], b: &[u8], split: usize) -> usize {
        let mut s = MultipartScanner::new(b, 1 << 20);
        let (x, y) = body.split_at(split.min(body.len()));
        usize::from(s.feed(x)) + usize::from(s.feed(y))
    }

    #[test]
    fn boundary_from_content_type() {
        assert_eq!(
            boundary(b"multipart/form-data; boundary=----WebKitFormBoundaryx"),
            Some(&b"----WebKitFormBoundaryx"[..])
        );
        assert_eq!(
            boundary(
                br#"multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary""#
            ),
            Some(&b"Encrypted Boundary"[..])
        );
        assert_eq!(
            boundary(b"Multipart/Mixed; BOUNDARY=\"x\""),
            Some(&b"x"[..])
        );
        assert_eq!(boundary(b"multipart/form-data"), None);
        assert_eq!(boundary(b"multipart/form-data; boundary=\"\""), None);
        assert_eq!(boundary(b"text/plain; boundary=x"), None);
        assert_eq!(boundary(b"multipart"), None);
    }

    #[test]
    fn well_formed_form_data_raises_nothing_at_any_split() {
        let body = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\
Content-Type: text/plain\r\n  folded\r\n\r\nvalue: with colon\r\nno colon\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.bin\"\r\n\r\n\
\x00\x01binary\r\n--XyZ--\r\nepilogue no colon\r\n";
        for split in 0..=body.len() {
            assert_eq!(scan_split(body, b"XyZ", split), 0, "split {split}");
        }
    }

    #[test]
    fn winrm_parts_without_blank_line_raise_once_at_any_split() {
        // Headers directly followed by the next delimiter, then binary data read as headers.
        let body = b"--Encrypted Boundary\r\n\
Content-Type: application/HTTP-SPNEGO-session-encrypted\r\n\
OriginalContent: type=application/soap+xml;charset=UTF-8;Length=1342\r\n\
--Encrypted Boundary\r\n\
Content-Type: application/octet-stream\r\n\
\x3c\x00\x00\x00\x01\x02 binary\r\nmore\r\n--Encrypted Boundary--\r\n";
        for split in 0..=body.len() {
            assert_eq!(
                scan_split(body, b"Encrypted Boundary", split),
                1,
                "split {split}"
            );
        }
    }

    #[test]
    fn invalid_header_lines() {
        let raise = |body: &[u8]| scan_split(body, b"b", 0);
        assert_eq!(raise(b"--b\r\nNoColon\r\n\r\ndata\r\n--b--\r\n"), 1);
        assert_eq!(raise(b"--b\r\n: empty name\r\n\r\n--b--\r\n"), 1);
        assert_eq!(raise(b"--b\r\nBad Name: v\r\n\r\n--b--\r\n"), 1);
        assert_eq!(raise(b"--b\r\nGood: v\r\n\r\n--b--\r\n"), 0);
        // Bare LF line ends are lines too.
        assert_eq!(raise(b"--b\nGood: v\n\nx\n--b--\n"), 0);
        // Nothing before the first delimiter is checked.
        assert_eq!(raise(b"junk\r\nmore junk\r\n"), 0);
    }

    #[test]
    fn scanning_stops_at_the_limit_and_long_lines_are_bounded() {
        let mut s = MultipartScanner::new(b"b", 10);
        assert!(!s.feed(b"--b\r\nok: 1\r\nNoColon\r\n"));
        let mut s = MultipartScanner::new(b"b", 1 << 20);
        let mut long = b"--b\r\nX: ".to_vec();
        long.extend(std::iter::repeat_n(b'a', 10 * MAX_LINE));
        long.extend_from_slice(b"\r\n\r\n");
        long.extend(std::iter::repeat_n(b'z', 10 * MAX_LINE));
        long.extend_from_slice(b"\r\n--b--\r\n");
        assert!(!s.feed(&long));
        assert!(s.line.capacity() <= 2 * MAX_LINE);
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512), cut in 0usize..512) {
            let mut s = MultipartScanner::new(b"b", 400);
            let cut = cut.min(data.len());
            let raised = usize::from(s.feed(&data[..cut])) + usize::from(s.feed(&data[cut..]));
            prop_assert!(raised <= 1);
            prop_assert!(s.line.len() <= MAX_LINE);
        }
    }
}
