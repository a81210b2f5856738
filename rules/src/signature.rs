//! Signatures: rules after parsing, validation, variable resolution and normalisation.
//!
//! This is the contract between the rule language and the detection engine. Everything here is
//! resolved: variables are expanded into address and port sets, legacy `http_*` content
//! modifiers and sticky buffers are normalised into one [`BufferMatch`] per inspected buffer,
//! `byte_extract` names are numbered, and classification and priority are looked up. What the
//! engine cannot honour never reaches this type: such a rule is rejected with its reason.

use std::fmt;

use tapwatch_common::{AppProto, DecodeEvent, Direction, StreamEvent};

/// Where a rule came from, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceLocation {
    /// The rule file, as given by the user.
    pub file: String,
    /// 1-based line of the rule's first character (a rule may continue over several lines).
    pub line: u32,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// The rule's action, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `alert`
    Alert,
    /// `pass`: a match stops further inspection of the packet (and, for flow rules, the flow).
    Pass,
    /// `drop` (logged as `blocked` only in IPS mode; tapwatch is passive and logs `allowed`).
    Drop,
    /// `reject`
    Reject,
    /// `rejectsrc`
    RejectSrc,
    /// `rejectdst`
    RejectDst,
    /// `rejectboth`
    RejectBoth,
}

impl Action {
    /// The rule keyword.
    pub fn name(self) -> &'static str {
        match self {
            Self::Alert => "alert",
            Self::Pass => "pass",
            Self::Drop => "drop",
            Self::Reject => "reject",
            Self::RejectSrc => "rejectsrc",
            Self::RejectDst => "rejectdst",
            Self::RejectBoth => "rejectboth",
        }
    }
}

/// The protocol in the rule header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `ip` (also `ipv4`/`ipv6`-agnostic): every packet.
    Ip,
    /// `ipv4` / `ip4`
    Ipv4,
    /// `ipv6` / `ip6`
    Ipv6,
    /// `tcp`: packet payload and reassembled stream.
    Tcp,
    /// `tcp-pkt`: TCP packet payload only.
    TcpPkt,
    /// `tcp-stream`: reassembled TCP stream only.
    TcpStream,
    /// `udp`
    Udp,
    /// `icmp`: ICMPv4 and ICMPv6, as in Suricata.
    Icmp,
    /// `icmpv4`
    Icmpv4,
    /// `icmpv6`
    Icmpv6,
    /// `sctp`
    Sctp,
    /// `pkthdr`: every packet, even ones that failed to decode (decoder-event rules).
    PktHdr,
    /// An application-layer protocol tapwatch detects (`http`, `dns`, `tls`, `ssh`, `smb`,
    /// `ftp`, ...; `http1` is `http`). The rule applies only to flows detected as that
    /// protocol. A protocol tapwatch does not detect is rejected at load.
    App(AppProto),
}

/// A set of IPv4 and IPv6 addresses: sorted, non-overlapping, non-adjacent inclusive ranges.
/// `any` is the full range of both families.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddressSet {
    /// IPv4 ranges (host byte order), inclusive.
    pub v4: Vec<(u32, u32)>,
    /// IPv6 ranges, inclusive.
    pub v6: Vec<(u128, u128)>,
}

impl AddressSet {
    /// Every address.
    pub fn any() -> Self {
        Self {
            v4: vec![(0, u32::MAX)],
            v6: vec![(0, u128::MAX)],
        }
    }

    /// Whether the set holds every address of both families.
    pub fn is_any(&self) -> bool {
        self.v4 == [(0, u32::MAX)] && self.v6 == [(0, u128::MAX)]
    }

    /// Whether `addr` is in the set.
    pub fn contains(&self, addr: std::net::IpAddr) -> bool {
        match addr {
            std::net::IpAddr::V4(a) => range_contains(&self.v4, u32::from(a)),
            std::net::IpAddr::V6(a) => range_contains(&self.v6, u128::from(a)),
        }
    }
}

/// A set of ports: sorted, non-overlapping, non-adjacent inclusive ranges. `any` is
/// `[(0, 65535)]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortSet {
    /// Inclusive ranges.
    pub ranges: Vec<(u16, u16)>,
}

impl PortSet {
    /// Every port.
    pub fn any() -> Self {
        Self {
            ranges: vec![(0, u16::MAX)],
        }
    }

    /// Whether the set holds every port.
    pub fn is_any(&self) -> bool {
        self.ranges == [(0, u16::MAX)]
    }

    /// Whether `port` is in the set.
    pub fn contains(&self, port: u16) -> bool {
        range_contains(&self.ranges, port)
    }
}

fn range_contains<T: Ord + Copy>(ranges: &[(T, T)], value: T) -> bool {
    let idx = ranges.partition_point(|&(_, end)| end < value);
    ranges.get(idx).is_some_and(|&(start, _)| start <= value)
}

/// The rule header after variable resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Protocol.
    pub protocol: Protocol,
    /// Source addresses.
    pub src: AddressSet,
    /// Source ports.
    pub src_ports: PortSet,
    /// Destination addresses.
    pub dst: AddressSet,
    /// Destination ports.
    pub dst_ports: PortSet,
    /// `<>`: the rule also matches with source and destination swapped.
    pub bidirectional: bool,
}

