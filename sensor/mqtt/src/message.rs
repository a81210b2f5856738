//! MQTT control packets (3.1, 3.1.1 and 5.0): the fixed header and the variable header and
//! payload of every packet type, with MQTT 5 properties.
//!
//! Parsing never panics and never reads past the packet: every read goes through [`Reader`],
//! which fails with [`Malformed`] instead.

use tapwatch_common::Direction;

/// MQTT 5.0's protocol level; earlier levels (3: 3.1, 4: 3.1.1) have no properties.
pub const VERSION_5: u8 = 5;

/// A control packet type (the fixed header's high nibble), with MQTT's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MsgType {
    /// Type 0, reserved.
    Unassigned,
    /// 1
    Connect,
    /// 2
    Connack,
    /// 3
    Publish,
    /// 4
    Puback,
    /// 5
    Pubrec,
    /// 6
    Pubrel,
    /// 7
    Pubcomp,
    /// 8
    Subscribe,
    /// 9
    Suback,
    /// 10
    Unsubscribe,
    /// 11
    Unsuback,
    /// 12
    Pingreq,
    /// 13
    Pingresp,
    /// 14
    Disconnect,
    /// 15 (MQTT 5)
    Auth,
}

impl MsgType {
    /// The type of a fixed header's first byte.
    pub fn of(byte0: u8) -> MsgType {
        match byte0 >> 4 {
            1 => Self::Connect,
            2 => Self::Connack,
            3 => Self::Publish,
            4 => Self::Puback,
            5 => Self::Pubrec,
            6 => Self::Pubrel,
            7 => Self::Pubcomp,
            8 => Self::Subscribe,
            9 => Self::Suback,
            10 => Self::Unsubscribe,
            11 => Self::Unsuback,
            12 => Self::Pingreq,
            13 => Self::Pingresp,
            14 => Self::Disconnect,
            15 => Self::Auth,
            _ => Self::Unassigned,
        }
    }

    /// The type code (0 to 15), as `mqtt.type` compares it.
    pub fn code(self) -> u8 {
        match self {
            Self::Unassigned => 0,
            Self::Connect => 1,
            Self::Connack => 2,
            Self::Publish => 3,
            Self::Puback => 4,
            Self::Pubrec => 5,
            Self::Pubrel => 6,
            Self::Pubcomp => 7,
            Self::Subscribe => 8,
            Self::Suback => 9,
            Self::Unsubscribe => 10,
            Self::Unsuback => 11,
            Self::Pingreq => 12,
            Self::Pingresp => 13,
            Self::Disconnect => 14,
            Self::Auth => 15,
        }
    }

    /// The lower-case name EVE uses as the message's key (`connect`, `puback`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Unassigned => "unassigned",
            Self::Connect => "connect",
            Self::Connack => "connack",
            Self::Publish => "publish",
            Self::Puback => "puback",
            Self::Pubrec => "pubrec",
            Self::Pubrel => "pubrel",
            Self::Pubcomp => "pubcomp",
            Self::Subscribe => "subscribe",
            Self::Suback => "suback",
            Self::Unsubscribe => "unsubscribe",
            Self::Unsuback => "unsuback",
            Self::Pingreq => "pingreq",
            Self::Pingresp => "pingresp",
            Self::Disconnect => "disconnect",
            Self::Auth => "auth",
        }
    }

    /// The type named `name` in a rule (`mqtt.type:CONNECT`, any case; `UNASSIGNED` is 0).
    pub fn from_rule_name(name: &str) -> Option<MsgType> {
        (0u8..16)
            .map(|c| MsgType::of(c << 4))
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }
}

/// The fixed header: type, flags and the length of the rest of the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedHeader {
    /// The packet type.
    pub kind: MsgType,
    /// DUP flag (bit 3).
    pub dup: bool,
    /// QoS (bits 2-1; 3 is invalid).
    pub qos: u8,
    /// RETAIN flag (bit 0).
    pub retain: bool,
    /// The remaining length (variable header and payload).
    pub remaining_length: u32,
    /// Bytes of the fixed header itself (2 to 5).
    pub header_length: u8,
}

