//! The TLS record layer: content types, header checks, and per-direction record framing.

/// Record content types (RFC 8446 §5.1, RFC 6520).
pub(crate) mod content_type {
    /// change_cipher_spec.
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    /// alert.
    pub const ALERT: u8 = 21;
    /// handshake.
    pub const HANDSHAKE: u8 = 22;
    /// application_data.
    pub const APPLICATION_DATA: u8 = 23;
    /// heartbeat.
    pub const HEARTBEAT: u8 = 24;
    /// Not a TLS type: marks an SSLv2 CLIENT-HELLO record inside this crate.
    pub const SSLV2: u8 = 0x80;
}

/// The longest record body TLS allows: 2^14 plus 2048 bytes of expansion (RFC 5246 §6.2.3).
pub(crate) const MAX_RECORD_LEN: usize = (1 << 14) + 2048;

/// Length of a TLS record header.
pub(crate) const HEADER_LEN: usize = 5;

/// Whether `v` is a record version this parser accepts: SSL 3.0 to TLS 1.3.
pub(crate) fn valid_record_version(v: u16) -> bool {
    v >> 8 == 3 && v & 0xff <= 4
}

/// Where a direction stands in its record stream.
#[derive(Debug, Clone, Default)]
pub(crate) struct Framing {
    /// Header bytes gathered so far.
    header: [u8; HEADER_LEN],
    /// How many of `header` are filled; `HEADER_LEN` while inside a body.
    header_len: usize,
    /// Content type of the current record.
    pub content_type: u8,
    /// Declared body length of the current record.
    pub record_len: usize,
    /// Body bytes still to come.
    pub body_left: usize,
    /// The first body bytes of the current record (alert and heartbeat checks).
    peek: [u8; 3],
    peek_len: usize,
    /// Whether part of the current body was lost to a gap.
    pub body_gap: bool,
}

/// What [`Framing::push_header`] produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderState {
    /// More header bytes are needed.
    Partial,
    /// A TLS record header is complete: type, version, length.
    Tls(u8, u16, usize),
    /// An SSLv2 two-byte header is complete: body length.
    Sslv2(usize),
}

impl Framing {
    /// Whether a record body is being read.
    pub(crate) fn in_body(&self) -> bool {
        self.header_len == HEADER_LEN
    }

    /// Takes header bytes from the front of `input`, returning how many were used and the
    /// header once complete. `sslv2` allows a two-byte SSLv2 header (high bit set).
    pub(crate) fn push_header(&mut self, input: &[u8], sslv2: bool) -> (usize, HeaderState) {
        let mut used = 0;
        for &b in input {
            let Some(slot) = self.header.get_mut(self.header_len) else {
                break;
            };
            *slot = b;
            self.header_len += 1;
            used += 1;
            if sslv2 && self.header_len == 2 && self.header[0] & 0x80 != 0 {
                let len = usize::from(u16::from_be_bytes([self.header[0] & 0x7f, self.header[1]]));
                self.start_body(content_type::SSLV2, len);
                return (used, HeaderState::Sslv2(len));
            }
            if self.header_len == HEADER_LEN {
                let [ty, v1, v2, l1, l2] = self.header;
                let len = usize::from(u16::from_be_bytes([l1, l2]));
                return (
                    used,
                    HeaderState::Tls(ty, u16::from_be_bytes([v1, v2]), len),
                );
            }
        }
        (used, HeaderState::Partial)
    }

    /// Enters the body of a record of `len` bytes.
    pub(crate) fn start_body(&mut self, content_type: u8, len: usize) {
        self.header_len = HEADER_LEN;
        self.content_type = content_type;
        self.record_len = len;
        self.body_left = len;
        self.peek_len = 0;
        self.body_gap = false;
    }

    /// Consumes up to `body_left` bytes of `input` as body, returning them.
    pub(crate) fn take_body<'a>(&mut self, input: &'a [u8]) -> &'a [u8] {
        let n = self.body_left.min(input.len());
        let (body, _) = input.split_at(n);
        self.body_left -= n;
        for &b in body {
            match self.peek.get_mut(self.peek_len) {
                Some(slot) => {
                    *slot = b;
                    self.peek_len += 1;
                }
                None => break,
            }
        }
        body
    }

    /// The first body bytes seen, up to three.
    pub(crate) fn peek(&self) -> &[u8] {
        self.peek.get(..self.peek_len).unwrap_or(&[])
    }

    /// Leaves the finished record; the next bytes are a header.
    pub(crate) fn end_record(&mut self) {
        self.header_len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_split_anywhere() {
        let hdr = [0x16, 0x03, 0x01, 0x01, 0x02];
        for split in 0..=hdr.len() {
            let mut f = Framing::default();
            let (a, st) = f.push_header(&hdr[..split], false);
            assert_eq!(a, split);
            if split < 5 {
                assert_eq!(st, HeaderState::Partial);
                let (b, st) = f.push_header(&hdr[split..], false);
                assert_eq!(b, 5 - split);
                assert_eq!(st, HeaderState::Tls(0x16, 0x0301, 0x102));
            } else {
                assert_eq!(st, HeaderState::Tls(0x16, 0x0301, 0x102));
            }
        }
    }

    #[test]
    fn sslv2_header_and_body() {
        let mut f = Framing::default();
        let (used, st) = f.push_header(&[0x80, 0x05, 0x01, 0x03], true);
        assert_eq!((used, st), (2, HeaderState::Sslv2(5)));
        assert!(f.in_body());
        assert_eq!(f.take_body(&[1, 3, 1, 9, 9, 7]), &[1, 3, 1, 9, 9]);
        assert_eq!(f.peek(), &[1, 3, 1]);
        assert_eq!(f.body_left, 0);
        f.end_record();
        assert!(!f.in_body());
    }

    #[test]
    fn versions() {
        assert!(valid_record_version(0x0300));
        assert!(valid_record_version(0x0304));
        assert!(!valid_record_version(0x0305));
        assert!(!valid_record_version(0x0203));
    }
}
