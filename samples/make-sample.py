#!/usr/bin/env python3
"""Writes samples/sample.pcap: a small, deterministic capture made only of traffic this script
builds itself (documentation addresses from RFC 5737 / RFC 3849, example.com-style names), so it
can be shipped and redistributed freely.

It holds one example of most things the sensor decodes: ARP, DNS over UDP (plain, in a VLAN, in
VXLAN), an HTTP/1.1 conversation with a TCP handshake and close, a TLS ClientHello/ServerHello with
SNI and ALPN, an IPv6 TCP conversation, an IPv4 datagram split into fragments, and a truncated
packet that must become a decode event. Run it again to regenerate the same bytes.
"""
import struct
import sys

T0 = 1_700_000_000  # 2023-11-14T22:13:20Z
packets = []


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data)//2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(s: str) -> bytes:
    return bytes(int(x) for x in s.split("."))


def ip6(s: str) -> bytes:
    head, _, tail = s.partition("::")
    h = [int(x, 16) for x in head.split(":") if x]
    t = [int(x, 16) for x in tail.split(":") if x]
    groups = h + [0] * (8 - len(h) - len(t)) + t
    return struct.pack("!8H", *groups)


MAC_C = bytes.fromhex("020000000001")
MAC_S = bytes.fromhex("020000000002")


def eth(payload: bytes, ethertype: int = 0x0800, src=MAC_C, dst=MAC_S, vlan=None) -> bytes:
    hdr = dst + src
    if vlan is not None:
        hdr += struct.pack("!HH", 0x8100, vlan)
    return hdr + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, payload, ident=1, ttl=64, frag=0, total=None) -> bytes:
    total = total if total is not None else 20 + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ident, frag, ttl, proto, 0, ip4(src), ip4(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ipv6(src, dst, nh, payload, hlim=64) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, hlim, ip6(src), ip6(dst)) + payload


def pseudo4(src, dst, proto, length):
    return ip4(src) + ip4(dst) + struct.pack("!BBH", 0, proto, length)


def pseudo6(src, dst, nh, length):
    return ip6(src) + ip6(dst) + struct.pack("!IxxxB", length, nh)


def udp(src, dst, sport, dport, payload, v6=False) -> bytes:
    length = 8 + len(payload)
    h = struct.pack("!HHHH", sport, dport, length, 0)
    ph = pseudo6(src, dst, 17, length) if v6 else pseudo4(src, dst, 17, length)
    c = csum(ph + h + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, c) + payload


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", v6=False, opts=b"") -> bytes:
    off = (20 + len(opts)) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, 65535, 0, 0) + opts
    ph = pseudo6(src, dst, 6, len(h) + len(payload)) if v6 else pseudo4(src, dst, 6, len(h) + len(payload))
    c = csum(ph + h + payload)
    return h[:16] + struct.pack("!H", c) + h[18:] + payload


def add(frame: bytes, dt: float):
    packets.append((dt, frame))


def dns_name(name: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def dns_query(ident, name, qtype=1) -> bytes:
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + dns_name(name) + struct.pack("!HH", qtype, 1)


def dns_answer_a(ident, name, addr) -> bytes:
    q = dns_name(name) + struct.pack("!HH", 1, 1)
    a = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + ip4(addr)
    return struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0) + q + a


# --- ARP who-has (not IP) ---
arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + MAC_C + ip4("192.0.2.10") + b"\0" * 6 + ip4("192.0.2.1")
add(eth(arp, 0x0806, dst=b"\xff" * 6), 0.0)

# --- DNS over UDP ---
C, S, R = "192.0.2.10", "198.51.100.80", "192.0.2.53"
q = dns_query(0x1234, "www.example.com")
add(eth(ipv4(C, R, 17, udp(C, R, 40000, 53, q))), 0.010)
add(eth(ipv4(R, C, 17, udp(R, C, 53, 40000, dns_answer_a(0x1234, "www.example.com", S))), 0x0800, MAC_S, MAC_C), 0.020)