impl FixedHeader {
    /// `mqtt.flags`'s value: DUP as 0x08, RETAIN as 0x01 (their places in the header).
    pub fn flag_bits(&self) -> u8 {
        (u8::from(self.dup) << 3) | u8::from(self.retain)
    }

    /// The whole packet's length: fixed header and remaining length.
    pub fn packet_length(&self) -> u64 {
        u64::from(self.header_length) + u64::from(self.remaining_length)
    }
}

/// What reading a fixed header from the start of a buffer found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderRead {
    /// A complete fixed header.
    Header(FixedHeader),
    /// More bytes are needed to finish the header.
    Incomplete,
    /// The remaining length does not end within four bytes.
    Invalid,
}

/// Reads the fixed header at the start of `data`.
pub fn read_fixed_header(data: &[u8]) -> HeaderRead {
    let Some(&b0) = data.first() else {
        return HeaderRead::Incomplete;
    };
    let mut len: u32 = 0;
    for i in 0..4u8 {
        let Some(&b) = data.get(usize::from(i) + 1) else {
            return HeaderRead::Incomplete;
        };
        len |= u32::from(b & 0x7f) << (7 * u32::from(i));
        if b & 0x80 == 0 {
            return HeaderRead::Header(FixedHeader {
                kind: MsgType::of(b0),
                dup: b0 & 0x08 != 0,
                qos: (b0 >> 1) & 0x03,
                retain: b0 & 0x01 != 0,
                remaining_length: len,
                header_length: i + 2,
            });
        }
    }
    HeaderRead::Invalid
}

/// A packet's body could not be read as its type requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// An MQTT 5 property, by Suricata's EVE names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Property {
    /// A one-byte, two-byte, four-byte or variable-byte integer property.
    Int(&'static str, u32),
    /// A UTF-8 string or binary data property (EVE writes both as text).
    Bytes(&'static str, Vec<u8>),
    /// A user property: its name and value (EVE writes `name: value`).
    User(Vec<u8>, Vec<u8>),
}

/// A list of MQTT 5 properties (empty before MQTT 5).
pub type Properties = Vec<Property>;

/// CONNECT.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connect {
    /// `MQTT` or `MQIsdp`.
    pub protocol_string: Vec<u8>,
    /// 3 (3.1), 4 (3.1.1) or 5.
    pub protocol_version: u8,
    /// The connect flags byte.
    pub flags: u8,
    /// Keep alive, in seconds.
    pub keepalive: u16,
    /// The client identifier.
    pub client_id: Vec<u8>,
    /// The will topic, when the will flag is set.
    pub will_topic: Option<Vec<u8>>,
    /// The will message, when the will flag is set.
    pub will_message: Option<Vec<u8>>,
    /// The will properties (MQTT 5).
    pub will_properties: Properties,
    /// The user name, when its flag is set.
    pub username: Option<Vec<u8>>,
    /// The password, when its flag is set.
    pub password: Option<Vec<u8>>,
    /// The connect properties (MQTT 5).
    pub properties: Properties,
}

/// Connect flag bits.
pub mod connect_flags {
    /// User name present.
    pub const USERNAME: u8 = 0x80;
    /// Password present.
    pub const PASSWORD: u8 = 0x40;
    /// Will retain.
    pub const WILL_RETAIN: u8 = 0x20;
    /// Will present.
    pub const WILL: u8 = 0x04;
    /// Clean session (clean start in MQTT 5).
    pub const CLEAN_SESSION: u8 = 0x02;
}

/// CONNACK.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connack {
    /// The session present flag.
    pub session_present: bool,
    /// The return code (reason code in MQTT 5).
    pub return_code: u8,
    /// Properties (MQTT 5).
    pub properties: Properties,
}

