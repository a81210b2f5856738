//! The per-flow SSH state machine: identification lines, then binary packet headers until
//! `SSH_MSG_NEWKEYS`.

use serde::ser::{Serialize, SerializeMap, Serializer};
use tapwatch_common::Direction;

use crate::banner::Banner;
use crate::MAX_BANNER_BYTES;

/// `SSH_MSG_NEWKEYS`: after this packet the sender's data is encrypted.
const MSG_NEWKEYS: u8 = 21;
/// The largest binary packet accepted (RFC 4253 requires 35,000; implementations use more).
const MAX_PACKET_BYTES: u32 = 256 * 1024;
/// Lines a server may send before its identification string (RFC 4253 section 4.2).
const MAX_PRE_BANNER_LINES: u8 = 16;

/// What the parser reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SshEvent {
    /// The identification string of this direction's sender was parsed.
    BannerDone(Direction),
    /// This direction's sender sent `SSH_MSG_NEWKEYS`: what follows is encrypted.
    NewKeys(Direction),
    /// A protocol anomaly, with Suricata's event name.
    Anomaly(&'static str),
}

/// What is known of an SSH session: each side's identification string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshInfo {
    /// The client's identification string.
    pub client: Option<Banner>,
    /// The server's identification string.
    pub server: Option<Banner>,
    /// The client sent `SSH_MSG_NEWKEYS`.
    pub client_newkeys: bool,
    /// The server sent `SSH_MSG_NEWKEYS`.
    pub server_newkeys: bool,
}

impl SshInfo {
    /// Both identification strings were seen.
    pub fn banners_done(&self) -> bool {
        self.client.is_some() && self.server.is_some()
    }

    /// Both sides switched to encryption.
    pub fn encrypted(&self) -> bool {
        self.client_newkeys && self.server_newkeys
    }
}

/// The EVE `ssh` object: `{"client": {"proto_version", "software_version"}, "server": ...}`.
impl Serialize for SshInfo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(b) = &self.client {
            m.serialize_entry("client", &BannerJson(b))?;
        }
        if let Some(b) = &self.server {
            m.serialize_entry("server", &BannerJson(b))?;
        }
        m.end()
    }
}

struct BannerJson<'a>(&'a Banner);

impl Serialize for BannerJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry(
            "proto_version",
            &String::from_utf8_lossy(&self.0.proto_version),
        )?;
        m.serialize_entry(
            "software_version",
            &String::from_utf8_lossy(&self.0.software_version),
        )?;
        m.end()
    }
}

/// Where one direction's reader stands.
#[derive(Debug)]
enum Side {
    /// Reading identification lines; `line` holds the current one (bounded), `lines` counts
    /// the lines before it, `overflow` is set once the line passed [`MAX_BANNER_BYTES`].
    Banner {
        line: Vec<u8>,
        lines: u8,
        overflow: bool,
    },
    /// Reading a binary packet header: length (4), padding length (1), message code (1).
    Header { hdr: [u8; 6], have: usize },
    /// Skipping the rest of a packet; `newkeys` when it is `SSH_MSG_NEWKEYS`.
    Skip { left: u64, newkeys: bool },
    /// Encrypted, or the framing was lost: nothing more is read.
    Done,
}

impl Default for Side {
    fn default() -> Self {
        Self::Banner {
            line: Vec::new(),
            lines: 0,
            overflow: false,
        }
    }
}

/// The SSH parser of one flow.
#[derive(Debug, Default)]
pub struct SshParser {
    info: SshInfo,
    sides: [Side; 2],
}

impl SshParser {
    /// A parser for a new flow.
    pub fn new() -> Self {
        Self::default()
    }

    /// What was seen so far.
    pub fn info(&self) -> &SshInfo {
        &self.info
    }

    /// In-order stream bytes travelling in `dir`.
    pub fn on_data(&mut self, dir: Direction, mut data: &[u8], out: &mut Vec<SshEvent>) {
        while !data.is_empty() {
            let used = self.step(dir, data, out);
            if used == 0 {
                return;
            }
            data = data.get(used..).unwrap_or_default();
        }
    }

