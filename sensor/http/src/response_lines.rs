//! How libhtp (and so Suricata, and browsers) reads the lines of a response's head: which
//! first line is a status line, how lone CRs and deformed line ends end lines, and which
//! line ends belong to the end of the head rather than to the body. The response parser
//! (`response.rs`) applies these rules; HTTP Evader's captures probe every one of them.

/// What the first line of a response is, as libhtp decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineKind {
    /// Too few bytes yet to tell.
    Undecided,
    /// Only white space: skipped.
    Blank,
    /// Starts with `http` (any case) after white space and NUL bytes.
    Status,
    /// Anything else.
    Other,
}

/// How a line of a response's head ended: what the next line's first bytes mean depends
/// on it (libhtp's deformed line ends).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum LineEnd {
    #[default]
    Crlf,
    /// A bare LF.
    Lf,
    /// A CR not followed by LF.
    Cr,
}

impl LineEnd {
    pub(crate) fn of(line: &[u8]) -> LineEnd {
        if line.ends_with(b"\r\n") {
            LineEnd::Crlf
        } else if line.ends_with(b"\n") {
            LineEnd::Lf
        } else if line.ends_with(b"\r") {
            LineEnd::Cr
        } else {
            LineEnd::Crlf
        }
    }
}

/// A line end that belongs to the end of the header block and so is not body, when it
/// comes next.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum SkipBeforeBody {
    #[default]
    Nothing,
    /// A bare LF.
    Lf,
    /// CRLF or a bare LF.
    Eol,
}

impl SkipBeforeBody {
    /// How many leading bytes of `data` to skip.
    pub(crate) fn len_in(self, data: &[u8]) -> usize {
        match self {
            SkipBeforeBody::Nothing => 0,
            SkipBeforeBody::Lf => usize::from(data.first() == Some(&b'\n')),
            SkipBeforeBody::Eol if data.starts_with(b"\r\n") => 2,
            SkipBeforeBody::Eol => usize::from(data.first() == Some(&b'\n')),
        }
    }
}

/// A line of only CR, SP and HT after a first CR, ended by an optional LF.
pub(crate) fn is_cr_run(line: &[u8]) -> bool {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    body.first() == Some(&b'\r')
        && body.len() >= 2
        && body.iter().all(|&b| matches!(b, b'\r' | b' ' | b'\t'))
}

/// A line of only spaces and tabs (at least one) ended by a bare LF.
pub(crate) fn is_empty_fold(line: &[u8]) -> bool {
    line.len() >= 2
        && line.ends_with(b"\n")
        && !line.ends_with(b"\r\n")
        && line.iter().rev().skip(1).all(|&b| b == b' ' || b == b'\t')
}

/// SP, HT, CR, LF, VT and FF.
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c)
}

/// The kind of the (partial, unless `complete`) first line `line` of a response.
pub(crate) fn first_line_kind(line: &[u8], complete: bool) -> LineKind {
    let start = line
        .iter()
        .position(|&b| !is_space(b) && b != 0)
        .unwrap_or(line.len());
    let rest = line.get(start..).unwrap_or_default();
    let http_prefix = rest.len().min(4);
    let starts_http = rest
        .get(..http_prefix)
        .is_some_and(|p| p.eq_ignore_ascii_case(&b"http"[..http_prefix]));
    if line.iter().all(|&b| is_space(b)) {
        if complete {
            LineKind::Blank
        } else {
            LineKind::Undecided
        }
    } else if starts_http && rest.len() >= 4 {
        LineKind::Status
    } else if starts_http && !complete {
        LineKind::Undecided
    } else {
        LineKind::Other
    }
}

/// `line` without any CR and LF at its end.
pub(crate) fn strip_all_eol(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|&b| b != b'\r' && b != b'\n')
        .map_or(0, |i| i + 1);
    line.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_lines() {
        assert_eq!(
            first_line_kind(b"HTTP/1.1 200 OK\r\n", true),
            LineKind::Status
        );
        assert_eq!(first_line_kind(b" \0http", false), LineKind::Status);
        assert_eq!(first_line_kind(b"Htt", false), LineKind::Undecided);
        assert_eq!(first_line_kind(b"Htt\r\n", true), LineKind::Other);
        assert_eq!(first_line_kind(b" \t\r\n", true), LineKind::Blank);
        assert_eq!(first_line_kind(b"  ", false), LineKind::Undecided);
        assert_eq!(first_line_kind(b"SIP/2.0 200", false), LineKind::Other);
        assert_eq!(strip_all_eol(b"ab\r\n\r"), b"ab");
        assert_eq!(strip_all_eol(b"\r\n"), b"");
    }

    #[test]
    fn line_ends_and_runs() {
        assert_eq!(LineEnd::of(b"a\r\n"), LineEnd::Crlf);
        assert_eq!(LineEnd::of(b"a\n"), LineEnd::Lf);
        assert_eq!(LineEnd::of(b"a\r"), LineEnd::Cr);
        assert!(is_cr_run(b"\r\r\n"));
        assert!(is_cr_run(b"\r \t\r"));
        assert!(!is_cr_run(b"\r\n"));
        assert!(!is_cr_run(b"\rX\n"));
        assert!(is_empty_fold(b" \n") && is_empty_fold(b"\t \n"));
        assert!(!is_empty_fold(b" \r\n") && !is_empty_fold(b"\n") && !is_empty_fold(b" a\n"));
        assert_eq!(SkipBeforeBody::Eol.len_in(b"\r\nbody"), 2);
        assert_eq!(SkipBeforeBody::Eol.len_in(b"\nbody"), 1);
        assert_eq!(SkipBeforeBody::Lf.len_in(b"\r\nbody"), 0);
        assert_eq!(SkipBeforeBody::Nothing.len_in(b"\n"), 0);
    }
}
