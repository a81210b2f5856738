//! NetBIOS session service framing (RFC 1002 section 4.3): a 4-byte header (type, 24-bit
//! length; SMB2 over direct TCP uses the same layout) before every SMB message.

use tapwatch_common::{Direction, Probe};

use crate::session::{Continuation, Session};
use crate::{probe, smb1, smb2, SmbOutput, MAX_MESSAGE_BUFFER};

/// NetBIOS session message: carries SMB.
const SESSION_MESSAGE: u8 = 0x00;

/// What is being done with the current message's body.
#[derive(Debug, Default)]
enum Body {
    /// Collecting its first bytes (up to [`MAX_MESSAGE_BUFFER`]) in `buf`.
    #[default]
    Buffer,
    /// Passing on the file data past the buffered part.
    Stream(Continuation),
    /// Ignoring the rest.
    Skip,
}

/// One direction's position in its stream of NetBIOS messages.
#[derive(Debug, Default)]
struct Reader {
    hdr: [u8; 4],
    have: usize,
    /// The current message's body length.
    len: usize,
    /// Body bytes consumed.
    consumed: usize,
    buf: Vec<u8>,
    body: Body,
    /// The framing was lost (a gap, or bytes that are no NetBIOS header); waiting for data
    /// that starts with a header again.
    lost: bool,
}

impl Reader {
    fn next_message(&mut self) {
        self.have = 0;
        self.len = 0;
        self.consumed = 0;
        self.buf.clear();
        self.body = Body::Buffer;
    }
}

/// The SMB parser of one flow.
#[derive(Debug, Default)]
pub struct SmbParser {
    session: Session,
    readers: [Reader; 2],
}

impl SmbParser {
    /// A parser for a new flow.
    pub fn new() -> Self {
        Self::default()
    }

    /// A hole in the stream travelling in `dir`: its framing is lost until a segment starts
    /// with a NetBIOS header and an SMB message again.
    pub fn on_gap(&mut self, dir: Direction) {
        let r = &mut self.readers[dir.index()];
        r.next_message();
        r.lost = true;
    }

    /// In-order stream bytes travelling in `dir`.
    pub fn on_data(&mut self, dir: Direction, mut data: &[u8], out: &mut Vec<SmbOutput>) {
        let r = &mut self.readers[dir.index()];
        if r.lost {
            if probe(dir, data) != Probe::Match {
                return;
            }
            r.lost = false;
        }
        while !data.is_empty() {
            let used = self.step(dir, data, out);
            data = data.get(used..).unwrap_or_default();
            if used == 0 || self.readers[dir.index()].lost {
                return;
            }
        }
    }

    /// Consumes a prefix of `data`, returning its length.
    fn step(&mut self, dir: Direction, data: &[u8], out: &mut Vec<SmbOutput>) -> usize {
        let r = &mut self.readers[dir.index()];
        if r.have < r.hdr.len() {
            let take = (r.hdr.len() - r.have).min(data.len());
            r.hdr[r.have..r.have + take].copy_from_slice(&data[..take]);
            r.have += take;
            if r.have == r.hdr.len() {
                let [kind, a, b, c] = r.hdr;
                r.len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
                r.body = match kind {
                    SESSION_MESSAGE => Body::Buffer,
                    0x81..=0x85 => Body::Skip,
                    _ => {
                        r.next_message();
                        r.lost = true;
                        return take;
                    }
                };
                if r.len == 0 {
                    r.next_message();
                }
            }
            return take;
        }
        let left = r.len - r.consumed;
        let take = left.min(data.len());
        let chunk = &data[..take];
        match r.body {
            Body::Skip => {}
            Body::Stream(cont) => {
                // Message positions [consumed, consumed + take) against the data's end.
                let start = r.consumed;
                let stop = (start + take).min(cont.end);
                if start < stop {
                    let skipped = (start - r.buf.len()) as u64;
                    self.session.file_data(
                        dir,
                        cont.file_id,
                        cont.offset.saturating_add(skipped),
                        &chunk[..stop - start],
                        out,
                    );
                }
            }
            Body::Buffer => {
                let cap = r.len.min(MAX_MESSAGE_BUFFER);
                let room = cap - r.buf.len();
                let take = room.min(data.len());
                r.buf.extend_from_slice(&data[..take]);
                r.consumed += take;
                if r.buf.len() == cap {
                    let cont = match r.buf.get(..4) {
                        Some(b"\xffSMB") => smb1::parse(&mut self.session, dir, &r.buf, r.len, out),
                        Some(b"\xfeSMB") => smb2::parse(&mut self.session, dir, &r.buf, r.len, out),
                        // Encrypted (`\xfdSMB`), compressed (`\xfcSMB`) or unknown.
                        _ => None,
                    };
                    r.body = cont.map_or(Body::Skip, Body::Stream);
                    if r.consumed == r.len {
                        r.next_message();
                    }
                }
                return take;
            }
        }
        r.consumed += take;
        if r.consumed == r.len {
            r.next_message();
        }
        take
    }
}
