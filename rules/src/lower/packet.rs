//! Header keywords: dsize, ttl, tos, id, ip_proto, fragbits, fragoffset, flags, seq, ack,
//! window, tcp.mss, itype, icode, icmp_id, icmp_seq, sameip, stream_size.

use super::num::{num_cmp, uint};
use super::Ctx;
use crate::ast::Rule;
use crate::signature::{FlagMode, NumCmp, PacketCondition as P, StreamSide};

fn need<'v>(name: &str, v: Option<&'v str>) -> Result<&'v str, String> {
    v.map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("'{name}' needs a value"))
}

/// Applies `name` when it is a header keyword.
pub(super) fn apply(
    ctx: &mut Ctx<'_>,
    name: &str,
    v: Option<&str>,
    _rule: &Rule,
) -> Result<bool, String> {
    let cond = match name {
        "dsize" => P::Dsize(num_cmp(need(name, v)?, 65535)?),
        "ttl" => P::Ttl(num_cmp(need(name, v)?, 255)?),
        "tos" => {
            let t = need(name, v)?;
            let (negated, t) = match t.strip_prefix('!') {
                Some(r) => (true, r),
                None => (false, t),
            };
            P::Tos {
                value: u8::try_from(uint(t, 255)?).unwrap_or(0),
                negated,
            }
        }
        "id" => P::IpId(u16::try_from(uint(need(name, v)?, 65535)?).unwrap_or(0)),
        "ip_proto" => P::IpProto(ip_proto(need(name, v)?)?),
        "fragbits" => {
            let (bits, mode, ignore) = flag_letters(need(name, v)?, fragbit)?;
            if ignore != 0 {
                return Err("fragbits takes no ignore mask".into());
            }
            P::FragBits { bits, mode }
        }
        "fragoffset" => P::FragOffset(num_cmp(need(name, v)?, 8191)?),
        "flags" => {
            let (bits, mode, ignore) = flag_letters(need(name, v)?, tcp_flag)?;
            P::TcpFlags { bits, mode, ignore }
        }
        "seq" => P::TcpSeq(u32::try_from(uint(need(name, v)?, u64::from(u32::MAX))?).unwrap_or(0)),
        "ack" => P::TcpAck(u32::try_from(uint(need(name, v)?, u64::from(u32::MAX))?).unwrap_or(0)),
        "window" => {
            let t = need(name, v)?;
            let (negated, t) = match t.strip_prefix('!') {
                Some(r) => (true, r),
                None => (false, t),
            };
            P::TcpWindow {
                value: u16::try_from(uint(t, 65535)?).unwrap_or(0),
                negated,
            }
        }
        "tcp.mss" => P::TcpMss(num_cmp(need(name, v)?, 65535)?),
        "itype" => P::IcmpType(num_cmp(need(name, v)?, 255)?),
        "icode" => P::IcmpCode(num_cmp(need(name, v)?, 255)?),
        "icmp_id" => P::IcmpId(u16::try_from(uint(need(name, v)?, 65535)?).unwrap_or(0)),
        "icmp_seq" => P::IcmpSeq(u16::try_from(uint(need(name, v)?, 65535)?).unwrap_or(0)),
        "sameip" => {
            if v.is_some() {
                return Err("'sameip' takes no value".into());
            }
            P::SameIp
        }
        "stream_size" => stream_size(need(name, v)?)?,
        _ => return Ok(false),
    };
    if ctx.packet.contains(&cond) {
        return Ok(true);
    }
    ctx.packet.push(cond);
    Ok(true)
}

fn stream_size(v: &str) -> Result<P, String> {
    let parts: Vec<&str> = v.split(',').map(str::trim).collect();
    let [side, op, n] = parts.as_slice() else {
        return Err("stream_size needs side, operator and value".into());
    };
    let side = match *side {
        "client" => StreamSide::Client,
        "server" => StreamSide::Server,
        "both" => StreamSide::Both,
        "either" => StreamSide::Either,
        s => return Err(format!("invalid stream_size side '{s}'")),
    };
    let n = uint(n, u64::from(u32::MAX))?;
    let cmp = match *op {
        "=" | "==" => NumCmp::Eq(n),
        "!=" => NumCmp::Ne(n),
        "<" => NumCmp::Lt(n),
        "<=" => NumCmp::Le(n),
        ">" => NumCmp::Gt(n),
        ">=" => NumCmp::Ge(n),
        o => return Err(format!("invalid stream_size operator '{o}'")),
    };
    Ok(P::StreamSize { side, cmp })
}

fn ip_proto(v: &str) -> Result<NumCmp, String> {
    let (prefix, rest) = match v.as_bytes().first() {
        Some(b'!' | b'<' | b'>' | b'=') => v.split_at(1),
        _ => ("", v),
    };
    let rest = rest.trim();
    let n = match rest.parse::<u8>() {
        Ok(n) => n,
        Err(_) => proto_number(rest).ok_or_else(|| format!("unknown IP protocol '{rest}'"))?,
    };
    let n = u64::from(n);
    Ok(match prefix {
        "!" => NumCmp::Ne(n),
        "<" => NumCmp::Lt(n),
        ">" => NumCmp::Gt(n),
        _ => NumCmp::Eq(n),
    })
}