/// PUBLISH.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Publish {
    /// The topic name.
    pub topic: Vec<u8>,
    /// The packet identifier (QoS 1 and 2).
    pub message_id: Option<u16>,
    /// The application message.
    pub message: Vec<u8>,
    /// Properties (MQTT 5).
    pub properties: Properties,
}

/// PUBACK, PUBREC, PUBREL and PUBCOMP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ack {
    /// The packet identifier.
    pub message_id: u16,
    /// The reason code (MQTT 5, when present).
    pub reason_code: Option<u8>,
    /// Properties (MQTT 5).
    pub properties: Properties,
}

/// SUBSCRIBE.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscribe {
    /// The packet identifier.
    pub message_id: u16,
    /// Each topic filter and its requested QoS.
    pub topics: Vec<(Vec<u8>, u8)>,
    /// Properties (MQTT 5).
    pub properties: Properties,
}

/// SUBACK.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Suback {
    /// The packet identifier.
    pub message_id: u16,
    /// The granted QoS (reason code in MQTT 5) of each filter.
    pub qos_granted: Vec<u8>,
    /// Properties (MQTT 5).
    pub properties: Properties,
}

/// UNSUBSCRIBE.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unsubscribe {
    /// The packet identifier.
    pub message_id: u16,
    /// The topic filters.
    pub topics: Vec<Vec<u8>>,
    /// Properties (MQTT 5).
    pub properties: Properties,
}

/// UNSUBACK.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unsuback {
    /// The packet identifier.
    pub message_id: u16,
    /// The reason code of each filter (MQTT 5 only).
    pub reason_codes: Option<Vec<u8>>,
    /// Properties (MQTT 5).
    pub properties: Properties,
}

/// DISCONNECT and AUTH (MQTT 5 gives both a reason code and properties).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReasonOnly {
    /// The reason code, when present.
    pub reason_code: Option<u8>,
    /// Properties (MQTT 5).
    pub properties: Properties,
}

/// The variable header and payload of a packet, by type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// CONNECT
    Connect(Box<Connect>),
    /// CONNACK
    Connack(Connack),
    /// PUBLISH
    Publish(Box<Publish>),
    /// PUBACK, PUBREC, PUBREL, PUBCOMP (the header tells which)
    Ack(Ack),
    /// SUBSCRIBE
    Subscribe(Subscribe),
    /// SUBACK
    Suback(Suback),
    /// UNSUBSCRIBE
    Unsubscribe(Unsubscribe),
    /// UNSUBACK
    Unsuback(Unsuback),
    /// PINGREQ, PINGRESP (no body)
    Empty,
    /// DISCONNECT, AUTH
    Reason(ReasonOnly),
    /// Type 0: the body is not read.
    Unassigned,
    /// A packet longer than the configured maximum: its body was skipped, not read.
    Truncated {
        /// The whole packet's length (fixed header included).
        skipped_length: u64,
    },
}

/// One MQTT control packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttMessage {
    /// The fixed header.
    pub header: FixedHeader,
    /// The direction it travelled in.
    pub direction: Direction,
    /// Its body.
    pub body: Body,
}

impl MqttMessage {
    /// The reason codes the message carries (`mqtt.reason_code`): CONNACK's return code,
    /// an acknowledgement's, DISCONNECT's or AUTH's reason code, each of SUBACK's granted
    /// QoS and each of UNSUBACK's reason codes.
    pub fn reason_codes(&self) -> impl Iterator<Item = u8> + '_ {
        let (one, many): (Option<u8>, &[u8]) = match &self.body {
            Body::Connack(c) => (Some(c.return_code), &[]),
            Body::Ack(a) => (a.reason_code, &[]),
            Body::Reason(r) => (r.reason_code, &[]),
            Body::Suback(s) => (None, &s.qos_granted),
            Body::Unsuback(u) => (None, u.reason_codes.as_deref().unwrap_or(&[])),
            _ => (None, &[]),
        };
        one.into_iter().chain(many.iter().copied())
    }
}

