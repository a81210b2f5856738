//! Probes for the protocols tapwatch detects but does not parse: FTP, SMTP and DCERPC.

use tapwatch_common::{Direction, Probe};

/// FTP commands a client may start with (Suricata's detection patterns are of this kind;
/// IRC and POP3 clients sending `USER` or `PASS` are detected as FTP too, as in Suricata).
const FTP_COMMANDS: [&[u8]; 12] = [
    b"USER", b"PASS", b"ACCT", b"AUTH", b"SYST", b"FEAT", b"PORT", b"PASV", b"EPSV", b"EPRT",
    b"OPTS", b"TYPE",
];
/// SMTP greetings a client starts with.
const SMTP_COMMANDS: [&[u8]; 2] = [b"EHLO", b"HELO"];
/// Ports whose `220` greeting is taken as FTP / SMTP without waiting for the client.
const FTP_PORTS: [u16; 1] = [21];
const SMTP_PORTS: [u16; 3] = [25, 587, 2525];

/// A four-letter command (any case) followed by a space or a line end.
fn command(data: &[u8], commands: &[&[u8]]) -> Probe {
    let n = data.len().min(4);
    let word = &data[..n];
    if !commands.iter().any(|c| c[..n].eq_ignore_ascii_case(word)) {
        return Probe::NoMatch;
    }
    match data.get(4) {
        None => Probe::NeedMore,
        Some(b' ' | b'\r' | b'\n') => Probe::Match,
        Some(_) => Probe::NoMatch,
    }
}

/// A server reply line: three digits (the first 1 to 5), then a space or `-`.
pub(crate) fn reply_line(data: &[u8]) -> Probe {
    let want: [fn(u8) -> bool; 4] = [
        |b| (b'1'..=b'5').contains(&b),
        |b| b.is_ascii_digit(),
        |b| b.is_ascii_digit(),
        |b| b == b' ' || b == b'-',
    ];
    for (i, ok) in want.iter().enumerate() {
        match data.get(i) {
            None => return Probe::NeedMore,
            Some(&b) if !ok(b) => return Probe::NoMatch,
            Some(_) => {}
        }
    }
    Probe::Match
}

/// A `220` greeting line.
fn greeting(data: &[u8]) -> Probe {
    match reply_line(data) {
        Probe::Match if !data.starts_with(b"220") => Probe::NoMatch,
        other => other,
    }
}

/// The server side of FTP and SMTP: a `220` greeting, which both send. On the protocol's
/// own port it decides; elsewhere the client's first command must tell (`NeedMore`).
fn server_greeting(data: &[u8], on_port: bool) -> Probe {
    match greeting(data) {
        Probe::Match if on_port => Probe::Match,
        Probe::Match => Probe::NeedMore,
        other => other,
    }
}

/// FTP: a client command, or the server's greeting on port 21.
pub(crate) fn ftp(server_port: u16, dir: Direction, data: &[u8]) -> Probe {
    match dir {
        Direction::ToServer => command(data, &FTP_COMMANDS),
        Direction::ToClient => server_greeting(data, FTP_PORTS.contains(&server_port)),
    }
}

/// SMTP: `EHLO`/`HELO` from the client, or the server's greeting on a mail port.
pub(crate) fn smtp(server_port: u16, dir: Direction, data: &[u8]) -> Probe {
    match dir {
        Direction::ToServer => command(data, &SMTP_COMMANDS),
        Direction::ToClient => server_greeting(data, SMTP_PORTS.contains(&server_port)),
    }
}

/// A test of one header byte.
type ByteCheck = fn(u8) -> bool;

/// Connection-oriented DCERPC PDU types (request, response, fault, bind ... orphaned).
fn dcerpc_ptype(t: u8) -> bool {
    matches!(t, 0 | 2 | 3 | 11..=19)
}

