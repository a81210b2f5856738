//! Buffer transforms, applied in rule order, each in place on the scratch buffer.
//!
//! As Suricata documents them: `strip_whitespace` removes what C's `isspace()` calls white
//! space (space, `\t \n \v \f \r`); `compress_whitespace` turns each run of white space into
//! one space; `url_decode` turns `%XX` (two hex digits) into the byte and `+` into a space and
//! leaves invalid escapes as they are; `to_md5`/`to_sha1`/`to_sha256` replace the buffer with
//! the raw digest; `header_lowercase` lower-cases header names (up to the first `:` of each
//! line); `strip_pseudo_headers` removes lines starting with `:`; `from_base64` decodes
//! `bytes` bytes from `offset` (see [`super::base64`]); `xor` applies the key cyclically;
//! `pcrexform` replaces the buffer with the expression's first capture group (unchanged when
//! it does not match).

use md5::Digest;
use pcre2::bytes::Regex;
use tapwatch_rules::signature::{Base64Mode, Transform};

use super::base64::{self, Mode};
use super::CompileError;

/// A prepared transform.
#[derive(Debug)]
pub(super) enum CompiledTransform {
    Plain(Transform),
    PcreXform(Regex),
}

impl CompiledTransform {
    pub(super) fn compile(t: &Transform) -> Result<Self, CompileError> {
        match t {
            Transform::PcreXform(pattern) => {
                let regex = super::pcre::build(pattern, super::pcre::Flags::default()).map_err(
                    |reason| CompileError {
                        keyword: "pcrexform",
                        reason,
                    },
                )?;
                if regex.captures_len() < 2 {
                    return Err(CompileError {
                        keyword: "pcrexform",
                        reason: "the expression needs a capture group".to_owned(),
                    });
                }
                Ok(Self::PcreXform(regex))
            }
            Transform::Xor(key) if key.is_empty() => Err(CompileError {
                keyword: "xor",
                reason: "empty key".to_owned(),
            }),
            other => Ok(Self::Plain(other.clone())),
        }
    }

