//! Dataset types and their values: what a rule's buffer becomes when it is looked up, and the
//! text form of Suricata's dataset files (strings as base64, hashes as hex, addresses as text).

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine as _;

/// A dataset's type (`type` in a rule or in `[datasets.NAME]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// Any bytes (`string`); base64 in files.
    String,
    /// 16 bytes (`md5`); hex in files.
    Md5,
    /// 32 bytes (`sha256`); hex in files.
    Sha256,
    /// An IPv4 address (`ipv4`): 4 bytes.
    Ipv4,
    /// An IPv4 or IPv6 address (`ip`, `ipv6`): 16 bytes, IPv4 as IPv4-mapped IPv6.
    Ip,
}

impl DataType {
    /// The type Suricata names `name` (`ipv6` is another name for `ip`).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "string" => Self::String,
            "md5" => Self::Md5,
            "sha256" => Self::Sha256,
            "ipv4" => Self::Ipv4,
            "ip" | "ipv6" => Self::Ip,
            _ => return None,
        })
    }

    /// The name Suricata gives the type.
    pub fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Md5 => "md5",
            Self::Sha256 => "sha256",
            Self::Ipv4 => "ipv4",
            Self::Ip => "ip",
        }
    }
}

/// One value of a set. A set holds values of one type only.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// `string`
    Str(Box<[u8]>),
    /// `md5`
    Md5([u8; 16]),
    /// `sha256`
    Sha256([u8; 32]),
    /// `ipv4`
    Ipv4([u8; 4]),
    /// `ip`: IPv6, or IPv4-mapped IPv6 for an IPv4 address.
    Ip([u8; 16]),
}

impl Key {
    /// The value a buffer of `ty` holds, as a rule looks it up: a string is the bytes
    /// themselves; `md5`/`sha256` take exactly 16/32 bytes (a `to_md5`/`to_sha256` output);
    /// `ipv4` takes 4 bytes; `ip` takes 16 bytes, or 4 bytes of an IPv4 address (IPv4-mapped).
    /// `None` when the buffer cannot be a value of the type (the lookup then fails).
    pub fn from_buffer(ty: DataType, data: &[u8]) -> Option<Self> {
        Some(match ty {
            DataType::String => Self::Str(data.into()),
            DataType::Md5 => Self::Md5(data.try_into().ok()?),
            DataType::Sha256 => Self::Sha256(data.try_into().ok()?),
            DataType::Ipv4 => Self::Ipv4(data.try_into().ok()?),
            DataType::Ip => match data.len() {
                16 => Self::Ip(data.try_into().ok()?),
                4 => {
                    let v4: [u8; 4] = data.try_into().ok()?;
                    Self::Ip(Ipv4Addr::from(v4).to_ipv6_mapped().octets())
                }
                _ => return None,
            },
        })
    }

    /// Parses one value in a dataset file's text form.
    pub fn parse(ty: DataType, text: &str) -> Result<Self, String> {
        match ty {
            DataType::String => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map(|v| Self::Str(v.into_boxed_slice()))
                .map_err(|_| format!("bad base64 encoding '{text}'")),
            DataType::Md5 => hex::<16>(text).map(Self::Md5),
            DataType::Sha256 => hex::<32>(text).map(Self::Sha256),
            DataType::Ipv4 => text
                .parse::<Ipv4Addr>()
                .map(|a| Self::Ipv4(a.octets()))
                .map_err(|_| format!("bad IPv4 address '{text}'")),
            DataType::Ip => match text.parse::<IpAddr>() {
                Ok(IpAddr::V4(a)) => Ok(Self::Ip(a.to_ipv6_mapped().octets())),
                Ok(IpAddr::V6(a)) => Ok(Self::Ip(a.octets())),
                Err(_) => Err(format!("bad IP address '{text}'")),
            },
        }
    }