/// A numeric comparison, as written in `dsize`, `ttl`, `itype`, `bsize`, `urilen`, ...
/// `Between(a, b)` is Suricata's `a<>b`: exclusive at both ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumCmp {
    /// `N`
    Eq(u64),
    /// `!N`
    Ne(u64),
    /// `<N`
    Lt(u64),
    /// `<=N`
    Le(u64),
    /// `>N`
    Gt(u64),
    /// `>=N`
    Ge(u64),
    /// `A<>B`: strictly between.
    Between(u64, u64),
    /// `!A-B`: not strictly between (Suricata's negated range of its integer keywords).
    NotBetween(u64, u64),
    /// Flag keywords (`mqtt.flags:dup,!retain`): the bits of `mask` are those of `want`.
    Bits {
        /// The bits the keyword names.
        mask: u64,
        /// Their required values (set for a flag named plainly, clear for `!flag`).
        want: u64,
    },
}

impl NumCmp {
    /// Whether `value` satisfies the comparison.
    pub fn matches(self, value: u64) -> bool {
        match self {
            Self::Eq(n) => value == n,
            Self::Ne(n) => value != n,
            Self::Lt(n) => value < n,
            Self::Le(n) => value <= n,
            Self::Gt(n) => value > n,
            Self::Ge(n) => value >= n,
            Self::Between(a, b) => a < value && value < b,
            Self::NotBetween(a, b) => !(a < value && value < b),
            Self::Bits { mask, want } => value & mask == want,
        }
    }
}

/// A number in a content modifier or byte keyword: literal, or a `byte_extract` variable
/// (numbered in the order the rule defines them, from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Value {
    /// A literal.
    Lit(i64),
    /// The `n`-th `byte_extract` variable of the rule.
    Var(u8),
}

/// An inspection buffer. Packet-level buffers are filled for every packet; the others come
/// from the application layer (transactions, handshakes, files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Buffer {
    /// The default: packet payload, and for TCP also the reassembled stream (`pkt_data`).
    Payload,
    /// `ipv4.hdr`
    Ipv4Hdr,
    /// `ipv6.hdr`
    Ipv6Hdr,
    /// `tcp.hdr`
    TcpHdr,
    /// `udp.hdr`
    UdpHdr,
    /// `icmpv4.hdr`
    Icmpv4Hdr,
    /// `icmpv6.hdr`
    Icmpv6Hdr,
    /// `http.uri` / `http_uri` / `uricontent`: normalised request URI.
    HttpUri,
    /// `http.uri.raw` / `http_raw_uri`
    HttpUriRaw,
    /// `http.method`
    HttpMethod,
    /// `http.protocol`
    HttpProtocol,
    /// `http.request_line`
    HttpRequestLine,
    /// `http.response_line`
    HttpResponseLine,
    /// `http.stat_code`
    HttpStatCode,
    /// `http.stat_msg`
    HttpStatMsg,
    /// `http.header` for requests or responses, by the rule's direction (normalised headers).
    HttpHeader,
    /// `http.header.raw` / `http_raw_header`
    HttpHeaderRaw,
    /// `http.header_names`
    HttpHeaderNames,
    /// `http.request_header` (one header line per buffer instance: a multi-buffer).
    HttpRequestHeader,
    /// `http.response_header` (multi-buffer).
    HttpResponseHeader,
    /// `http.start`: request or response line plus headers.
    HttpStart,
    /// `http.host` (normalised: lower case, no port)
    HttpHost,
    /// `http.host.raw`
    HttpHostRaw,
    /// `http.user_agent`
    HttpUserAgent,
    /// `http.cookie`
    HttpCookie,
    /// `http.referer`
    HttpReferer,
    /// `http.content_type`
    HttpContentType,
    /// `http.content_len`
    HttpContentLen,
    /// `http.accept`
    HttpAccept,
    /// `http.accept_enc`
    HttpAcceptEnc,
    /// `http.accept_lang`
    HttpAcceptLang,
    /// `http.connection`
    HttpConnection,
    /// `http.location`
    HttpLocation,
    /// `http.server`
    HttpServer,
    /// `http.request_body` / `http_client_body`
    HttpRequestBody,
    /// `http.response_body` / `http_server_body` (dechunked, decompressed).
    HttpResponseBody,
    /// `file.data` / `file_data`: file contents (HTTP bodies in either direction, SMB files, ...).
    FileData,
    /// `file.name`: the name of each file a transaction carried, in the file's direction
    /// (multi-buffer); also what the legacy `filename` and `fileext` keywords match.
    FileName,
    /// `filesize`: the size of each file a transaction carried, as a value (multi-buffer).
    FileSize,
    /// `dns.query` / `dns_query` (each question name: a multi-buffer).
    DnsQuery,
    /// `dns.answers.rrname`: each answer record's name, in requests and responses
    /// (multi-buffer).
    DnsAnswerName,
    /// `dns.queries.rrname`: each question's name, in requests and responses (multi-buffer;
    /// unlike `dns.query`, which is request-only).
    DnsQueriesName,
    /// `dns.authorities.rrname`: each authority record's name, in requests and responses
    /// (multi-buffer).
    DnsAuthorityName,
    /// `dns.additionals.rrname`: each additional record's name, in requests and responses
    /// (multi-buffer).
    DnsAdditionalName,
    /// The DNS header's opcode as one byte (`dns.opcode`), in requests and responses.
    DnsOpcode,
    /// The DNS header's rcode as one byte (`dns.rcode`), in requests and responses.
    DnsRcode,
    /// `tls.sni`
    TlsSni,
    /// `tls.cert_subject`
    TlsCertSubject,
    /// `tls.cert_issuer`
    TlsCertIssuer,
    /// `tls.cert_serial`
    TlsCertSerial,
    /// `tls.cert_fingerprint`
    TlsCertFingerprint,
    /// `tls.certs`: each DER certificate of the chain (multi-buffer).
    TlsCerts,
    /// `tls.version` as text, when used as a buffer.
    TlsVersion,
    /// `tls.alpn`: each ALPN protocol name, the client's offers to the server and the
    /// server's choice to the client (multi-buffer).
    TlsAlpn,
    /// `tls.subjectaltname`: each subject alternative name of the server's (first)
    /// certificate, as EVE writes them (multi-buffer).
    TlsSubjectAltName,
    /// The number of certificates in the server's chain as a 4-byte big-endian value buffer
    /// (`tls.cert_chain_len`).
    TlsCertChainLen,
    /// `tls.random`: the hello's 32-byte random, the client's to the server and the
    /// server's to the client.
    TlsRandom,
    /// `tls.random_time`: the random's first 4 bytes.
    TlsRandomTime,
    /// `tls.random_bytes`: the random's last 28 bytes.
    TlsRandomBytes,
    /// `ja3.hash`
    Ja3Hash,
    /// `ja3.string`
    Ja3String,
    /// `ja3s.hash`
    Ja3sHash,
    /// `ja3s.string`
    Ja3sString,
    /// `ja4.hash`
    Ja4Hash,
    /// `ssh.proto`
    SshProto,
    /// `ssh.software`
    SshSoftware,
    /// `smb.named_pipe` / `smb_named_pipe`
    SmbNamedPipe,
    /// `smb.share` / `smb_share`
    SmbShare,
    /// `mqtt.connect.clientid`
    MqttConnectClientId,
    /// `mqtt.connect.username`
    MqttConnectUsername,
    /// `mqtt.connect.password`
    MqttConnectPassword,
    /// `mqtt.connect.protocol_string`
    MqttConnectProtocolString,
    /// `mqtt.connect.willtopic`
    MqttConnectWillTopic,
    /// `mqtt.connect.willmessage`
    MqttConnectWillMessage,
    /// `mqtt.publish.topic`
    MqttPublishTopic,
    /// `mqtt.publish.message`
    MqttPublishMessage,
    /// `mqtt.subscribe.topic`: each topic filter of a SUBSCRIBE (multi-buffer).
    MqttSubscribeTopic,
    /// `mqtt.unsubscribe.topic`: each topic filter of an UNSUBSCRIBE (multi-buffer).
    MqttUnsubscribeTopic,
    /// `mqtt.protocol_version`: the CONNECT's protocol level, one byte.
    MqttProtocolVersion,
    /// `mqtt.type`: each packet's type code, one byte (multi-buffer: any packet of the
    /// transaction).
    MqttType,
    /// `mqtt.flags`: each packet's DUP (0x08) and RETAIN (0x01) bits, one byte (multi).
    MqttFlags,
    /// `mqtt.qos`: each packet's QoS, one byte (multi).
    MqttQos,
    /// `mqtt.reason_code` / `mqtt.connack.return_code`: each reason code of the
    /// transaction's packets, one byte (multi).
    MqttReasonCode,
    /// `mqtt.connack.session_present`: the CONNACK's flag as 0 or 1.
    MqttConnackSessionPresent,
    /// `mqtt.connect.flags`: the CONNECT's flags byte.
    MqttConnectFlags,
    /// `base64_data`: the output of the rule's last `base64_decode`.
    Base64Data,
}

