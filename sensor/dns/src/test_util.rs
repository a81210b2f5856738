//! A small DNS message builder for tests.

/// Encodes a dotted name without compression ("" is the root).
pub(crate) fn name(n: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for label in n.split('.').filter(|l| !l.is_empty()) {
        v.push(u8::try_from(label.len()).unwrap());
        v.extend_from_slice(label.as_bytes());
    }
    v.push(0);
    v
}

/// Builds a message section by section; counts are filled in by [`Msg::build`].
#[derive(Debug, Default)]
pub(crate) struct Msg {
    id: u16,
    flags: u16,
    counts: [u16; 4],
    body: Vec<u8>,
}

impl Msg {
    pub(crate) fn new(id: u16, flags: u16) -> Self {
        Self {
            id,
            flags,
            ..Self::default()
        }
    }

    /// A question with an encoded name.
    pub(crate) fn question_raw(mut self, name: &[u8], rrtype: u16) -> Self {
        self.body.extend_from_slice(name);
        self.body.extend_from_slice(&rrtype.to_be_bytes());
        self.body.extend_from_slice(&1u16.to_be_bytes());
        self.counts[0] += 1;
        self
    }

    pub(crate) fn question(self, n: &str, rrtype: u16) -> Self {
        self.question_raw(&name(n), rrtype)
    }

    /// A record in section 1 (answers), 2 (authorities) or 3 (additionals).
    pub(crate) fn record_raw(
        mut self,
        section: usize,
        name: &[u8],
        rrtype: u16,
        class: u16,
        ttl: u32,
        rdata: &[u8],
    ) -> Self {
        self.body.extend_from_slice(name);
        self.body.extend_from_slice(&rrtype.to_be_bytes());
        self.body.extend_from_slice(&class.to_be_bytes());
        self.body.extend_from_slice(&ttl.to_be_bytes());
        self.body
            .extend_from_slice(&u16::try_from(rdata.len()).unwrap().to_be_bytes());
        self.body.extend_from_slice(rdata);
        self.counts[section] += 1;
        self
    }

    pub(crate) fn record(
        self,
        section: usize,
        n: &str,
        rrtype: u16,
        ttl: u32,
        rdata: &[u8],
    ) -> Self {
        self.record_raw(section, &name(n), rrtype, 1, ttl, rdata)
    }

    pub(crate) fn build(&self) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&self.id.to_be_bytes());
        v.extend_from_slice(&self.flags.to_be_bytes());
        for c in self.counts {
            v.extend_from_slice(&c.to_be_bytes());
        }
        v.extend_from_slice(&self.body);
        v
    }
}

/// Concatenates byte pieces.
pub(crate) fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Frames a message for TCP.
pub(crate) fn tcp_frame(msg: &[u8]) -> Vec<u8> {
    cat(&[&u16::try_from(msg.len()).unwrap().to_be_bytes(), msg])
}
