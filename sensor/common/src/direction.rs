//! Direction of traffic within a flow.

/// Which way data travels within a flow: from the client (the side that opened the
/// connection) to the server, or back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client to the server ("to_server" in Suricata's terms).
    ToServer,
    /// From the server to the client ("to_client").
    ToClient,
}

impl Direction {
    /// The other direction.
    pub fn reverse(self) -> Self {
        match self {
            Self::ToServer => Self::ToClient,
            Self::ToClient => Self::ToServer,
        }
    }

    /// 0 for to-server, 1 for to-client: an index into per-direction arrays.
    pub fn index(self) -> usize {
        match self {
            Self::ToServer => 0,
            Self::ToClient => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_and_index() {
        assert_eq!(Direction::ToServer.reverse(), Direction::ToClient);
        assert_eq!(Direction::ToClient.reverse().index(), 0);
        assert_eq!(Direction::ToClient.index(), 1);
    }
}