/// IANA protocol numbers by their `/etc/protocols` names.
fn proto_number(name: &str) -> Option<u8> {
    const PROTOS: &[(&str, u8)] = &[
        ("hopopt", 0),
        ("icmp", 1),
        ("igmp", 2),
        ("ggp", 3),
        ("ipencap", 4),
        ("st", 5),
        ("tcp", 6),
        ("egp", 8),
        ("igp", 9),
        ("pup", 12),
        ("udp", 17),
        ("hmp", 20),
        ("xns-idp", 22),
        ("rdp", 27),
        ("iso-tp4", 29),
        ("dccp", 33),
        ("xtp", 36),
        ("ddp", 37),
        ("idpr-cmtp", 38),
        ("ipv6", 41),
        ("ipv6-route", 43),
        ("ipv6-frag", 44),
        ("idrp", 45),
        ("rsvp", 46),
        ("gre", 47),
        ("esp", 50),
        ("ah", 51),
        ("skip", 57),
        ("ipv6-icmp", 58),
        ("ipv6-nonxt", 59),
        ("ipv6-opts", 60),
        ("rspf", 73),
        ("vmtp", 81),
        ("eigrp", 88),
        ("ospf", 89),
        ("ax.25", 93),
        ("ipip", 94),
        ("etherip", 97),
        ("encap", 98),
        ("pim", 103),
        ("ipcomp", 108),
        ("vrrp", 112),
        ("l2tp", 115),
        ("isis", 124),
        ("sctp", 132),
        ("fc", 133),
        ("mobility-header", 135),
        ("udplite", 136),
        ("mpls-in-ip", 137),
        ("manet", 138),
        ("hip", 139),
        ("shim6", 140),
        ("wesp", 141),
        ("rohc", 142),
    ];
    let lower = name.to_ascii_lowercase();
    PROTOS.iter().find(|(n, _)| *n == lower).map(|&(_, v)| v)
}

fn tcp_flag(c: u8) -> Option<u8> {
    Some(match c.to_ascii_uppercase() {
        b'F' => 0x01,
        b'S' => 0x02,
        b'R' => 0x04,
        b'P' => 0x08,
        b'A' => 0x10,
        b'U' => 0x20,
        b'E' | b'2' => 0x40,
        b'C' | b'1' => 0x80,
        b'0' => 0,
        _ => return None,
    })
}

fn fragbit(c: u8) -> Option<u8> {
    Some(match c.to_ascii_uppercase() {
        b'M' => 0x01,
        b'D' => 0x02,
        b'R' => 0x04,
        _ => return None,
    })
}

/// `[+*!]LETTERS[+*!][,IGNORE]`: bits, mode, ignore mask.
fn flag_letters(v: &str, letter: fn(u8) -> Option<u8>) -> Result<(u8, FlagMode, u8), String> {
    let (main, ignore) = match v.split_once(',') {
        Some((m, i)) => (m.trim(), Some(i.trim())),
        None => (v.trim(), None),
    };
    let mut bits = 0u8;
    let mut mode = None;
    let mut zero = false;
    for c in main.bytes() {
        let m = match c {
            b'+' => Some(FlagMode::All),
            b'*' => Some(FlagMode::Any),
            b'!' => Some(FlagMode::Not),
            b' ' => continue,
            _ => None,
        };
        if let Some(m) = m {
            if mode.replace(m).is_some() {
                return Err(format!("more than one modifier in '{v}'"));
            }
            continue;
        }
        let b = letter(c).ok_or_else(|| format!("invalid flag '{}'", char::from(c)))?;
        if b == 0 {
            zero = true;
        }
        if bits & b != 0 {
            return Err(format!("flag '{}' given twice", char::from(c)));
        }
        bits |= b;
    }
    if zero && bits != 0 {
        return Err("'0' (no flags) cannot be combined with other flags".into());
    }
    if bits == 0 && !zero {
        return Err(format!("no flags in '{v}'"));
    }
    let mut mask = 0u8;
    if let Some(i) = ignore {
        for c in i.bytes().filter(|c| *c != b' ') {
            let b = letter(c)
                .filter(|b| *b != 0)
                .ok_or_else(|| format!("invalid flag '{}' in ignore mask", char::from(c)))?;
            mask |= b;
        }
    }
    Ok((bits, mode.unwrap_or(FlagMode::Exact), mask))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_flags_forms() {
        assert_eq!(flag_letters("S", tcp_flag), Ok((0x02, FlagMode::Exact, 0)));
        assert_eq!(flag_letters("SA+", tcp_flag), Ok((0x12, FlagMode::All, 0)));
        assert_eq!(flag_letters("*SA", tcp_flag), Ok((0x12, FlagMode::Any, 0)));
        assert_eq!(flag_letters("!R", tcp_flag), Ok((0x04, FlagMode::Not, 0)));
        assert_eq!(
            flag_letters("S,CE", tcp_flag),
            Ok((0x02, FlagMode::Exact, 0xc0))
        );
        assert_eq!(
            flag_letters("S,12", tcp_flag),
            Ok((0x02, FlagMode::Exact, 0xc0))
        );
        assert_eq!(flag_letters("0", tcp_flag), Ok((0, FlagMode::Exact, 0)));
        assert!(flag_letters("SX", tcp_flag).is_err());
        assert!(flag_letters("SS", tcp_flag).is_err());
        assert!(flag_letters("+*S", tcp_flag).is_err());
        assert!(flag_letters("0S", tcp_flag).is_err());
        assert_eq!(flag_letters("M+", fragbit), Ok((0x01, FlagMode::All, 0)));
        assert_eq!(flag_letters("!D", fragbit), Ok((0x02, FlagMode::Not, 0)));
    }

    #[test]
    fn ip_proto_names_and_numbers() {
        assert_eq!(ip_proto("tcp"), Ok(NumCmp::Eq(6)));
        assert_eq!(ip_proto("!17"), Ok(NumCmp::Ne(17)));
        assert_eq!(ip_proto(">50"), Ok(NumCmp::Gt(50)));
        assert_eq!(ip_proto("IPV6-ICMP"), Ok(NumCmp::Eq(58)));
        assert!(ip_proto("nope").is_err());
        assert!(ip_proto("300").is_err());
    }
}