impl Buffer {
    /// Suricata's canonical keyword for the buffer.
    pub fn name(self) -> &'static str {
        match self {
            Self::Payload => "pkt_data",
            Self::Ipv4Hdr => "ipv4.hdr",
            Self::Ipv6Hdr => "ipv6.hdr",
            Self::TcpHdr => "tcp.hdr",
            Self::UdpHdr => "udp.hdr",
            Self::Icmpv4Hdr => "icmpv4.hdr",
            Self::Icmpv6Hdr => "icmpv6.hdr",
            Self::HttpUri => "http.uri",
            Self::HttpUriRaw => "http.uri.raw",
            Self::HttpMethod => "http.method",
            Self::HttpProtocol => "http.protocol",
            Self::HttpRequestLine => "http.request_line",
            Self::HttpResponseLine => "http.response_line",
            Self::HttpStatCode => "http.stat_code",
            Self::HttpStatMsg => "http.stat_msg",
            Self::HttpHeader => "http.header",
            Self::HttpHeaderRaw => "http.header.raw",
            Self::HttpHeaderNames => "http.header_names",
            Self::HttpRequestHeader => "http.request_header",
            Self::HttpResponseHeader => "http.response_header",
            Self::HttpStart => "http.start",
            Self::HttpHost => "http.host",
            Self::HttpHostRaw => "http.host.raw",
            Self::HttpUserAgent => "http.user_agent",
            Self::HttpCookie => "http.cookie",
            Self::HttpReferer => "http.referer",
            Self::HttpContentType => "http.content_type",
            Self::HttpContentLen => "http.content_len",
            Self::HttpAccept => "http.accept",
            Self::HttpAcceptEnc => "http.accept_enc",
            Self::HttpAcceptLang => "http.accept_lang",
            Self::HttpConnection => "http.connection",
            Self::HttpLocation => "http.location",
            Self::HttpServer => "http.server",
            Self::HttpRequestBody => "http.request_body",
            Self::HttpResponseBody => "http.response_body",
            Self::FileData => "file.data",
            Self::FileName => "file.name",
            Self::FileSize => "filesize",
            Self::DnsQuery => "dns.query",
            Self::DnsAnswerName => "dns.answers.rrname",
            Self::DnsQueriesName => "dns.queries.rrname",
            Self::DnsAuthorityName => "dns.authorities.rrname",
            Self::DnsAdditionalName => "dns.additionals.rrname",
            Self::DnsOpcode => "dns.opcode",
            Self::DnsRcode => "dns.rcode",
            Self::TlsSni => "tls.sni",
            Self::TlsCertSubject => "tls.cert_subject",
            Self::TlsCertIssuer => "tls.cert_issuer",
            Self::TlsCertSerial => "tls.cert_serial",
            Self::TlsCertFingerprint => "tls.cert_fingerprint",
            Self::TlsCerts => "tls.certs",
            Self::TlsVersion => "tls.version",
            Self::TlsAlpn => "tls.alpn",
            Self::TlsSubjectAltName => "tls.subjectaltname",
            Self::TlsCertChainLen => "tls.cert_chain_len",
            Self::TlsRandom => "tls.random",
            Self::TlsRandomTime => "tls.random_time",
            Self::TlsRandomBytes => "tls.random_bytes",
            Self::Ja3Hash => "ja3.hash",
            Self::Ja3String => "ja3.string",
            Self::Ja3sHash => "ja3s.hash",
            Self::Ja3sString => "ja3s.string",
            Self::Ja4Hash => "ja4.hash",
            Self::SshProto => "ssh.proto",
            Self::SshSoftware => "ssh.software",
            Self::SmbNamedPipe => "smb.named_pipe",
            Self::SmbShare => "smb.share",
            Self::MqttConnectClientId => "mqtt.connect.clientid",
            Self::MqttConnectUsername => "mqtt.connect.username",
            Self::MqttConnectPassword => "mqtt.connect.password",
            Self::MqttConnectProtocolString => "mqtt.connect.protocol_string",
            Self::MqttConnectWillTopic => "mqtt.connect.willtopic",
            Self::MqttConnectWillMessage => "mqtt.connect.willmessage",
            Self::MqttPublishTopic => "mqtt.publish.topic",
            Self::MqttPublishMessage => "mqtt.publish.message",
            Self::MqttSubscribeTopic => "mqtt.subscribe.topic",
            Self::MqttUnsubscribeTopic => "mqtt.unsubscribe.topic",
            Self::MqttProtocolVersion => "mqtt.protocol_version",
            Self::MqttType => "mqtt.type",
            Self::MqttFlags => "mqtt.flags",
            Self::MqttQos => "mqtt.qos",
            Self::MqttReasonCode => "mqtt.reason_code",
            Self::MqttConnackSessionPresent => "mqtt.connack.session_present",
            Self::MqttConnectFlags => "mqtt.connect.flags",
            Self::Base64Data => "base64_data",
        }
    }

    /// Whether the buffer is filled per packet (header and payload buffers) rather than by the
    /// application layer.
    pub fn is_packet_level(self) -> bool {
        matches!(
            self,
            Self::Payload
                | Self::Ipv4Hdr
                | Self::Ipv6Hdr
                | Self::TcpHdr
                | Self::UdpHdr
                | Self::Icmpv4Hdr
                | Self::Icmpv6Hdr
        )
    }

    /// The direction the buffer's data travels in, when it is fixed by the buffer itself.
    pub fn direction(self) -> Option<Direction> {
        match self {
            Self::HttpUri
            | Self::HttpUriRaw
            | Self::HttpMethod
            | Self::HttpRequestLine
            | Self::HttpRequestHeader
            | Self::HttpHost
            | Self::HttpHostRaw
            | Self::HttpUserAgent
            | Self::HttpCookie
            | Self::HttpReferer
            | Self::HttpAccept
            | Self::HttpAcceptEnc
            | Self::HttpAcceptLang
            | Self::HttpRequestBody
            | Self::DnsQuery
            | Self::TlsSni
            | Self::Ja3Hash
            | Self::Ja3String
            | Self::Ja4Hash => Some(Direction::ToServer),
            Self::HttpResponseLine
            | Self::HttpStatCode
            | Self::HttpStatMsg
            | Self::HttpResponseHeader
            | Self::HttpLocation
            | Self::HttpServer
            | Self::HttpResponseBody
            | Self::TlsCertSubject
            | Self::TlsCertIssuer
            | Self::TlsCertSerial
            | Self::TlsCertFingerprint
            | Self::TlsCerts
            | Self::TlsSubjectAltName
            | Self::TlsCertChainLen
            | Self::Ja3sHash
            | Self::Ja3sString => Some(Direction::ToClient),
            _ => None,
        }
    }

    /// Whether the buffer has several instances per transaction (each inspected on its own;
    /// the buffer matches when one instance does).
    pub fn is_multi(self) -> bool {
        matches!(
            self,
            Self::HttpRequestHeader
                | Self::HttpResponseHeader
                | Self::FileName
                | Self::FileSize
                | Self::DnsQuery
                | Self::DnsAnswerName
                | Self::DnsQueriesName
                | Self::DnsAuthorityName
                | Self::DnsAdditionalName
                | Self::TlsCerts
                | Self::TlsAlpn
                | Self::TlsSubjectAltName
                | Self::MqttSubscribeTopic
                | Self::MqttUnsubscribeTopic
                | Self::MqttType
                | Self::MqttFlags
                | Self::MqttQos
                | Self::MqttReasonCode
        )
    }
}

