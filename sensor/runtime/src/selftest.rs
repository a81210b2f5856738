//! Made-up packets a new detection engine is run over before it replaces the running one
//! ([`crate::reload`]): a TCP connection carrying an HTTP exchange (handshake, request,
//! response, close), a DNS query and answer over UDP, and an ICMP echo, so that the packet,
//! stream and transaction paths of the engine each run once.

use etherparse::PacketBuilder;

const CLIENT: [u8; 4] = [192, 0, 2, 10];
const SERVER: [u8; 4] = [198, 51, 100, 20];
const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const SERVER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];

fn tcp(to_server: bool, seq: u32, ack: u32, flags: (bool, bool, bool), payload: &[u8]) -> Vec<u8> {
    let (syn, ack_flag, fin) = flags;
    let (src_mac, dst_mac, src, dst, sport, dport) = if to_server {
        (CLIENT_MAC, SERVER_MAC, CLIENT, SERVER, 49152, 80)
    } else {
        (SERVER_MAC, CLIENT_MAC, SERVER, CLIENT, 80, 49152)
    };
    let mut builder = PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv4(src, dst, 64)
        .tcp(sport, dport, seq, 64240);
    if syn {
        builder = builder.syn();
    }
    if ack_flag {
        builder = builder.ack(ack);
    }
    if fin {
        builder = builder.fin();
    }
    if !payload.is_empty() {
        builder = builder.psh();
    }
    let mut frame = Vec::with_capacity(64 + payload.len());
    // Writing into a Vec cannot fail; a builder error would leave the frame short, which the
    // decoder handles as it handles any damaged frame.
    let _ = builder.write(&mut frame, payload);
    frame
}

fn udp(to_server: bool, payload: &[u8]) -> Vec<u8> {
    let (src_mac, dst_mac, src, dst, sport, dport) = if to_server {
        (CLIENT_MAC, SERVER_MAC, CLIENT, SERVER, 53000, 53)
    } else {
        (SERVER_MAC, CLIENT_MAC, SERVER, CLIENT, 53, 53000)
    };
    let mut frame = Vec::with_capacity(64 + payload.len());
    let _ = PacketBuilder::ethernet2(src_mac, dst_mac)
        .ipv4(src, dst, 64)
        .udp(sport, dport)
        .write(&mut frame, payload);
    frame
}

/// The frames, in order (Ethernet).
pub(crate) fn frames() -> Vec<Vec<u8>> {
    let request: &[u8] = b"GET /index.html?q=1 HTTP/1.1\r\nHost: example.test\r\n\
        User-Agent: tapwatch-selftest\r\nAccept: */*\r\n\r\n";
    let response: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\
        Content-Length: 13\r\n\r\n<html></html>";
    let c = 1000u32;
    let s = 5000u32;
    let req_len = request.len() as u32;
    let resp_len = response.len() as u32;
    // A DNS query for example.test A, and its answer.
    let query: &[u8] = &[
        0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7, b'e', b'x', b'a', b'm', b'p', b'l',
        b'e', 4, b't', b'e', b's', b't', 0, 0, 1, 0, 1,
    ];
    let mut answer = query.to_vec();
    answer[2] = 0x81;
    answer[3] = 0x80;
    answer[7] = 1;
    answer.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    let mut echo = Vec::new();
    let _ = PacketBuilder::ethernet2(CLIENT_MAC, SERVER_MAC)
        .ipv4(CLIENT, SERVER, 64)
        .icmpv4_echo_request(1, 1)
        .write(&mut echo, b"tapwatch");
    vec![
        tcp(true, c, 0, (true, false, false), b""),
        tcp(false, s, c + 1, (true, true, false), b""),
        tcp(true, c + 1, s + 1, (false, true, false), b""),
        tcp(true, c + 1, s + 1, (false, true, false), request),
        tcp(
            false,
            s + 1,
            c + 1 + req_len,
            (false, true, false),
            response,
        ),
        tcp(
            true,
            c + 1 + req_len,
            s + 1 + resp_len,
            (false, true, true),
            b"",
        ),
        tcp(
            false,
            s + 1 + resp_len,
            c + 2 + req_len,
            (false, true, true),
            b"",
        ),
        tcp(
            true,
            c + 2 + req_len,
            s + 2 + resp_len,
            (false, true, false),
            b"",
        ),
        udp(true, query),
        udp(false, &answer),
        echo,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frames_decode_as_one_http_flow_dns_and_icmp() {
        let config = tapwatch_pipeline::config::Config::default();
        let mut worker: tapwatch_pipeline::worker::Worker<Vec<u8>> =
            tapwatch_pipeline::worker::Worker::new(config, Some(Vec::new()));
        for (i, f) in frames().iter().enumerate() {
            worker.process(i as u64 + 1, &crate::fixtures::packet(f));
        }
        let c = worker.counters().clone();
        assert_eq!((c.packets, c.tcp, c.udp, c.icmpv4), (11, 8, 2, 1));
        assert!(c.decode_events.is_empty(), "{:?}", c.decode_events);
        // DNS counts one per record written: the query and the answer.
        assert_eq!((c.http_tx, c.dns_udp_tx), (1, 2));
        assert!(worker.finish().is_ok());
    }
}