    /// A hole in the stream travelling in `dir`: its framing is lost.
    pub fn on_gap(&mut self, dir: Direction) {
        self.sides[dir.index()] = Side::Done;
    }

    /// Consumes a prefix of `data`; returns its length (0: nothing more will be read).
    fn step(&mut self, dir: Direction, data: &[u8], out: &mut Vec<SshEvent>) -> usize {
        let side = &mut self.sides[dir.index()];
        match side {
            Side::Done => 0,
            Side::Banner {
                line,
                lines,
                overflow,
            } => {
                let (chunk, complete) = match data.iter().position(|&b| b == b'\n') {
                    Some(nl) => (&data[..=nl], true),
                    None => (data, false),
                };
                let room = MAX_BANNER_BYTES.saturating_sub(line.len());
                line.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if chunk.len() > room && !*overflow {
                    *overflow = true;
                    out.push(SshEvent::Anomaly("long_banner"));
                }
                if !complete {
                    return chunk.len();
                }
                let text = trim_eol(line);
                if let Some(banner) = Banner::parse(text) {
                    match dir {
                        Direction::ToServer => self.info.client = Some(banner),
                        Direction::ToClient => self.info.server = Some(banner),
                    }
                    out.push(SshEvent::BannerDone(dir));
                    *side = Side::Header {
                        hdr: [0; 6],
                        have: 0,
                    };
                } else if dir == Direction::ToClient
                    && !text.starts_with(b"SSH-")
                    && *lines < MAX_PRE_BANNER_LINES
                {
                    // Servers may say something before their identification string.
                    *lines += 1;
                    line.clear();
                    *overflow = false;
                } else {
                    out.push(SshEvent::Anomaly("invalid_banner"));
                    *side = Side::Done;
                }
                chunk.len()
            }
            Side::Header { hdr, have } => {
                let take = (hdr.len() - *have).min(data.len());
                hdr[*have..*have + take].copy_from_slice(&data[..take]);
                *have += take;
                if *have < hdr.len() {
                    return take;
                }
                let len = u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
                if !(2..=MAX_PACKET_BYTES).contains(&len) {
                    out.push(SshEvent::Anomaly("invalid_record"));
                    *side = Side::Done;
                    return take;
                }
                let newkeys = hdr[5] == MSG_NEWKEYS;
                // The length counts the padding length and message code already read; no
                // MAC is sent before the first NEWKEYS takes effect.
                *side = Side::Skip {
                    left: u64::from(len) - 2,
                    newkeys,
                };
                self.finish_packet(dir, out);
                take
            }
            Side::Skip { left, .. } => {
                let take = (*left).min(data.len() as u64);
                *left -= take;
                self.finish_packet(dir, out);
                // `take` is at most `data.len()`.
                usize::try_from(take).unwrap_or(data.len())
            }
        }
    }