/// A transform applied to a buffer before its matchers, in rule order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transform {
    /// `dotprefix`: prepend `.`.
    DotPrefix,
    /// `strip_whitespace`
    StripWhitespace,
    /// `compress_whitespace`
    CompressWhitespace,
    /// `to_lowercase`
    ToLowercase,
    /// `to_uppercase`
    ToUppercase,
    /// `url_decode`
    UrlDecode,
    /// `to_md5`: the buffer becomes its raw 16-byte MD5 digest.
    ToMd5,
    /// `to_sha1`
    ToSha1,
    /// `to_sha256`
    ToSha256,
    /// `header_lowercase`
    HeaderLowercase,
    /// `strip_pseudo_headers`
    StripPseudoHeaders,
    /// `from_base64` with its options.
    FromBase64 {
        /// Decode at most this many bytes of input (`bytes N`), all when `None`.
        bytes: Option<u32>,
        /// Start at this offset of the buffer (`offset N`).
        offset: u32,
        /// `mode`: what to do with characters outside the alphabet.
        mode: Base64Mode,
    },
    /// `xor:"key"` with the key bytes.
    Xor(Vec<u8>),
    /// `pcrexform:"regex"`: the buffer becomes the first capture group.
    PcreXform(String),
}

/// `from_base64` `mode`: how characters outside the base64 alphabet are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Base64Mode {
    /// `rfc4648` (the default): decoding stops at the first one.
    #[default]
    Rfc4648,
    /// `rfc2045`: they are skipped, as MIME decoders do.
    Rfc2045,
    /// `strict`: one makes the whole input invalid (nothing is decoded).
    Strict,
}