    /// Writes the value's text form (what [`Key::parse`] reads back). IPv6 is written with
    /// every group in four hex digits, as Suricata writes it; an IPv4-mapped value of an `ip`
    /// set as dotted IPv4.
    pub fn write_text(&self, out: &mut String) {
        match self {
            Self::Str(b) => base64::engine::general_purpose::STANDARD.encode_string(b, out),
            Self::Md5(b) => write_hex(b, out),
            Self::Sha256(b) => write_hex(b, out),
            Self::Ipv4(b) => {
                let _ = write!(out, "{}", Ipv4Addr::from(*b));
            }
            Self::Ip(b) => {
                let a = Ipv6Addr::from(*b);
                if let Some(v4) = a.to_ipv4_mapped() {
                    let _ = write!(out, "{v4}");
                } else {
                    for (i, seg) in a.segments().iter().enumerate() {
                        if i > 0 {
                            out.push(':');
                        }
                        let _ = write!(out, "{seg:04x}");
                    }
                }
            }
        }
    }

    /// Bytes the value takes in a set (the entry and what it owns), for the memcap.
    pub fn cost(&self) -> u64 {
        let heap = match self {
            Self::Str(b) => b.len() as u64,
            _ => 0,
        };
        ENTRY_OVERHEAD + heap
    }
}

/// An entry's fixed size in a set: the key, its value and sequence number, and the hash
/// table's control byte, rounded up.
pub const ENTRY_OVERHEAD: u64 = (std::mem::size_of::<Key>() + 16 + 8) as u64;

fn hex<const N: usize>(text: &str) -> Result<[u8; N], String> {
    let bytes = text.as_bytes();
    if bytes.len() != N * 2 {
        return Err(format!("expected {} hex digits, got '{text}'", N * 2));
    }
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let hi = hex_digit(pair[0]);
        let lo = hex_digit(pair[1]);
        match (hi, lo) {
            (Some(h), Some(l)) => *o = (h << 4) | l,
            _ => return Err(format!("bad hex value '{text}'")),
        }
    }
    Ok(out)
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn write_hex(b: &[u8], out: &mut String) {
    for x in b {
        let _ = write!(out, "{x:02x}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(k: &Key) -> String {
        let mut s = String::new();
        k.write_text(&mut s);
        s
    }

    #[test]
    fn strings_are_base64_both_ways() {
        let k = Key::parse(DataType::String, "TW96aWxsYS80LjAgKGNvbXBhdGlibGU7ICk=").unwrap();
        assert_eq!(k, Key::Str(b"Mozilla/4.0 (compatible; )".as_slice().into()));
        assert_eq!(text(&k), "TW96aWxsYS80LjAgKGNvbXBhdGlibGU7ICk=");
        assert!(Key::parse(DataType::String, "Z29vZ2xlLm;NvbQ==").is_err());
        // An empty line is the empty string.
        assert_eq!(
            Key::parse(DataType::String, "").unwrap(),
            Key::Str(Box::new([]))
        );
    }

    #[test]
    fn hashes_are_hex_of_exact_length() {
        let md5 = "d41d8cd98f00b204e9800998ecf8427e";
        let k = Key::parse(DataType::Md5, md5).unwrap();
        assert_eq!(text(&k), md5);
        assert_eq!(Key::parse(DataType::Md5, &md5.to_uppercase()).unwrap(), k);
        assert!(Key::parse(DataType::Md5, &md5[..30]).is_err());
        assert!(Key::parse(DataType::Md5, "g41d8cd98f00b204e9800998ecf8427e").is_err());
        assert!(Key::parse(DataType::Sha256, md5).is_err());
        assert_eq!(Key::from_buffer(DataType::Md5, &[0; 15]), None);
    }

    #[test]
    fn addresses_parse_and_print_as_suricata() {
        let k = Key::parse(DataType::Ip, "4:5::6").unwrap();
        assert_eq!(text(&k), "0004:0005:0000:0000:0000:0000:0000:0006");
        let v4 = Key::parse(DataType::Ip, "10.1.2.3").unwrap();
        assert_eq!(v4, Key::from_buffer(DataType::Ip, &[10, 1, 2, 3]).unwrap());
        assert_eq!(text(&v4), "10.1.2.3");
        assert_eq!(
            Key::parse(DataType::Ipv4, "1.2.3.4").unwrap(),
            Key::Ipv4([1, 2, 3, 4])
        );
        assert!(Key::parse(DataType::Ipv4, "::1").is_err());
        assert_eq!(Key::from_buffer(DataType::Ipv4, &[0; 16]), None);
        assert_eq!(DataType::from_name("ipv6"), Some(DataType::Ip));
    }
}
