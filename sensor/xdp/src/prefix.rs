//! A network prefix (`10.0.0.0/8`, `fd00::/64`, or a bare address meaning /32 or /128).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An address and a prefix length; bits beyond the length are cleared on construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

/// Why a prefix was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// The address part does not parse.
    #[error("{0:?}: not an IP address")]
    Address(String),
    /// The length part does not parse or exceeds the family's width.
    #[error("{0:?}: prefix length must be 0-32 for IPv4, 0-128 for IPv6")]
    Length(String),
}

impl Prefix {
    /// A prefix; `None` when `len` exceeds the address family's width.
    pub fn new(addr: IpAddr, len: u8) -> Option<Self> {
        let width = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        (len <= width).then(|| Self {
            addr: mask(addr, len),
            len,
        })
    }

    /// The network address (host bits cleared).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn len(&self) -> u8 {
        self.len
    }

    /// True for a /0 prefix (every address).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `addr` lies in this prefix (an IPv4 address never lies in an IPv6 prefix).
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.addr, addr) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                mask(addr, self.len) == self.addr
            }
            _ => false,
        }
    }
}

fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & m).into())
        }
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr_text, len_text) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = addr_text
            .trim()
            .parse()
            .map_err(|_| PrefixError::Address(s.to_owned()))?;
        let width = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len_text {
            None => width,
            Some(l) => l
                .trim()
                .parse::<u8>()
                .map_err(|_| PrefixError::Length(s.to_owned()))?,
        };
        Prefix::new(addr, len).ok_or_else(|| PrefixError::Length(s.to_owned()))
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_masks() {
        let p: Prefix = "10.1.2.3/8".parse().expect("valid");
        assert_eq!(p.to_string(), "10.0.0.0/8");
        assert!(p.contains("10.200.0.1".parse().expect("ip")));
        assert!(!p.contains("11.0.0.1".parse().expect("ip")));
        assert!(!p.contains("::a00:1".parse().expect("ip")));
        let h: Prefix = "fd00::1".parse().expect("valid");
        assert_eq!(h.len(), 128);
        let z: Prefix = "0.0.0.0/0".parse().expect("valid");
        assert!(z.is_empty() && z.contains("8.8.8.8".parse().expect("ip")));
        let v6: Prefix = "fd00:1:2:3::/64".parse().expect("valid");
        assert!(v6.contains("fd00:1:2:3::99".parse().expect("ip")));
        assert!(!v6.contains("fd00:1:2:4::99".parse().expect("ip")));
    }

    #[test]
    fn refuses_bad_input() {
        assert!(matches!(
            "10.0.0.0/33".parse::<Prefix>(),
            Err(PrefixError::Length(_))
        ));
        assert!(matches!(
            "fd00::/129".parse::<Prefix>(),
            Err(PrefixError::Length(_))
        ));
        assert!(matches!(
            "10.0.0/8".parse::<Prefix>(),
            Err(PrefixError::Address(_))
        ));
        assert!(matches!(
            "10.0.0.0/x".parse::<Prefix>(),
            Err(PrefixError::Length(_))
        ));
        assert!(matches!("".parse::<Prefix>(), Err(PrefixError::Address(_))));
    }
}