/// Byte order of `byte_test`/`byte_jump`/`byte_extract`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Endian {
    /// `big` (the default)
    #[default]
    Big,
    /// `little`
    Little,
    /// `dce`: the DCERPC data representation of the flow (little unless the PDU says big).
    Dce,
}

/// Number base of a `string` byte conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumBase {
    /// `hex`
    Hex,
    /// `dec`
    Dec,
    /// `oct`
    Oct,
}

/// `byte_test` operator. `negated` in [`ByteTest`] applies `!` in front of any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOp {
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `=`
    Eq,
    /// `<=`
    Le,
    /// `>=`
    Ge,
    /// `&`: bitwise AND non-zero.
    And,
    /// `^`: bitwise XOR non-zero.
    Xor,
}

/// One `content`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Content {
    /// The bytes to find (hex `|..|` decoded, escapes resolved).
    pub pattern: Vec<u8>,
    /// `content:!"..."`
    pub negated: bool,
    /// `nocase`
    pub nocase: bool,
    /// `offset`
    pub offset: Option<Value>,
    /// `depth`
    pub depth: Option<Value>,
    /// `distance` (may be negative): relative to the end of the previous match in the buffer.
    pub distance: Option<Value>,
    /// `within`: relative to the end of the previous match in the buffer.
    pub within: Option<Value>,
    /// `startswith`: the match must start at the buffer's start (`depth` = pattern length).
    pub startswith: bool,
    /// `endswith`: the match must end at the buffer's end.
    pub endswith: bool,
    /// `rawbytes` (accepted, no effect: tapwatch has no telnet normalisation).
    pub rawbytes: bool,
}

impl Content {
    /// Whether the content is anchored relative to the previous match (`distance`/`within`).
    pub fn is_relative(&self) -> bool {
        self.distance.is_some() || self.within.is_some()
    }
}

/// `pcre` with its PCRE flags; Suricata's buffer modifiers (`U`, `H`, `P`, ...) are resolved to
/// the [`BufferMatch`] the pcre belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pcre {
    /// The expression between the slashes, unescaped only where the rule language requires
    /// (`\;` and `\"`).
    pub pattern: String,
    /// `pcre:!"..."`
    pub negated: bool,
    /// `i`
    pub caseless: bool,
    /// `m`
    pub multiline: bool,
    /// `s`
    pub dotall: bool,
    /// `x`
    pub extended: bool,
    /// `A`: anchored at the start of the inspection window.
    pub anchored: bool,
    /// `E`: `$` matches only at the very end.
    pub dollar_endonly: bool,
    /// `G`: ungreedy.
    pub ungreedy: bool,
    /// `R`: relative to the end of the previous match.
    pub relative: bool,
    /// `O`: override the configured match limits.
    pub override_limits: bool,
}

/// `byte_test`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ByteTest {
    /// Bytes to read (1-8, or up to 23 with `string`; 0 with `string` reads the digits up to
    /// the end of the buffer, e.g. `http.content_len; byte_test:0,>=,8079,0,string,dec;`).
    pub bytes: u8,
    /// `!` before the operator.
    pub negated: bool,
    /// Operator.
    pub op: ByteOp,
    /// Value to compare with.
    pub value: Value,
    /// Offset (may be negative with `relative`).
    pub offset: Value,
    /// `relative`
    pub relative: bool,
    /// Byte order.
    pub endian: Endian,
    /// `string,<base>`: the bytes are digits.
    pub string: Option<NumBase>,
    /// `bitmask N`: applied (and the result shifted right by the mask's trailing zeros) before
    /// comparing.
    pub bitmask: Option<u64>,
}

/// `byte_jump`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ByteJump {
    /// Bytes to read (0 allowed with `from_end`).
    pub bytes: u8,
    /// Offset.
    pub offset: Value,
    /// `relative`
    pub relative: bool,
    /// `multiplier N`
    pub multiplier: u32,
    /// Byte order.
    pub endian: Endian,
    /// `string,<base>`
    pub string: Option<NumBase>,
    /// `align`: round the jump up to a multiple of 4.
    pub align: bool,
    /// `from_beginning`: jump from the buffer's start rather than the end of the read bytes.
    pub from_beginning: bool,
    /// `from_end`: jump from the buffer's end.
    pub from_end: bool,
    /// `post_offset N` (may be negative).
    pub post_offset: i64,
    /// `bitmask N`
    pub bitmask: Option<u64>,
}

