//! Files through whole conversations: names, sizes, states, gaps, limits and hashes.

use tapwatch_common::{Direction, Timestamp};
use tapwatch_files::{hex, FileHashes, FileInfo, FileState};

use crate::{HttpConfig, HttpEvent, HttpParser};

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

fn ts() -> Timestamp {
    Timestamp::new(1_700_000_000, 5)
}

fn hashing() -> HttpConfig {
    HttpConfig {
        file_hashes: FileHashes {
            md5: true,
            sha1: false,
            sha256: true,
        },
        ..HttpConfig::default()
    }
}

/// Feeds `segments`, each split at `split` (when inside it), with gaps where the data is
/// `None`, then finishes; the files of every transaction, in transaction order.
fn files(
    cfg: &HttpConfig,
    segments: &[(Direction, Option<&[u8]>, u64)],
    split: usize,
) -> Vec<FileInfo> {
    let mut p = HttpParser::new(cfg);
    let mut out = Vec::new();
    for (dir, data, gap) in segments {
        match data {
            Some(d) => {
                let (a, b) = d.split_at(split.min(d.len()));
                p.on_data(*dir, a, ts(), &mut out);
                p.on_data(*dir, b, ts(), &mut out);
            }
            None => p.on_gap(*dir, *gap, &mut out),
        }
    }
    p.finish(ts(), &mut out);
    out.into_iter()
        .filter_map(|e| match e {
            HttpEvent::TransactionComplete(t) => Some(t.files),
            _ => None,
        })
        .flatten()
        .collect()
}

const GET: &[u8] = b"GET /dl/a%2Bb.bin?x=1 HTTP/1.1\r\nHost: h\r\n\r\n";

#[test]
fn chunked_response_named_by_content_disposition_at_every_split() {
    let resp: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename=\"eicar.txt\"\r\n\
        Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    for split in 0..=resp.len() {
        let f = files(&hashing(), &[(C, Some(GET), 0), (S, Some(resp), 0)], split);
        assert_eq!(f.len(), 1, "split {split}");
        let f = &f[0];
        assert_eq!(f.filename, b"eicar.txt");
        assert_eq!(
            (f.size, f.state, f.gaps, f.tx_id),
            (3, FileState::Closed, false, 0)
        );
        assert_eq!(hex(&f.md5.unwrap()), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(f.sha1, None);
    }
}

#[test]
fn response_named_by_the_decoded_path_and_decompressed() {
    let body = super_gzip(b"hello file");
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    resp.extend_from_slice(&body);
    let f = files(
        &HttpConfig::default(),
        &[(C, Some(GET), 0), (S, Some(&resp), 0)],
        50,
    );
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].filename, b"/dl/a+b.bin");
    assert_eq!((f[0].size, f[0].state), (10, FileState::Closed));
    assert_eq!((f[0].md5, f[0].sha256), (None, None));
}

fn super_gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn empty_bodies_are_no_files() {
    let resp: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n\
        HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    let f = files(
        &HttpConfig::default(),
        &[(C, Some(GET), 0), (C, Some(GET), 0), (S, Some(resp), 0)],
        0,
    );
    assert!(f.is_empty());
}

#[test]
fn the_body_limit_truncates_the_file() {
    let cfg = HttpConfig {
        response_body_limit: 4,
        ..hashing()
    };
    let resp: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
    let f = files(&cfg, &[(C, Some(GET), 0), (S, Some(resp), 0)], 45);
    assert_eq!((f[0].size, f[0].state), (4, FileState::Truncated));
    // MD5 of "0123".
    assert_eq!(hex(&f[0].md5.unwrap()), "eb62f6b9306db575c2d596b1279627a4");
}

#[test]
fn a_gap_inside_the_body_is_noted_and_one_past_it_truncates() {
    let head: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123";
    let f = files(
        &hashing(),
        &[
            (C, Some(GET), 0),
            (S, Some(head), 0),
            (S, None, 2),
            (S, Some(b"6789"), 0),
        ],
        0,
    );
    assert_eq!(
        (f[0].size, f[0].state, f[0].gaps),
        (10, FileState::Truncated, true)
    );
    assert_eq!((f[0].md5, f[0].sha256), (None, None));
    let f = files(
        &hashing(),
        &[(C, Some(GET), 0), (S, Some(head), 0), (S, None, 100)],
        0,
    );
    assert_eq!(
        (f[0].size, f[0].state, f[0].gaps),
        (10, FileState::Truncated, true)
    );
}

#[test]
fn a_flow_ending_mid_body_truncates_and_a_close_delimited_body_closes() {
    let cut: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123";
    let f = files(
        &HttpConfig::default(),
        &[(C, Some(GET), 0), (S, Some(cut), 0)],
        0,
    );
    assert_eq!((f[0].size, f[0].state), (4, FileState::Truncated));
    let close: &[u8] = b"HTTP/1.0 200 OK\r\n\r\n0123";
    let f = files(
        &HttpConfig::default(),
        &[(C, Some(GET), 0), (S, Some(close), 0)],
        0,
    );
    assert_eq!((f[0].size, f[0].state), (4, FileState::Closed));
}

#[test]
fn put_and_post_bodies_are_files_multipart_and_get_are_not() {
    let put: &[u8] = b"PUT /up/x.txt HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    let resp: &[u8] = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
    let f = files(&hashing(), &[(C, Some(put), 0), (S, Some(resp), 0)], 7);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].filename, b"/up/x.txt");
    assert_eq!((f[0].size, f[0].state), (3, FileState::Closed));
    let multi: &[u8] = b"POST /f HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b\r\n\
        Content-Length: 3\r\n\r\nabc";
    assert!(files(&hashing(), &[(C, Some(multi), 0), (S, Some(resp), 0)], 0).is_empty());
}

#[test]
fn request_and_response_files_of_pipelined_transactions() {
    let reqs: &[u8] = b"POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nxyGET /b HTTP/1.1\r\n\r\n";
    let resps: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n1HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n22";
    let f = files(
        &HttpConfig::default(),
        &[(C, Some(reqs), 0), (S, Some(resps), 0)],
        30,
    );
    let got: Vec<_> = f
        .iter()
        .map(|f| (f.filename.as_slice(), f.size, f.tx_id))
        .collect();
    assert_eq!(
        got,
        vec![(&b"/a"[..], 2, 0), (&b"/a"[..], 1, 0), (&b"/b"[..], 2, 1)]
    );
}