# --- HTTP/1.1 over TCP, full handshake and close ---
cs, ss = 1000, 5000
req = (b"GET /index.html?q=tapwatch HTTP/1.1\r\nHost: www.example.com\r\n"
       b"User-Agent: tapwatch-sample/1.0\r\nAccept: */*\r\nCookie: session=42\r\n\r\n")
body = b"<html><body>hello from the tapwatch sample</body></html>\n"
resp = (b"HTTP/1.1 200 OK\r\nServer: sample\r\nContent-Type: text/html\r\nContent-Length: "
        + str(len(body)).encode() + b"\r\n\r\n" + body)
SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
mss = b"\x02\x04\x05\xb4\x01\x03\x03\x07"  # MSS 1460, NOP, window scale 7
t = 0.100
for (a, b, sp, dp, seq, ackn, fl, pl, opts) in [
    (C, S, 41000, 80, cs, 0, SYN, b"", mss),
    (S, C, 80, 41000, ss, cs + 1, SYN | ACK, b"", mss),
    (C, S, 41000, 80, cs + 1, ss + 1, ACK, b"", b""),
    (C, S, 41000, 80, cs + 1, ss + 1, PSH | ACK, req, b""),
    (S, C, 80, 41000, ss + 1, cs + 1 + len(req), ACK, b"", b""),
    (S, C, 80, 41000, ss + 1, cs + 1 + len(req), PSH | ACK, resp, b""),
    (C, S, 41000, 80, cs + 1 + len(req), ss + 1 + len(resp), FIN | ACK, b"", b""),
    (S, C, 80, 41000, ss + 1 + len(resp), cs + 2 + len(req), FIN | ACK, b"", b""),
    (C, S, 41000, 80, cs + 2 + len(req), ss + 2 + len(resp), ACK, b"", b""),
]:
    src_mac, dst_mac = (MAC_C, MAC_S) if a == C else (MAC_S, MAC_C)
    add(eth(ipv4(a, b, 6, tcp(a, b, sp, dp, seq, ackn, fl, pl, opts=opts)), 0x0800, src_mac, dst_mac), t)
    t += 0.005

# --- TLS ClientHello / ServerHello with SNI and ALPN ---
def ext(typ, data):
    return struct.pack("!HH", typ, len(data)) + data

sni_name = b"secure.example.com"
sni = ext(0, struct.pack("!HBH", len(sni_name) + 3, 0, len(sni_name)) + sni_name)
alpn_list = b"\x02h2\x08http/1.1"
alpn = ext(16, struct.pack("!H", len(alpn_list)) + alpn_list)
groups = ext(10, struct.pack("!H3H", 6, 0x001d, 0x0017, 0x0018))
points = ext(11, b"\x01\x00")
sigalgs = ext(13, struct.pack("!H4H", 8, 0x0403, 0x0804, 0x0401, 0x0201))
exts = sni + groups + points + sigalgs + alpn
ciphers = struct.pack("!5H", 0xc02b, 0xc02f, 0xc030, 0x009c, 0x002f)
ch_body = (struct.pack("!H", 0x0303) + bytes(range(32)) + b"\x00" + struct.pack("!H", len(ciphers)) + ciphers
           + b"\x01\x00" + struct.pack("!H", len(exts)) + exts)
ch = b"\x01" + len(ch_body).to_bytes(3, "big") + ch_body
client_hello = b"\x16\x03\x01" + struct.pack("!H", len(ch)) + ch
sh_exts = ext(16, struct.pack("!H", 3) + b"\x02h2") + ext(0xff01, b"\x00")
sh_body = (struct.pack("!H", 0x0303) + bytes(range(32, 64)) + b"\x00" + struct.pack("!H", 0xc02f) + b"\x00"
           + struct.pack("!H", len(sh_exts)) + sh_exts)