/// `byte_extract`: reads a number into the rule's variable `var`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ByteExtract {
    /// Bytes to read.
    pub bytes: u8,
    /// Offset.
    pub offset: i64,
    /// The variable's number (order of definition in the rule, from 0).
    pub var: u8,
    /// The variable's name, for messages.
    pub name: String,
    /// `relative`
    pub relative: bool,
    /// `multiplier N`
    pub multiplier: u32,
    /// Byte order.
    pub endian: Endian,
    /// `string,<base>`
    pub string: Option<NumBase>,
    /// `align N` (2 or 4), rounds the value up.
    pub align: Option<u8>,
    /// `bitmask N`
    pub bitmask: Option<u64>,
}

/// `isdataat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IsDataAt {
    /// Position.
    pub pos: Value,
    /// `relative`
    pub relative: bool,
    /// `isdataat:!N`
    pub negated: bool,
}

/// `base64_decode`: decodes part of the current buffer into [`Buffer::Base64Data`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Base64Decode {
    /// `bytes N`: at most this many input bytes.
    pub bytes: Option<u32>,
    /// `offset N`
    pub offset: u32,
    /// `relative`
    pub relative: bool,
}

/// One step of a buffer's match list, in rule order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Matcher {
    /// `content` and its modifiers.
    Content(Content),
    /// `pcre`
    Pcre(Pcre),
    /// `byte_test`
    ByteTest(ByteTest),
    /// `byte_jump`
    ByteJump(ByteJump),
    /// `byte_extract`
    ByteExtract(ByteExtract),
    /// `isdataat`
    IsDataAt(IsDataAt),
    /// `bsize` (and `urilen`, lowered onto the URI buffer): the buffer's length.
    Bsize(NumCmp),
    /// `base64_decode`
    Base64Decode(Base64Decode),
    /// An integer keyword (`dns.opcode`, `dns.rcode`): the buffer holds the field's value,
    /// big-endian, and the comparison applies to that value.
    Uint(NumCmp),
    /// `dataset` or `datarep`: the whole buffer (after its transforms) looked up in a set.
    Dataset(DatasetMatch),
}

/// A dataset's type as a rule names it (`type`; `ipv6` is `Ip`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DatasetType {
    /// `string`
    String,
    /// `md5`
    Md5,
    /// `sha256`
    Sha256,
    /// `ipv4`
    Ipv4,
    /// `ip` (or `ipv6`)
    Ip,
}

/// What a `dataset` or `datarep` keyword does with the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DatasetOp {
    /// `set`: adds the value; matches when it was not there before.
    Set,
    /// `unset`: removes the value; matches when it was there.
    Unset,
    /// `isset`: matches when the value is there.
    IsSet,
    /// `isnotset`: matches when the value is not there.
    IsNotSet,
    /// `datarep`: matches when the value is there and its reputation compares so.
    Rep(RepCmp),
}

/// `datarep`'s comparison of the value's reputation with the rule's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepCmp {
    /// `>`
    Gt(u16),
    /// `<`
    Lt(u16),
    /// `==`
    Eq(u16),
}

impl RepCmp {
    /// Whether reputation `rep` satisfies the comparison.
    pub fn matches(self, rep: u16) -> bool {
        match self {
            Self::Gt(n) => rep > n,
            Self::Lt(n) => rep < n,
            Self::Eq(n) => rep == n,
        }
    }
}

/// `dataset:` / `datarep:` as written: the set is found (or made) by its name when the
/// engine is built, so its contents outlive a rule reload.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DatasetMatch {
    /// The command.
    pub op: DatasetOp,
    /// The set's name.
    pub name: String,
    /// `type`
    pub data_type: Option<DatasetType>,
    /// `load` (relative to the rule file's directory).
    pub load: Option<String>,
    /// `save` (relative to the data directory).
    pub save: Option<String>,
    /// `state` (load and save, relative to the data directory).
    pub state: Option<String>,
    /// `memcap`, bytes.
    pub memcap: Option<u64>,
    /// `hashsize`
    pub hashsize: Option<u64>,
}

/// Which addresses `iprep` looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpRepSide {
    /// `src`
    Src,
    /// `dst`
    Dst,
    /// `both`: source and destination must both satisfy the condition.
    Both,
    /// `any`: source or destination.
    Any,
}

/// `iprep`'s condition on a host's score in the category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpRepCond {
    /// `isset`: the host has a score in the category.
    IsSet,
    /// `isnotset`: it has none.
    IsNotSet,
    /// A comparison (`>`, `<`, `=`, `!=`, `>=`, `<=`, ranges): the host has a score and it
    /// compares so. A host without a score never satisfies a comparison.
    Cmp(NumCmp),
}

/// `iprep:<side>,<category>,<op>,<value>`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IpRepMatch {
    /// The side.
    pub side: IpRepSide,
    /// The category's short name (resolved with the categories file when the engine is built).
    pub category: String,
    /// The condition.
    pub cond: IpRepCond,
}

/// `absent` on a buffer: the buffer must not exist (`absent`), or, with `or_else`, either not
/// exist or satisfy the matchers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Absent {
    /// `absent`: only a missing buffer matches.
    Only,
    /// `absent: or_else`: a missing buffer matches, and a present one must satisfy the matchers.
    OrElse,
}

/// All conditions a rule places on one buffer, in rule order. A rule has at most one
/// `BufferMatch` per (buffer, transforms) pair: later sticky-buffer switches back to the same
/// buffer append to it, as in Suricata.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BufferMatch {
    /// The buffer.
    pub buffer: Buffer,
    /// Transforms applied first, in order.
    pub transforms: Vec<Transform>,
    /// The match list.
    pub matchers: Vec<Matcher>,
    /// `absent`, if given.
    pub absent: Option<Absent>,
}

