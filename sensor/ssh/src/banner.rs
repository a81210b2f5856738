//! The identification string: `SSH-protoversion-softwareversion SP comments CR LF`.

/// One side's identification string, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Banner {
    /// `protoversion` (`2.0`, `1.99`).
    pub proto_version: Vec<u8>,
    /// `softwareversion` (`OpenSSH_9.6`).
    pub software_version: Vec<u8>,
    /// What follows the first space, if anything.
    pub comment: Option<Vec<u8>>,
}

impl Banner {
    /// Parses one line without its line ending. `None` when it does not start with `SSH-` or
    /// has no `-` after the protocol version.
    pub fn parse(line: &[u8]) -> Option<Self> {
        let rest = line.strip_prefix(b"SSH-")?;
        let dash = rest.iter().position(|&b| b == b'-')?;
        let (proto, rest) = (&rest[..dash], &rest[dash + 1..]);
        if proto.is_empty() {
            return None;
        }
        let (software, comment) = match rest.iter().position(|&b| b == b' ') {
            Some(sp) => (&rest[..sp], Some(rest[sp + 1..].to_vec())),
            None => (rest, None),
        };
        Some(Self {
            proto_version: proto.to_vec(),
            software_version: software.to_vec(),
            comment,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts() {
        let b = Banner::parse(b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6").unwrap();
        assert_eq!(b.proto_version, b"2.0");
        assert_eq!(b.software_version, b"OpenSSH_8.9p1");
        assert_eq!(b.comment.as_deref(), Some(&b"Ubuntu-3ubuntu0.6"[..]));
        let b = Banner::parse(b"SSH-1.99-Cisco-1.25").unwrap();
        assert_eq!(b.proto_version, b"1.99");
        assert_eq!(b.software_version, b"Cisco-1.25");
        assert_eq!(b.comment, None);
        assert_eq!(Banner::parse(b"SSH-2.0"), None);
        assert_eq!(Banner::parse(b"SSH--x"), None);
        assert_eq!(Banner::parse(b"HTTP/1.1 200"), None);
    }
}
