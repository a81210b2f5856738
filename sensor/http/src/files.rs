//! The files HTTP transactions carry, as Suricata sees them: every response body with data
//! is a file, and so is a PUT or POST request body that is not `multipart/*`.
//!
//! Names: a response file takes the `filename=` of its `Content-Disposition` header, else
//! the request's path; a request file takes its request's path. The path is the
//! normalised URI's, before any query, with every valid `%XX` escape decoded (as libhtp's
//! parsed path: `%2B` becomes `+`, an invalid `%5` stays).
//!
//! Limits: a file stops at its direction's body limit (`response_body_limit`,
//! `request_body_limit`) and is then `TRUNCATED`, as Suricata's files stop at libhtp's body
//! limits (Suricata's records show responses cut at exactly the default 100 KiB).

use tapwatch_common::Direction;
use tapwatch_files::FileTracker;

use crate::parser::TxSlot;
use crate::transaction::find_header;
use crate::{Header, HttpConfig, HttpTransaction};

/// The value of `name=` in a `Content-Disposition`-style header: the `;`-separated
/// parameter that starts with `name=` (after leading spaces), without surrounding quotes.
pub(crate) fn disposition_param(value: &[u8], name: &[u8]) -> Option<Vec<u8>> {
    value.split(|&b| b == b';').find_map(|part| {
        let start = part.iter().position(|&b| b != b' ' && b != b'\t')?;
        let part = part.get(start..)?;
        let v = part.strip_prefix(name)?.strip_prefix(b"=")?;
        let v = match v {
            [b'"', inner @ ..] => inner.strip_suffix(b"\"").unwrap_or(inner),
            _ => v,
        };
        (!v.is_empty()).then(|| v.to_vec())
    })
}

/// `bytes` with every valid `%XX` escape decoded; invalid ones kept as sent.
fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|&c| (c as char).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// The file name a request's path gives: the normalised path before any query, decoded.
pub(crate) fn path_name(uri_normalized: &[u8]) -> Vec<u8> {
    let path = match uri_normalized.iter().position(|&b| b == b'?') {
        Some(i) => uri_normalized.get(..i).unwrap_or(uri_normalized),
        None => uri_normalized,
    };
    percent_decode(path)
}

fn request_path_name(tx: &HttpTransaction) -> Vec<u8> {
    tx.request
        .as_ref()
        .map(|r| path_name(&r.uri_normalized))
        .unwrap_or_default()
}

/// The name of a response's file.
pub(crate) fn response_file_name(tx: &HttpTransaction, headers: &[Header]) -> Vec<u8> {
    find_header(headers, "content-disposition")
        .and_then(|v| disposition_param(v, b"filename"))
        .unwrap_or_else(|| request_path_name(tx))
}

/// Whether a request body is a file: PUT and POST bodies that are not `multipart/*`.
pub(crate) fn request_body_is_file(method: &[u8], headers: &[Header]) -> bool {
    let multipart = find_header(headers, "content-type").is_some_and(|v| {
        v.len() >= 10
            && v.get(..10)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"multipart/"))
    });
    (method == b"PUT" || method == b"POST") && !multipart
}

/// A tracker for the request body of `slot`'s transaction.
pub(crate) fn request_file(slot: &TxSlot, cfg: &HttpConfig) -> FileTracker {
    FileTracker::open(
        request_path_name(&slot.tx),
        Direction::ToServer,
        slot.tx.tx_id,
        cfg.file_hashes,
        limit(cfg.request_body_limit),
    )
}

/// A tracker for the response body of `slot`'s transaction.
pub(crate) fn response_file(slot: &TxSlot, cfg: &HttpConfig) -> FileTracker {
    let headers = slot
        .tx
        .response
        .as_ref()
        .map(|r| r.headers.as_slice())
        .unwrap_or_default();
    FileTracker::open(
        response_file_name(&slot.tx, headers),
        Direction::ToClient,
        slot.tx.tx_id,
        cfg.file_hashes,
        limit(cfg.response_body_limit),
    )
}

/// A body limit as a file limit: 0 is no limit, as Suricata's.
fn limit(body_limit: usize) -> Option<u64> {
    (body_limit > 0).then_some(body_limit as u64)
}

/// Ends a file and records it in its transaction, when it saw any data: `complete` says
/// whether the body ended where its framing said. A file with gaps ends `TRUNCATED` even
/// when its body ended as framed, as in Suricata's records.
pub(crate) fn end_file(tx: &mut HttpTransaction, file: Option<FileTracker>, complete: bool) {
    let Some(mut file) = file else { return };
    if file.size() == 0 && !file.has_gaps() {
        // No body data came: Suricata opens a file only with the first byte.
        return;
    }
    if complete && !file.has_gaps() {
        file.close();
    } else {
        file.truncate();
    }
    tx.files.push(file.finish());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_filenames() {
        let f = |v: &[u8]| disposition_param(v, b"filename");
        assert_eq!(
            f(b"attachment; filename=\"eicar.txt\""),
            Some(b"eicar.txt".to_vec())
        );
        assert_eq!(f(b"attachment;filename=a b.mp3"), Some(b"a b.mp3".to_vec()));
        assert_eq!(
            f(b"attachment; name=x; filename=\"y\""),
            Some(b"y".to_vec())
        );
        assert_eq!(f(b"attachment"), None);
        assert_eq!(f(b"attachment; filename="), None);
        assert_eq!(f(b"attachment; xfilename=z"), None);
    }

    #[test]
    fn path_names() {
        assert_eq!(path_name(b"/a/b.php?x=1"), b"/a/b.php");
        assert_eq!(path_name(b"/MFEw%2BQ6tk%3D"), b"/MFEw+Q6tk=");
        assert_eq!(path_name(b"/%5"), b"/%5");
        assert_eq!(path_name(b"/%zz%4"), b"/%zz%4");
    }

    #[test]
    fn request_files_are_put_and_post_bodies_but_not_multipart() {
        let h = |v: &[u8]| {
            vec![Header {
                name: b"Content-Type".to_vec(),
                value: v.to_vec(),
            }]
        };
        assert!(request_body_is_file(b"PUT", &[]));
        assert!(request_body_is_file(
            b"POST",
            &h(b"application/x-www-form-urlencoded")
        ));
        assert!(!request_body_is_file(
            b"POST",
            &h(b"Multipart/form-data; boundary=x")
        ));
        assert!(!request_body_is_file(b"GET", &[]));
    }
}