/// Which content a rule's prefilter uses, when the rule said so with `fast_pattern`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FastPattern {
    /// Index into [`Signature::buffers`].
    pub buffer: usize,
    /// Index into that buffer's `matchers`; always a non-negated [`Matcher::Content`].
    pub matcher: usize,
    /// `fast_pattern:only` (legacy; the content is still verified).
    pub only: bool,
    /// `fast_pattern:offset,length`: only this slice of the content goes to the prefilter.
    pub chop: Option<(u16, u16)>,
}

/// `flow:` options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FlowMatch {
    /// `established` (Some(true)) or `not_established` (Some(false)).
    pub established: Option<bool>,
    /// `stateless`
    pub stateless: bool,
    /// `to_server`/`from_client` or `to_client`/`from_server`.
    pub direction: Option<Direction>,
    /// `only_stream` (Some(true)) or `no_stream` (Some(false)).
    pub stream: Option<bool>,
    /// `only_frag` (Some(true)) or `no_frag` (Some(false)).
    pub frag: Option<bool>,
}

/// TCP flag bits as in the header (FIN 0x01 ... CWR 0x80).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlagMode {
    /// No modifier: exactly these flags (after the ignore mask).
    Exact,
    /// `+`: these flags and possibly others.
    All,
    /// `*`: any of these flags.
    Any,
    /// `!`: not exactly these flags.
    Not,
}

/// A condition on packet headers, checked before any content.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PacketCondition {
    /// `dsize`: payload length.
    Dsize(NumCmp),
    /// `ttl` (IPv4 TTL or IPv6 hop limit).
    Ttl(NumCmp),
    /// `tos`: `negated` for `!`.
    Tos {
        /// The TOS byte.
        value: u8,
        /// `tos:!N`
        negated: bool,
    },
    /// `id`: IPv4 identification.
    IpId(u16),
    /// `ip_proto`
    IpProto(NumCmp),
    /// `fragbits`: bits are R=0x04 (reserved), D=0x02 (don't fragment), M=0x01 (more).
    FragBits {
        /// The bits.
        bits: u8,
        /// Modifier.
        mode: FlagMode,
    },
    /// `fragoffset`
    FragOffset(NumCmp),
    /// `flags`
    TcpFlags {
        /// The flag bits that must be (or not be) set.
        bits: u8,
        /// Modifier.
        mode: FlagMode,
        /// Bits to ignore (`flags:S,12` ignores CWR and ECE).
        ignore: u8,
    },
    /// `seq`
    TcpSeq(u32),
    /// `ack`
    TcpAck(u32),
    /// `window`
    TcpWindow {
        /// The window.
        value: u16,
        /// `window:!N`
        negated: bool,
    },
    /// `tcp.mss`
    TcpMss(NumCmp),
    /// `itype`
    IcmpType(NumCmp),
    /// `icode`
    IcmpCode(NumCmp),
    /// `icmp_id`
    IcmpId(u16),
    /// `icmp_seq`
    IcmpSeq(u16),
    /// `sameip`
    SameIp,
    /// `stream_size`
    StreamSize {
        /// Which side's byte count.
        side: StreamSide,
        /// Comparison on the bytes seen so far (sequence-number based, as Suricata).
        cmp: NumCmp,
    },
}

/// `stream_size` side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamSide {
    /// `client`
    Client,
    /// `server`
    Server,
    /// `both`: both sides satisfy it.
    Both,
    /// `either`: one side does.
    Either,
}

/// A flow variable operation, evaluated in rule order: conditions while matching, actions once
/// the whole rule matched.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StateOp {
    /// `flowbits:isset,a|b` (any of the names set).
    FlowbitIsSet(Vec<String>),
    /// `flowbits:isnotset,a|b` (any of the names not set).
    FlowbitIsNotSet(Vec<String>),
    /// `flowbits:set,a` (`a&b` sets several).
    FlowbitSet(Vec<String>),
    /// `flowbits:unset,a`
    FlowbitUnset(Vec<String>),
    /// `flowbits:toggle,a`
    FlowbitToggle(Vec<String>),
    /// `flowint:name,op,value`
    Flowint {
        /// The variable.
        name: String,
        /// The operation.
        op: FlowintOp,
    },
    /// `xbits:op,name,track ip_src|ip_dst|ip_pair[,expire N]`
    Xbits {
        /// The operation.
        op: XbitOp,
        /// The bit.
        name: String,
        /// What it is stored with.
        track: XbitTrack,
        /// Seconds until it expires (for set/toggle).
        expire: Option<u32>,
    },
}

/// `flowint` operations.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FlowintOp {
    /// `=` (action)
    Set(FlowintValue),
    /// `+` (action)
    Add(FlowintValue),
    /// `-` (action)
    Sub(FlowintValue),
    /// `isset` (condition)
    IsSet,
    /// `notset` / `isnotset` (condition)
    IsNotSet,
    /// `==`, `!=`, `<`, `<=`, `>`, `>=` (condition)
    Compare(CmpOp, FlowintValue),
}

/// A `flowint` operand.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FlowintValue {
    /// A number.
    Lit(u32),
    /// Another flowint's value.
    Var(String),
}

/// Comparison operator of `flowint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// `xbits` operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XbitOp {
    /// `set`
    Set,
    /// `unset`
    Unset,
    /// `toggle`
    Toggle,
    /// `isset`
    IsSet,
    /// `isnotset`
    IsNotSet,
}

/// What an `xbits` bit is stored with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XbitTrack {
    /// `ip_src`
    IpSrc,
    /// `ip_dst`
    IpDst,
    /// `ip_pair`
    IpPair,
}