    /// Transforms `buf` in place.
    pub(super) fn apply(&self, buf: &mut Vec<u8>) {
        let t = match self {
            Self::PcreXform(regex) => {
                if let Ok(Some(caps)) = regex.captures(buf) {
                    if let Some(m) = caps.get(1) {
                        let (s, e) = (m.start(), m.end());
                        buf.copy_within(s..e, 0);
                        buf.truncate(e - s);
                    }
                }
                return;
            }
            Self::Plain(t) => t,
        };
        match t {
            Transform::DotPrefix => buf.insert(0, b'.'),
            Transform::StripWhitespace => buf.retain(|&c| !is_space(c)),
            Transform::CompressWhitespace => {
                let mut prev_space = false;
                buf.retain_mut(|c| {
                    let space = is_space(*c);
                    let keep = !(space && prev_space);
                    if space {
                        *c = b' ';
                    }
                    prev_space = space;
                    keep
                });
            }
            Transform::ToLowercase => buf.make_ascii_lowercase(),
            Transform::ToUppercase => buf.make_ascii_uppercase(),
            Transform::UrlDecode => url_decode(buf),
            Transform::ToMd5 => replace(buf, &md5::Md5::digest(&buf[..])),
            Transform::ToSha1 => replace(buf, &sha1::Sha1::digest(&buf[..])),
            Transform::ToSha256 => replace(buf, &sha2::Sha256::digest(&buf[..])),
            Transform::HeaderLowercase => header_lowercase(buf),
            Transform::StripPseudoHeaders => strip_pseudo_headers(buf),
            Transform::FromBase64 {
                bytes,
                offset,
                mode,
            } => {
                let mode = match mode {
                    Base64Mode::Rfc4648 => Mode::Rfc4648,
                    Base64Mode::Rfc2045 => Mode::Rfc2045,
                    Base64Mode::Strict => Mode::Strict,
                };
                base64::decode_in_place(buf, *offset as usize, bytes.map(|b| b as usize), mode);
            }
            Transform::Xor(key) => {
                for (b, k) in buf.iter_mut().zip(key.iter().cycle()) {
                    *b ^= k;
                }
            }
            // Compiled separately above; a transform added to the contract later is
            // refused at compile time by the rules crate, and is a no-op here.
            _ => {}
        }
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn replace(buf: &mut Vec<u8>, digest: &[u8]) {
    buf.clear();
    buf.extend_from_slice(digest);
}

fn hex(c: u8) -> Option<u8> {
    char::from(c).to_digit(16).map(|d| d as u8)
}

fn url_decode(buf: &mut Vec<u8>) {
    let mut w = 0;
    let mut r = 0;
    while r < buf.len() {
        let c = buf[r];
        let (out, used) = match c {
            b'%' => match (
                buf.get(r + 1).and_then(|&h| hex(h)),
                buf.get(r + 2).and_then(|&l| hex(l)),
            ) {
                (Some(h), Some(l)) => ((h << 4) | l, 3),
                _ => (c, 1),
            },
            b'+' => (b' ', 1),
            _ => (c, 1),
        };
        buf[w] = out;
        w += 1;
        r += used;
    }
    buf.truncate(w);
}

fn header_lowercase(buf: &mut [u8]) {
    let mut in_name = true;
    for c in buf.iter_mut() {
        match *c {
            b'\n' => in_name = true,
            b':' => in_name = false,
            _ if in_name => c.make_ascii_lowercase(),
            _ => {}
        }
    }
}

fn strip_pseudo_headers(buf: &mut Vec<u8>) {
    let mut w = 0;
    let mut r = 0;
    let len = buf.len();
    while r < len {
        let line_end = memchr::memchr(b'\n', &buf[r..]).map_or(len, |p| r + p + 1);
        if buf[r] != b':' {
            buf.copy_within(r..line_end, w);
            w += line_end - r;
        }
        r = line_end;
    }
    buf.truncate(w);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(t: Transform, input: &[u8]) -> Vec<u8> {
        let c = CompiledTransform::compile(&t).expect("compiles");
        let mut buf = input.to_vec();
        c.apply(&mut buf);
        buf
    }

    #[test]
    fn whitespace_and_case() {
        assert_eq!(run(Transform::DotPrefix, b"a.com"), b".a.com");
        assert_eq!(run(Transform::StripWhitespace, b" a \t\r\nb\x0b"), b"ab");
        assert_eq!(run(Transform::CompressWhitespace, b"a  \t b\r\n"), b"a b ");
        assert_eq!(run(Transform::ToLowercase, b"AbC\xC9"), b"abc\xC9");
        assert_eq!(run(Transform::ToUppercase, b"aBc"), b"ABC");
    }

    #[test]
    fn url_decoding() {
        assert_eq!(run(Transform::UrlDecode, b"a%41+b%2"), b"aA b%2");
        assert_eq!(run(Transform::UrlDecode, b"%zz%4a"), b"%zzJ");
        assert_eq!(run(Transform::UrlDecode, b"%"), b"%");
    }

    #[test]
    fn digests_are_raw_bytes() {
        let md5 = run(Transform::ToMd5, b"");
        assert_eq!(md5[..4], [0xd4, 0x1d, 0x8c, 0xd9]);
        assert_eq!(
            run(Transform::ToSha1, b"abc")[..4],
            [0xa9, 0x99, 0x3e, 0x36]
        );
        let sha = run(Transform::ToSha256, b"abc");
        assert_eq!(sha.len(), 32);
        assert_eq!(sha[..4], [0xba, 0x78, 0x16, 0xbf]);
    }

    #[test]
    fn http_header_transforms() {
        assert_eq!(
            run(
                Transform::HeaderLowercase,
                b"Host: A.COM\r\nUser-Agent: X\r\n"
            ),
            b"host: A.COM\r\nuser-agent: X\r\n"
        );
        assert_eq!(
            run(
                Transform::StripPseudoHeaders,
                b":method: GET\r\nHost: a\r\n:path: /\r\n"
            ),
            b"Host: a\r\n"
        );
    }

    #[test]
    fn base64_xor_and_pcrexform() {
        let t = Transform::FromBase64 {
            bytes: None,
            offset: 2,
            mode: Base64Mode::Rfc4648,
        };
        assert_eq!(run(t, b"..dGVzdA=="), b"test");
        assert_eq!(
            run(Transform::Xor(vec![0x01, 0x02]), b"\x01\x02\x03"),
            b"\x00\x00\x02"
        );
        let x = Transform::PcreXform("id=([0-9]+)".to_owned());
        assert_eq!(run(x.clone(), b"a?id=42&b"), b"42");
        assert_eq!(run(x, b"nothing"), b"nothing");
        assert!(CompiledTransform::compile(&Transform::PcreXform("abc".into())).is_err());
        assert!(CompiledTransform::compile(&Transform::PcreXform("(".into())).is_err());
    }
}