    /// After a packet's last byte: the next header, or the end of clear text.
    fn finish_packet(&mut self, dir: Direction, out: &mut Vec<SshEvent>) {
        let side = &mut self.sides[dir.index()];
        if let Side::Skip { left: 0, newkeys } = *side {
            if newkeys {
                match dir {
                    Direction::ToServer => self.info.client_newkeys = true,
                    Direction::ToClient => self.info.server_newkeys = true,
                }
                out.push(SshEvent::NewKeys(dir));
                *side = Side::Done;
            } else {
                *side = Side::Header {
                    hdr: [0; 6],
                    have: 0,
                };
            }
        }
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binary packet with message code `code` and `body` bytes of payload after it.
    fn packet(code: u8, body: usize) -> Vec<u8> {
        let padding = 4u8;
        let len = 1 + 1 + body as u32 + u32::from(padding);
        let mut p = len.to_be_bytes().to_vec();
        p.push(padding);
        p.push(code);
        p.extend(std::iter::repeat_n(0xAA, body + usize::from(padding)));
        p
    }

    fn feed(p: &mut SshParser, dir: Direction, data: &[u8]) -> Vec<SshEvent> {
        let mut out = Vec::new();
        p.on_data(dir, data, &mut out);
        out
    }

    #[test]
    fn banners_kex_and_newkeys() {
        let c = Direction::ToServer;
        let s = Direction::ToClient;
        let mut p = SshParser::new();
        assert_eq!(
            feed(&mut p, s, b"SSH-2.0-OpenSSH_7.4\r\n"),
            [SshEvent::BannerDone(s)]
        );
        // Split banner, then KEXINIT and NEWKEYS in one segment, byte by byte.
        assert!(feed(&mut p, c, b"SSH-2.0-lib").is_empty());
        let mut rest = b"ssh-0.7.2 extra words\r\n".to_vec();
        rest.extend(packet(20, 300));
        rest.extend(packet(MSG_NEWKEYS, 0));
        rest.extend(b"\x00\x00\x00\x10encrypted garbage follows");
        let mut events = Vec::new();
        for b in &rest {
            events.extend(feed(&mut p, c, &[*b]));
        }
        assert_eq!(events, [SshEvent::BannerDone(c), SshEvent::NewKeys(c)]);
        let info = p.info();
        assert!(info.banners_done());
        assert!(info.client_newkeys && !info.server_newkeys);
        let client = info.client.as_ref().unwrap();
        assert_eq!(client.software_version, b"libssh-0.7.2");
        assert_eq!(client.comment.as_deref(), Some(&b"extra words"[..]));
        let json = serde_json::to_string(info).unwrap();
        assert_eq!(
            json,
            r#"{"client":{"proto_version":"2.0","software_version":"libssh-0.7.2"},"server":{"proto_version":"2.0","software_version":"OpenSSH_7.4"}}"#
        );
        // The server's NEWKEYS.
        let mut srv = packet(31, 100);
        srv.extend(packet(MSG_NEWKEYS, 0));
        assert_eq!(feed(&mut p, s, &srv), [SshEvent::NewKeys(s)]);
        assert!(p.info().encrypted());
    }

    #[test]
    fn pre_banner_lines_and_bad_input() {
        let s = Direction::ToClient;
        let mut p = SshParser::new();
        assert!(feed(&mut p, s, b"Welcome\r\n").is_empty());
        assert_eq!(feed(&mut p, s, b"SSH-2.0-x\n"), [SshEvent::BannerDone(s)]);
        // A client must start with its identification string.
        let mut p = SshParser::new();
        assert_eq!(
            feed(&mut p, Direction::ToServer, b"hello\r\n"),
            [SshEvent::Anomaly("invalid_banner")]
        );
        // Absurd packet lengths stop the direction.
        let mut p = SshParser::new();
        feed(&mut p, s, b"SSH-2.0-x\r\n");
        assert_eq!(
            feed(&mut p, s, b"\xff\xff\xff\xff\x04\x14"),
            [SshEvent::Anomaly("invalid_record")]
        );
        assert!(feed(&mut p, s, &packet(MSG_NEWKEYS, 0)).is_empty());
        // A long banner is cut and reported once.
        let mut p = SshParser::new();
        let mut long = b"SSH-2.0-".to_vec();
        long.extend(std::iter::repeat_n(b'a', 1000));
        long.extend(b"\r\n");
        let ev = feed(&mut p, s, &long);
        assert_eq!(
            ev,
            [SshEvent::Anomaly("long_banner"), SshEvent::BannerDone(s)]
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed = 0x1234_5678_u32;
        for _ in 0..200 {
            let mut p = SshParser::new();
            for dir in [Direction::ToServer, Direction::ToClient] {
                let mut data = b"SSH-2.0-x\r\n".to_vec();
                for _ in 0..64 {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    data.push((seed >> 16) as u8);
                }
                let mut out = Vec::new();
                p.on_data(dir, &data, &mut out);
            }
        }
    }
}