/// A bounds-checked cursor over a packet's body.
#[derive(Debug)]
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if n > self.data.len() {
            return Err(Malformed);
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, Malformed> {
        let [b] = self.take(1)? else {
            return Err(Malformed);
        };
        Ok(*b)
    }

    fn u16(&mut self) -> Result<u16, Malformed> {
        let [a, b] = self.take(2)? else {
            return Err(Malformed);
        };
        Ok(u16::from_be_bytes([*a, *b]))
    }

    fn u32(&mut self) -> Result<u32, Malformed> {
        let [a, b, c, d] = self.take(4)? else {
            return Err(Malformed);
        };
        Ok(u32::from_be_bytes([*a, *b, *c, *d]))
    }

    /// A variable byte integer (at most four bytes).
    fn varint(&mut self) -> Result<u32, Malformed> {
        let mut v: u32 = 0;
        for i in 0..4 {
            let b = self.u8()?;
            v |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Malformed)
    }

    /// A two-byte-length-prefixed string or binary datum.
    fn string(&mut self) -> Result<Vec<u8>, Malformed> {
        let n = self.u16()?;
        Ok(self.take(usize::from(n))?.to_vec())
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// MQTT 5 properties: their length, then each property.
    fn properties(&mut self) -> Result<Properties, Malformed> {
        let len = self.varint()?;
        let mut r = Reader {
            data: self.take(usize::try_from(len).map_err(|_| Malformed)?)?,
        };
        let mut props = Vec::new();
        while !r.is_empty() {
            props.push(r.property()?);
        }
        Ok(props)
    }

    fn property(&mut self) -> Result<Property, Malformed> {
        let id = self.varint()?;
        /// How a property's value is encoded.
        enum K {
            Byte,
            Two,
            Four,
            Var,
            Text,
        }
        let (name, kind) = match id {
            0x01 => ("payload_format_indicator", K::Byte),
            0x02 => ("message_expiry_interval", K::Four),
            0x03 => ("content_type", K::Text),
            0x08 => ("response_topic", K::Text),
            0x09 => ("correlation_data", K::Text),
            0x0B => ("subscription_identifier", K::Var),
            0x11 => ("session_expiry_interval", K::Four),
            0x12 => ("assigned_client_identifier", K::Text),
            0x13 => ("server_keep_alive", K::Two),
            0x15 => ("authentication_method", K::Text),
            0x16 => ("authentication_data", K::Text),
            0x17 => ("request_problem_information", K::Byte),
            0x18 => ("will_delay_interval", K::Four),
            0x19 => ("request_response_information", K::Byte),
            0x1A => ("response_information", K::Text),
            0x1C => ("server_reference", K::Text),
            0x1F => ("reason_string", K::Text),
            0x21 => ("receive_maximum", K::Two),
            0x22 => ("topic_alias_maximum", K::Two),
            0x23 => ("topic_alias", K::Two),
            0x24 => ("maximum_qos", K::Byte),
            0x25 => ("retain_available", K::Byte),
            0x26 => {
                let k = self.string()?;
                let v = self.string()?;
                return Ok(Property::User(k, v));
            }
            0x27 => ("maximum_packet_size", K::Four),
            0x28 => ("wildcard_subscription_available", K::Byte),
            0x29 => ("subscription_identifier_available", K::Byte),
            0x2A => ("shared_subscription_available", K::Byte),
            _ => return Err(Malformed),
        };
        Ok(match kind {
            K::Byte => Property::Int(name, u32::from(self.u8()?)),
            K::Two => Property::Int(name, u32::from(self.u16()?)),
            K::Four => Property::Int(name, self.u32()?),
            K::Var => Property::Int(name, self.varint()?),
            K::Text => Property::Bytes(name, self.string()?),
        })
    }
}

/// Parses the body of a packet whose fixed header is `header`; `version` is the session's
/// protocol level (a CONNECT uses its own).
pub fn parse_body(header: &FixedHeader, body: &[u8], version: u8) -> Result<Body, Malformed> {
    let mut r = Reader { data: body };
    let v5 = version == VERSION_5;
    Ok(match header.kind {
        MsgType::Connect => Body::Connect(Box::new(parse_connect(&mut r)?)),
        MsgType::Connack => {
            let flags = r.u8()?;
            let return_code = r.u8()?;
            let properties = if v5 && !r.is_empty() {
                r.properties()?
            } else {
                Vec::new()
            };
            Body::Connack(Connack {
                session_present: flags & 0x01 != 0,
                return_code,
                properties,
            })
        }
        MsgType::Publish => {
            let topic = r.string()?;
            let message_id = if header.qos > 0 { Some(r.u16()?) } else { None };
            let properties = if v5 { r.properties()? } else { Vec::new() };
            Body::Publish(Box::new(Publish {
                topic,
                message_id,
                message: r.rest().to_vec(),
                properties,
            }))
        }
        MsgType::Puback | MsgType::Pubrec | MsgType::Pubrel | MsgType::Pubcomp => {
            let message_id = r.u16()?;
            let (reason_code, properties) = reason_and_properties(&mut r, v5)?;
            Body::Ack(Ack {
                message_id,
                reason_code,
                properties,
            })
        }
        MsgType::Subscribe => {
            let message_id = r.u16()?;
            let properties = if v5 { r.properties()? } else { Vec::new() };
            let mut topics = Vec::new();
            while !r.is_empty() {
                let t = r.string()?;
                let options = r.u8()?;
                topics.push((t, options & 0x03));
            }
            Body::Subscribe(Subscribe {
                message_id,
                topics,
                properties,
            })
        }
        MsgType::Suback => {
            let message_id = r.u16()?;
            let properties = if v5 { r.properties()? } else { Vec::new() };
            Body::Suback(Suback {
                message_id,
                qos_granted: r.rest().to_vec(),
                properties,
            })
        }
        MsgType::Unsubscribe => {
            let message_id = r.u16()?;
            let properties = if v5 { r.properties()? } else { Vec::new() };
            let mut topics = Vec::new();
            while !r.is_empty() {
                topics.push(r.string()?);
            }
            Body::Unsubscribe(Unsubscribe {
                message_id,
                topics,
                properties,
            })
        }
        MsgType::Unsuback => {
            let message_id = r.u16()?;
            let (mut properties, mut reason_codes) = (Vec::new(), None);
            if v5 {
                properties = r.properties()?;
                reason_codes = Some(r.rest().to_vec());
            }
            Body::Unsuback(Unsuback {
                message_id,
                reason_codes,
                properties,
            })
        }
        MsgType::Pingreq | MsgType::Pingresp => Body::Empty,
        MsgType::Disconnect | MsgType::Auth => {
            // As Suricata reads them: a reason code comes with its property length (a lone
            // byte is not read, and the code is 0).
            if v5 && body.len() < 2 {
                r.rest();
            }
            let (reason_code, properties) = reason_and_properties(&mut r, v5)?;
            Body::Reason(ReasonOnly {
                reason_code,
                properties,
            })
        }
        MsgType::Unassigned => Body::Unassigned,
    })
}

/// MQTT 5's optional reason code and properties at the end of an acknowledgement,
/// DISCONNECT or AUTH: an absent reason code is 0 (success, normal disconnection), as MQTT 5
/// defines it and Suricata logs it. Before MQTT 5 there is none.
fn reason_and_properties(
    r: &mut Reader<'_>,
    v5: bool,
) -> Result<(Option<u8>, Properties), Malformed> {
    if !v5 {
        return Ok((None, Vec::new()));
    }
    if r.is_empty() {
        return Ok((Some(0), Vec::new()));
    }
    let code = r.u8()?;
    let properties = if r.is_empty() {
        Vec::new()
    } else {
        r.properties()?
    };
    Ok((Some(code), properties))
}

fn parse_connect(r: &mut Reader<'_>) -> Result<Connect, Malformed> {
    let protocol_string = r.string()?;
    let protocol_version = r.u8()?;
    let flags = r.u8()?;
    let keepalive = r.u16()?;
    let v5 = protocol_version == VERSION_5;
    let properties = if v5 { r.properties()? } else { Vec::new() };
    let client_id = r.string()?;
    let mut c = Connect {
        protocol_string,
        protocol_version,
        flags,
        keepalive,
        client_id,
        properties,
        ..Connect::default()
    };
    if flags & connect_flags::WILL != 0 {
        if v5 {
            c.will_properties = r.properties()?;
        }
        c.will_topic = Some(r.string()?);
        c.will_message = Some(r.string()?);
    }
    if flags & connect_flags::USERNAME != 0 {
        c.username = Some(r.string()?);
    }
    if flags & connect_flags::PASSWORD != 0 {
        c.password = Some(r.string()?);
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(b: &[u8]) -> FixedHeader {
        match read_fixed_header(b) {
            HeaderRead::Header(h) => h,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fixed_header_lengths() {
        let h = header(&[0x32, 0x0a]);
        assert_eq!(h.kind, MsgType::Publish);
        assert_eq!((h.qos, h.dup, h.retain), (1, false, false));
        assert_eq!((h.remaining_length, h.header_length), (10, 2));
        let h = header(&[0x3b, 0xc1, 0x02]);
        assert_eq!((h.qos, h.dup, h.retain), (1, true, true));
        assert_eq!(h.remaining_length, 321);
        assert_eq!(h.flag_bits(), 0x09);
        assert_eq!(h.packet_length(), 324);
        let h = header(&[0x30, 0xff, 0xff, 0xff, 0x7f]);
        assert_eq!(h.remaining_length, 268_435_455);
        assert_eq!(
            read_fixed_header(&[0x30, 0xff, 0xff]),
            HeaderRead::Incomplete
        );
        assert_eq!(read_fixed_header(&[]), HeaderRead::Incomplete);
        assert_eq!(
            read_fixed_header(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01]),
            HeaderRead::Invalid
        );
    }

    #[test]
    fn type_names() {
        assert_eq!(MsgType::from_rule_name("CONNACK"), Some(MsgType::Connack));
        assert_eq!(
            MsgType::from_rule_name("unassigned"),
            Some(MsgType::Unassigned)
        );
        assert_eq!(MsgType::from_rule_name("NOPE"), None);
        for c in 0..16u8 {
            assert_eq!(MsgType::of(c << 4).code(), c);
        }
    }

    #[test]
    fn connect_v5_with_will_and_properties() {
        let mut b = Vec::new();
        b.extend(b"\x00\x04MQTT\x05");
        b.push(0xc6); // username, password, will (qos 0), clean start
        b.extend(b"\x00\x3c");
        b.extend(b"\x03\x21\x00\x14"); // receive_maximum 20
        b.extend(b"\x00\x02id");
        b.extend(b"\x05\x18\x00\x00\x00\xc8"); // will_delay_interval 200
        b.extend(b"\x00\x01t\x00\x03bye");
        b.extend(b"\x00\x04user\x00\x04pass");
        let h = FixedHeader {
            kind: MsgType::Connect,
            dup: false,
            qos: 0,
            retain: false,
            remaining_length: b.len() as u32,
            header_length: 2,
        };
        let Body::Connect(c) = parse_body(&h, &b, 0).unwrap() else {
            panic!()
        };
        assert_eq!(c.protocol_version, 5);
        assert_eq!(c.client_id, b"id");
        assert_eq!(c.properties, [Property::Int("receive_maximum", 20)]);
        assert_eq!(
            c.will_properties,
            [Property::Int("will_delay_interval", 200)]
        );
        assert_eq!(c.will_topic.as_deref(), Some(&b"t"[..]));
        assert_eq!(c.will_message.as_deref(), Some(&b"bye"[..]));
        assert_eq!(c.username.as_deref(), Some(&b"user"[..]));
        assert_eq!(c.password.as_deref(), Some(&b"pass"[..]));
        // Every shorter body is malformed, never a panic.
        for n in 0..b.len() {
            assert_eq!(parse_body(&h, &b[..n], 0), Err(Malformed), "{n}");
        }
    }

    #[test]
    fn properties_longer_than_the_packet_are_malformed() {
        let h = FixedHeader {
            kind: MsgType::Publish,
            dup: false,
            qos: 0,
            retain: false,
            remaining_length: 8,
            header_length: 2,
        };
        assert_eq!(parse_body(&h, b"\x00\x01t\x7f\x01\x01", 5), Err(Malformed));
        // An unknown property identifier.
        assert_eq!(parse_body(&h, b"\x00\x01t\x02\x7e\x01", 5), Err(Malformed));
        // The same bytes before MQTT 5 are a message.
        let Ok(Body::Publish(p)) = parse_body(&h, b"\x00\x01t\x7f\x01\x01", 4) else {
            panic!()
        };
        assert_eq!(p.message, b"\x7f\x01\x01");
    }

    #[test]
    fn acks_and_lists() {
        let ack = FixedHeader {
            kind: MsgType::Puback,
            dup: false,
            qos: 0,
            retain: false,
            remaining_length: 3,
            header_length: 2,
        };
        let m = MqttMessage {
            header: ack,
            direction: Direction::ToClient,
            body: parse_body(&ack, b"\x00\x01\x10", 5).unwrap(),
        };
        assert_eq!(m.reason_codes().collect::<Vec<_>>(), [0x10]);
        // MQTT 5 leaves out a success code: it is 0.
        assert_eq!(
            parse_body(&ack, b"\x00\x01", 5),
            Ok(Body::Ack(Ack {
                message_id: 1,
                reason_code: Some(0),
                properties: Vec::new()
            }))
        );
        assert_eq!(
            parse_body(&ack, b"\x00\x01\x10", 4),
            Ok(Body::Ack(Ack {
                message_id: 1,
                reason_code: None,
                properties: Vec::new()
            }))
        );
        let disconnect = FixedHeader {
            kind: MsgType::Disconnect,
            ..ack
        };
        let reason = |b: &[u8]| match parse_body(&disconnect, b, 5) {
            Ok(Body::Reason(r)) => r.reason_code,
            other => panic!("{other:?}"),
        };
        assert_eq!(reason(b""), Some(0));
        assert_eq!(reason(b"\x04"), Some(0), "a lone reason code is not read");
        assert_eq!(reason(b"\x04\x00"), Some(4));
        let sub = FixedHeader {
            kind: MsgType::Subscribe,
            qos: 1,
            ..ack
        };
        let Ok(Body::Subscribe(s)) = parse_body(&sub, b"\x00\x07\x00\x00\x01a\x01\x00\x01b\x02", 5)
        else {
            panic!()
        };
        assert_eq!(s.topics, [(b"a".to_vec(), 1), (b"b".to_vec(), 2)]);
        let unsuback = FixedHeader {
            kind: MsgType::Unsuback,
            ..ack
        };
        let m = MqttMessage {
            header: unsuback,
            direction: Direction::ToClient,
            body: parse_body(&unsuback, b"\x00\x07\x00\x00\x11", 5).unwrap(),
        };
        assert_eq!(m.reason_codes().collect::<Vec<_>>(), [0, 0x11]);
    }
}