/// DCERPC over TCP: a version 5.0/5.1 connection-oriented header with a known PDU type, a
/// valid data representation and a fragment length that holds the header and the
/// authentication data.
pub(crate) fn dcerpc(data: &[u8]) -> Probe {
    let checks: [(usize, ByteCheck); 7] = [
        (0, |b| b == 5),
        (1, |b| b <= 1),
        (2, dcerpc_ptype),
        (4, |b| b & 0xEE == 0),
        (5, |b| b <= 3),
        (6, |b| b == 0),
        (7, |b| b == 0),
    ];
    for (at, ok) in checks {
        match data.get(at) {
            None => return Probe::NeedMore,
            Some(&b) if !ok(b) => return Probe::NoMatch,
            Some(_) => {}
        }
    }
    let (Some(f), Some(a)) = (data.get(8..10), data.get(10..12)) else {
        return Probe::NeedMore;
    };
    let little = data[4] & 0x10 != 0;
    let read = |b: &[u8]| {
        let pair = [b[0], b[1]];
        if little {
            u16::from_le_bytes(pair)
        } else {
            u16::from_be_bytes(pair)
        }
    };
    let (frag_len, auth_len) = (read(f), read(a));
    if frag_len >= 16 && u32::from(auth_len) + 16 <= u32::from(frag_len) {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Direction = Direction::ToServer;
    const C: Direction = Direction::ToClient;

    #[test]
    fn ftp_and_smtp() {
        assert_eq!(ftp(443, S, b"USER admin\r\n"), Probe::Match);
        assert_eq!(ftp(21, S, b"user anonymous\r\n"), Probe::Match);
        assert_eq!(ftp(21, S, b"FEAT\r\n"), Probe::Match);
        assert_eq!(ftp(21, S, b"US"), Probe::NeedMore);
        assert_eq!(ftp(21, S, b"USERS"), Probe::NoMatch);
        assert_eq!(ftp(80, S, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
        assert_eq!(ftp(21, C, b"220 FileZilla\r\n"), Probe::Match);
        assert_eq!(ftp(443, C, b"220-FileZilla\r\n"), Probe::NeedMore);
        assert_eq!(ftp(21, C, b"HTTP/1.1 200 OK"), Probe::NoMatch);
        assert_eq!(smtp(25, C, b"220 mx ESMTP\r\n"), Probe::Match);
        assert_eq!(smtp(21, C, b"220 mx ESMTP\r\n"), Probe::NeedMore);
        assert_eq!(smtp(2000, S, b"EHLO client\r\n"), Probe::Match);
        assert_eq!(smtp(25, S, b"helo x\r\n"), Probe::Match);
        assert_eq!(smtp(25, S, b"USER x\r\n"), Probe::NoMatch);
        assert_eq!(smtp(25, C, b"554 no\r\n"), Probe::NoMatch);
        assert_eq!(reply_line(b"331 Password required"), Probe::Match);
        assert_eq!(reply_line(b"220 ready"), Probe::Match);
        assert_eq!(reply_line(b"22"), Probe::NeedMore);
        assert_eq!(reply_line(b"HTTP/1.1 200"), Probe::NoMatch);
    }

    #[test]
    fn dcerpc_bind() {
        let bind = [
            5, 0, 11, 3, 0x10, 0, 0, 0, 0x74, 0, 0, 0, 1, 0, 0, 0, 0xb8, 0x10,
        ];
        assert_eq!(dcerpc(&bind), Probe::Match);
        assert_eq!(dcerpc(&bind[..6]), Probe::NeedMore);
        // Big-endian data representation.
        let be = [5, 0, 12, 3, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 1];
        assert_eq!(dcerpc(&be), Probe::Match);
        let mut bad = bind;
        bad[2] = 1; // a connectionless type
        assert_eq!(dcerpc(&bad), Probe::NoMatch);
        let mut bad = bind;
        bad[8] = 8; // shorter than the header
        assert_eq!(dcerpc(&bad), Probe::NoMatch);
        let mut bad = bind;
        bad[10] = 0x70; // authentication longer than the fragment
        assert_eq!(dcerpc(&bad), Probe::NoMatch);
        assert_eq!(dcerpc(b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
        assert_eq!(dcerpc(&[0x16, 3, 1, 0, 5]), Probe::NoMatch);
    }
}