/// What a threshold or detection filter counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Track {
    /// `by_src`
    BySrc,
    /// `by_dst`
    ByDst,
    /// `by_rule`
    ByRule,
    /// `by_both`: source and destination pair.
    ByBoth,
    /// `by_flow`
    ByFlow,
}

/// `threshold` type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThresholdKind {
    /// `limit`: at most `count` alerts per `seconds`.
    Limit,
    /// `threshold`: an alert every `count` matches within `seconds`.
    Threshold,
    /// `both`: one alert once `count` matches happened within `seconds`.
    Both,
}

/// `threshold` (in the rule, or from `threshold.config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Threshold {
    /// Type.
    pub kind: ThresholdKind,
    /// Track.
    pub track: Track,
    /// Count.
    pub count: u32,
    /// Seconds.
    pub seconds: u32,
}

/// `detection_filter`: alert only once `count` matches happened within `seconds`, then on every
/// match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DetectionFilter {
    /// Track (`by_src`, `by_dst`, `by_rule`, `by_both`, `by_flow`).
    pub track: Track,
    /// Count.
    pub count: u32,
    /// Seconds.
    pub seconds: u32,
}

/// An engine event the rule matches on, resolved to its typed value at load (a name tapwatch
/// does not know is a rejected rule).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventMatch {
    /// `decode-event:ppp.pkt_too_small` (with or without the `decoder.` prefix).
    Decode(DecodeEvent),
    /// `stream-event:3whs_synack_with_wrong_ack` (with or without the `stream.` prefix).
    Stream(StreamEvent),
    /// `app-layer-event:http.request_header_invalid` (`proto.EVENT` or, for engine events,
    /// `applayer_...`), lower case.
    AppLayer(String),
}

/// What `app-layer-protocol` compares the flow's application protocol with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppProtoMatch {
    /// A protocol. Without negation it is one tapwatch detects; a negated protocol tapwatch
    /// never detects is kept (it always holds, which is still exact).
    Proto(AppProto),
    /// `failed`: no parser recognised the flow.
    Failed,
    /// `unknown`: not (yet) detected.
    Unknown,
}

/// `app-layer-protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AppLayerProtocol {
    /// The protocol, or `failed` / `unknown`.
    pub proto: AppProtoMatch,
    /// `app-layer-protocol:!name`
    pub negated: bool,
}

/// The rule's `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// `target:src_ip`
    SrcIp,
    /// `target:dest_ip`
    DestIp,
}

/// Gid, sid and rev.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SignatureId {
    /// Generator id (1 unless given).
    pub gid: u32,
    /// Signature id.
    pub sid: u32,
    /// Revision (0 unless given).
    pub rev: u32,
}

/// A validated rule, ready for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Gid, sid, rev.
    pub id: SignatureId,
    /// Action.
    pub action: Action,
    /// Header.
    pub header: Header,
    /// `msg`, escapes resolved.
    pub msg: String,
    /// `classtype` short name.
    pub classtype: Option<String>,
    /// The classtype's description from `classification.config` (EVE `alert.category`).
    pub category: Option<String>,
    /// `priority`, else the classtype's, else 3 (EVE `alert.severity`).
    pub priority: u8,
    /// `metadata` pairs in rule order (`key value`); EVE groups them by key.
    pub metadata: Vec<(String, String)>,
    /// `reference` values (`type,id`).
    pub references: Vec<String>,
    /// `target`
    pub target: Option<Target>,
    /// `flow:`
    pub flow: FlowMatch,
    /// Header conditions.
    pub packet: Vec<PacketCondition>,
    /// Buffer match lists, in the order the rule first names each buffer.
    pub buffers: Vec<BufferMatch>,
    /// The content given `fast_pattern`, if any.
    pub fast_pattern: Option<FastPattern>,
    /// Flow variable conditions and actions, in rule order.
    pub state: Vec<StateOp>,
    /// `noalert` (also `flowbits:noalert`): match and run actions, write no alert.
    pub noalert: bool,
    /// `threshold` from the rule (a `threshold.config` entry for the sid replaces it).
    pub threshold: Option<Threshold>,
    /// `detection_filter`
    pub detection_filter: Option<DetectionFilter>,
    /// Engine events the rule matches.
    pub events: Vec<EventMatch>,
    /// `iprep` conditions (all must hold).
    pub iprep: Vec<IpRepMatch>,
    /// `app-layer-protocol`
    pub app_layer_protocol: Option<AppLayerProtocol>,
    /// Where the rule was read from.
    pub location: SourceLocation,
    /// The rule text as read (one line, continuations joined), for `rule` in EVE on request.
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_comparisons_follow_suricata_boundaries() {
        assert!(NumCmp::Between(8, 20).matches(9));
        assert!(!NumCmp::Between(8, 20).matches(8));
        assert!(!NumCmp::Between(8, 20).matches(20));
        assert!(NumCmp::Le(10).matches(10) && !NumCmp::Lt(10).matches(10));
        assert!(NumCmp::Ne(9).matches(10) && !NumCmp::Ne(9).matches(9));
    }

    #[test]
    fn sets_find_members_at_range_edges() {
        let ports = PortSet {
            ranges: vec![(80, 80), (8000, 8080)],
        };
        assert!(ports.contains(80) && ports.contains(8000) && ports.contains(8080));
        assert!(!ports.contains(79) && !ports.contains(81) && !ports.contains(8081));
        let any = AddressSet::any();
        assert!(any.is_any() && any.contains("10.1.2.3".parse().unwrap()));
        let none = AddressSet::default();
        assert!(!none.contains("::1".parse().unwrap()));
    }
}