sh = b"\x02" + len(sh_body).to_bytes(3, "big") + sh_body
server_hello = b"\x16\x03\x03" + struct.pack("!H", len(sh)) + sh
S2 = "203.0.113.43"
cs, ss = 7000, 9000
t = 0.300
for (a, b, sp, dp, seq, ackn, fl, pl) in [
    (C, S2, 42000, 443, cs, 0, SYN, b""),
    (S2, C, 443, 42000, ss, cs + 1, SYN | ACK, b""),
    (C, S2, 42000, 443, cs + 1, ss + 1, ACK, b""),
    (C, S2, 42000, 443, cs + 1, ss + 1, PSH | ACK, client_hello),
    (S2, C, 443, 42000, ss + 1, cs + 1 + len(client_hello), PSH | ACK, server_hello),
    (C, S2, 42000, 443, cs + 1 + len(client_hello), ss + 1 + len(server_hello), 0x04 | ACK, b""),
]:
    src_mac, dst_mac = (MAC_C, MAC_S) if a == C else (MAC_S, MAC_C)
    add(eth(ipv4(a, b, 6, tcp(a, b, sp, dp, seq, ackn, fl, pl)), 0x0800, src_mac, dst_mac), t)
    t += 0.005

# --- DNS in VLAN 100 ---
q = dns_query(0x2222, "vlan.example.net")
add(eth(ipv4(C, R, 17, udp(C, R, 40001, 53, q)), 0x0800, vlan=100), 0.400)

# --- DNS in VXLAN (VNI 42) between two tunnel endpoints ---
inner = eth(ipv4("10.1.0.5", "10.1.0.53", 17, udp("10.1.0.5", "10.1.0.53", 40002, 53,
                                                 dns_query(0x3333, "tunnel.example.org"))), 0x0800)
vx = struct.pack("!II", 0x08000000, 42 << 8) + inner
add(eth(ipv4("192.0.2.100", "192.0.2.200", 17, udp("192.0.2.100", "192.0.2.200", 50000, 4789, vx))), 0.410)

# --- IPv6 HTTP request (handshake + GET + close by RST) ---
A6, B6 = "2001:db8::10", "2001:db8::80"
req6 = b"GET /v6 HTTP/1.1\r\nHost: v6.example.com\r\nUser-Agent: tapwatch-sample/1.0\r\n\r\n"
t = 0.500
for (a, b, sp, dp, seq, ackn, fl, pl) in [
    (A6, B6, 43000, 80, 100, 0, SYN, b""),
    (B6, A6, 80, 43000, 200, 101, SYN | ACK, b""),
    (A6, B6, 43000, 80, 101, 201, ACK, b""),
    (A6, B6, 43000, 80, 101, 201, PSH | ACK, req6),
    (B6, A6, 80, 43000, 201, 101 + len(req6), 0x04 | ACK, b""),
]:
    add(eth(ipv6(a, b, 6, tcp(a, b, sp, dp, seq, ackn, fl, pl, v6=True)), 0x86DD), t)
    t += 0.005

# --- IPv4 UDP datagram in two fragments ---
payload = udp(C, R, 40003, 53, dns_query(0x4444, "fragmented." + "a" * 40 + ".example.com"))
first, second = payload[:32], payload[32:]
add(eth(ipv4(C, R, 17, first, ident=0x0777, frag=0x2000)), 0.600)   # MF, offset 0
add(eth(ipv4(C, R, 17, second, ident=0x0777, frag=32 // 8)), 0.601)  # offset 32 bytes

# --- A truncated IPv4 packet: header says 60 bytes, 28 are present ---
add(eth(ipv4(C, S, 17, udp(C, S, 40004, 9999, b"trunc"), total=60)), 0.700)

out = sys.argv[1] if len(sys.argv) > 1 else "samples/sample.pcap"
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for dt, frame in packets:
        usec_total = int(round(dt * 1_000_000))
        f.write(struct.pack("<IIII", T0 + usec_total // 1_000_000, usec_total % 1_000_000, len(frame), len(frame)))
        f.write(frame)
print(f"wrote {out}: {len(packets)} packets")
