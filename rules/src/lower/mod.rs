//! Validation and lowering: an [`ast::Rule`](crate::ast::Rule) into a [`Signature`], or a
//! [`Rejection`] saying which keyword could not be honoured and why.
//!
//! Options are applied in rule order to a [`Ctx`]: metadata keywords fill fields, content and
//! the other payload keywords append to the current buffer's match list, sticky buffers switch
//! it, legacy `http_*` modifiers move the preceding content. Conflicts are checked when a
//! modifier is applied and once more when the rule is complete.

mod buffers;
mod bytes;
mod content;
mod data;
mod meta;
mod num;
mod packet;
mod state;

pub(crate) use state::{threshold_parts, track_of};

use std::collections::HashMap;

use crate::ast::{AddrExpr, PortExpr, Rule, RuleOption};
use crate::load::{LoadOptions, Rejection};
use crate::sets::{resolve_addr, resolve_ports};
use crate::signature::*;
use tapwatch_common::AppProto;

/// One matcher while the rule is lowered, with its `fast_pattern` request.
#[derive(Debug)]
pub(crate) struct Item {
    pub m: Matcher,
    /// `fast_pattern` on this content: (`only`, chop).
    pub fp: Option<(bool, Option<(u16, u16)>)>,
}

/// One buffer's match list while the rule is lowered.
#[derive(Debug)]
pub(crate) struct Slot {
    pub buffer: Buffer,
    pub transforms: Vec<Transform>,
    pub items: Vec<Item>,
    pub absent: Option<Absent>,
}

/// Where payload keywords go.
#[derive(Debug)]
pub(crate) enum Cursor {
    /// The packet payload (no sticky buffer, or `pkt_data`).
    Payload,
    /// A sticky buffer; `slot` is set once a matcher made the (buffer, transforms) slot.
    Sticky {
        buffer: Buffer,
        keyword: String,
        transforms: Vec<Transform>,
        slot: Option<usize>,
    },
}

/// The rule under construction.
#[derive(Debug)]
pub(crate) struct Ctx<'o> {
    pub opts: &'o LoadOptions,
    pub sid: Option<u32>,
    pub gid: Option<u32>,
    pub rev: Option<u32>,
    pub msg: Option<String>,
    pub classtype: Option<String>,
    pub category: Option<String>,
    pub class_priority: Option<u8>,
    pub priority: Option<u8>,
    pub metadata: Vec<(String, String)>,
    pub references: Vec<String>,
    pub target: Option<Target>,
    pub flow: Option<FlowMatch>,
    pub packet: Vec<PacketCondition>,
    pub state: Vec<StateOp>,
    pub noalert: bool,
    pub threshold: Option<Threshold>,
    pub detection_filter: Option<DetectionFilter>,
    pub events: Vec<EventMatch>,
    pub iprep: Vec<IpRepMatch>,
    pub app_layer_protocol: Option<AppLayerProtocol>,
    pub slots: Vec<Slot>,
    pub cursor: Cursor,
    /// The most recent content: (slot, item).
    pub last_content: Option<(usize, usize)>,
    pub fast_pattern_seen: bool,
    /// `byte_extract` variable names, in order of definition.
    pub byte_vars: Vec<String>,
    pub base64_decode_seen: bool,
}

impl<'o> Ctx<'o> {
    fn new(opts: &'o LoadOptions) -> Self {
        Self {
            opts,
            sid: None,
            gid: None,
            rev: None,
            msg: None,
            classtype: None,
            category: None,
            class_priority: None,
            priority: None,
            metadata: Vec::new(),
            references: Vec::new(),
            target: None,
            flow: None,
            packet: Vec::new(),
            state: Vec::new(),
            noalert: false,
            threshold: None,
            detection_filter: None,
            events: Vec::new(),
            iprep: Vec::new(),
            app_layer_protocol: None,
            slots: Vec::with_capacity(4),
            cursor: Cursor::Payload,
            last_content: None,
            fast_pattern_seen: false,
            byte_vars: Vec::new(),
            base64_decode_seen: false,
        }
    }

    /// The slot for (buffer, transforms), made if new.
    pub(crate) fn slot_for(&mut self, buffer: Buffer, transforms: &[Transform]) -> usize {
        if let Some(i) = self
            .slots
            .iter()
            .position(|s| s.buffer == buffer && s.transforms == transforms)
        {
            return i;
        }
        self.slots.push(Slot {
            buffer,
            transforms: transforms.to_vec(),
            items: Vec::new(),
            absent: None,
        });
        self.slots.len() - 1
    }

    /// The slot payload keywords go to now (made if needed).
    pub(crate) fn current_slot(&mut self) -> usize {
        match &self.cursor {
            Cursor::Payload => self.slot_for(Buffer::Payload, &[]),
            Cursor::Sticky { slot: Some(s), .. } => *s,
            Cursor::Sticky {
                buffer, transforms, ..
            } => {
                let (b, t) = (*buffer, transforms.clone());
                let s = self.slot_for(b, &t);
                if let Cursor::Sticky { slot, .. } = &mut self.cursor {
                    *slot = Some(s);
                }
                s
            }
        }
    }

    /// Appends a matcher to the current buffer.
    pub(crate) fn push_matcher(&mut self, m: Matcher) -> usize {
        let s = self.current_slot();
        self.push_to(s, m)
    }

    pub(crate) fn push_to(&mut self, slot: usize, m: Matcher) -> usize {
        let is_content = matches!(m, Matcher::Content(_));
        let Some(sl) = self.slots.get_mut(slot) else {
            return 0;
        };
        sl.items.push(Item { m, fp: None });
        let idx = sl.items.len() - 1;
        if is_content {
            self.last_content = Some((slot, idx));
        }
        idx
    }

    /// Leaves the current sticky buffer; one that got no keyword is an error, as in Suricata.
    pub(crate) fn leave_sticky(&mut self) -> Result<(), String> {
        if let Cursor::Sticky {
            keyword,
            slot: None,
            ..
        } = &self.cursor
        {
            return Err(format!(
                "sticky buffer '{keyword}' is followed by no keyword that inspects it"
            ));
        }
        self.cursor = Cursor::Payload;
        Ok(())
    }

    /// Dispatches one option.
    fn apply(&mut self, o: &RuleOption, rule: &Rule) -> Result<(), String> {
        let v = o.value.as_deref();
        let name = o.name.as_str();
        if meta::apply(self, name, v)? {
            return Ok(());
        }
        if content::apply(self, name, v)? {
            return Ok(());
        }
        if buffers::apply(self, name, v)? {
            return Ok(());
        }
        if buffers::integer(self, name, v)? || buffers::legacy_equals(self, name, v)? {
            return Ok(());
        }
        if bytes::apply(self, name, v)? {
            return Ok(());
        }
        if packet::apply(self, name, v, rule)? {
            return Ok(());
        }
        if state::apply(self, name, v)? {
            return Ok(());
        }
        if data::apply(self, name, v)? {
            return Ok(());
        }
        Err(unsupported_reason(name))
    }
}

/// Why a keyword tapwatch does not implement is refused.
fn unsupported_reason(name: &str) -> String {
    // DNS and TLS keywords of protocols tapwatch parses, not yet given Suricata's exact
    // semantics: each says what is missing.
    let missing = match name {
        "dns.rrtype" => Some("which records (questions, answers) each direction compares"),
        "dns.response.rrname" => Some("the names of a response's record data it also holds"),
        "tls.version" => Some("the version Suricata keeps for each side (record or hello)"),
        "ssl_version" => Some("the record version Suricata keeps for each side"),
        "ssl_state" => Some("the handshake messages of the record being inspected"),
        "tls_cert_expired" | "tls_cert_valid" => {
            Some("the certificate's validity times compared with the packet's time")
        }
        _ => None,
    };
    if let Some(what) = missing {
        return format!("keyword '{name}' is not supported yet: tapwatch does not track {what}");
    }
    if buffers::is_known_unsupported_buffer(name) {
        return format!(
            "buffer not supported: '{name}' is not an inspection buffer tapwatch fills"
        );
    }
    match name {
        "tag" => "'tag' (logging of following packets) is not supported".into(),
        "lua" | "luajit" => "Lua scripts are not supported".into(),
        "asn1" | "ftpbounce" | "byte_math" | "replace" | "filestore" | "flowvar" | "pktvar"
        | "bypass" | "config" | "stream_size_raw" => {
            format!("keyword '{name}' is not supported by tapwatch's engine")
        }
        _ => format!("unknown or unsupported keyword '{name}'"),
    }
}

/// Lowers a parsed rule; `location` is where its first line is.
pub fn lower_rule(
    rule: &Rule,
    opts: &LoadOptions,
    location: SourceLocation,
) -> Result<Signature, Rejection> {
    lower_rule_cached(rule, opts, location, &mut HeaderCache::default())
}

/// Resolved header expressions, reused across the rules of one load (most rules share
/// `$HOME_NET`, `$EXTERNAL_NET`, `any`, `$HTTP_PORTS`, ...). Valid for one [`LoadOptions`].
#[derive(Debug, Default)]
pub(crate) struct HeaderCache {
    addrs: HashMap<AddrExpr, Result<AddressSet, String>>,
    ports: HashMap<PortExpr, Result<PortSet, String>>,
}

impl HeaderCache {
    fn addr(&mut self, e: &AddrExpr, opts: &LoadOptions) -> Result<AddressSet, String> {
        if let Some(r) = self.addrs.get(e) {
            return r.clone();
        }
        let r = resolve_addr(e, &opts.vars);
        self.addrs.insert(e.clone(), r.clone());
        r
    }

    fn ports(&mut self, e: &PortExpr, opts: &LoadOptions) -> Result<PortSet, String> {
        if let Some(r) = self.ports.get(e) {
            return r.clone();
        }
        let r = resolve_ports(e, &opts.vars);
        self.ports.insert(e.clone(), r.clone());
        r
    }
}

/// [`lower_rule`] with a header cache shared by the rules of one load.
pub(crate) fn lower_rule_cached(
    rule: &Rule,
    opts: &LoadOptions,
    location: SourceLocation,
    cache: &mut HeaderCache,
) -> Result<Signature, Rejection> {
    let sid_hint = rule
        .option("sid")
        .and_then(|o| o.value.as_deref())
        .and_then(|v| v.trim().parse::<u32>().ok())
        .or_else(|| crate::load::sid_of_text(&rule.text));
    let reject = |o: Option<&RuleOption>, reason: String| Rejection {
        file: location.file.clone(),
        line: location
            .line
            .saturating_add(o.map_or(1, |o| o.pos.line).saturating_sub(1)),
        sid: sid_hint,
        keyword: o.map(|o| o.name.clone()),
        reason,
    };
    let header = lower_header(rule, opts, cache).map_err(|r| reject(None, r))?;
    let mut ctx = Ctx::new(opts);
    for o in &rule.options {
        ctx.apply(o, rule).map_err(|r| reject(Some(o), r))?;
    }
    finish(ctx, rule, header, &location).map_err(|(kw, r)| {
        let o = kw
            .as_deref()
            .and_then(|k| rule.options.iter().rev().find(|o| o.name == k));
        let mut rej = reject(o, r);
        if rej.keyword.is_none() {
            rej.keyword = kw;
        }
        rej
    })
}

fn lower_header(
    rule: &Rule,
    opts: &LoadOptions,
    cache: &mut HeaderCache,
) -> Result<Header, String> {
    let protocol = protocol(&rule.protocol)?;
    let src = cache
        .addr(&rule.src, opts)
        .map_err(|e| format!("source address: {e}"))?;
    let dst = cache
        .addr(&rule.dst, opts)
        .map_err(|e| format!("destination address: {e}"))?;
    let src_ports = cache
        .ports(&rule.src_ports, opts)
        .map_err(|e| format!("source port: {e}"))?;
    let dst_ports = cache
        .ports(&rule.dst_ports, opts)
        .map_err(|e| format!("destination port: {e}"))?;
    Ok(Header {
        protocol,
        src,
        src_ports,
        dst,
        dst_ports,
        bidirectional: rule.bidirectional,
    })
}

/// Resolves an application-layer protocol name (lower case; Suricata's aliases such as
/// `http1` accepted) to a protocol tapwatch detects. A protocol Suricata knows but tapwatch
/// does not detect could never match, so it is refused with that reason; other names are
/// unknown.
pub(crate) fn app_protocol(p: &str) -> Result<AppProto, String> {
    match AppProto::from_name(p) {
        Some(proto) if proto.is_detected() => Ok(proto),
        Some(_) => Err(format!(
            "application protocol '{p}' is not detected by tapwatch, so the rule could never match"
        )),
        None => Err(format!("unknown protocol '{p}'")),
    }
}

fn protocol(p: &str) -> Result<Protocol, String> {
    Ok(match p {
        "ip" => Protocol::Ip,
        "ipv4" | "ip4" => Protocol::Ipv4,
        "ipv6" | "ip6" => Protocol::Ipv6,
        "tcp" => Protocol::Tcp,
        "tcp-pkt" => Protocol::TcpPkt,
        "tcp-stream" => Protocol::TcpStream,
        "udp" => Protocol::Udp,
        "icmp" => Protocol::Icmp,
        "icmpv4" => Protocol::Icmpv4,
        "icmpv6" => Protocol::Icmpv6,
        "sctp" => Protocol::Sctp,
        "pkthdr" => Protocol::PktHdr,
        _ => Protocol::App(app_protocol(p)?),
    })
}

type Fail = (Option<String>, String);

fn finish(
    mut ctx: Ctx<'_>,
    rule: &Rule,
    header: Header,
    location: &SourceLocation,
) -> Result<Signature, Fail> {
    if let Cursor::Sticky { keyword, .. } = &ctx.cursor {
        let kw = keyword.clone();
        ctx.leave_sticky().map_err(|e| (Some(kw), e))?;
    }
    let sid = ctx
        .sid
        .ok_or((Some("sid".to_string()), "the rule has no sid".to_string()))?;
    let mut buffers = Vec::with_capacity(ctx.slots.len());
    let mut fast_pattern = None;
    for slot in ctx.slots {
        if slot.items.is_empty() && slot.absent.is_none() {
            continue;
        }
        match slot.absent {
            Some(Absent::Only) if !slot.items.is_empty() => {
                return Err((
                    Some("absent".to_string()),
                    format!(
                        "'absent' on {} cannot be combined with keywords inspecting it (use 'absent: or_else')",
                        slot.buffer.name()
                    ),
                ))
            }
            Some(Absent::OrElse) if slot.items.is_empty() => {
                return Err((
                    Some("absent".to_string()),
                    format!(
                        "'absent: or_else' on {} needs keywords inspecting the buffer",
                        slot.buffer.name()
                    ),
                ))
            }
            _ => {}
        }
        let bi = buffers.len();
        let mut matchers = Vec::with_capacity(slot.items.len());
        for (mi, item) in slot.items.into_iter().enumerate() {
            if let (Some((only, chop)), Matcher::Content(c)) = (item.fp, &item.m) {
                content::check_fast_pattern(c, only, chop)
                    .map_err(|e| (Some("fast_pattern".to_string()), e))?;
                if !c.negated {
                    fast_pattern = Some(FastPattern {
                        buffer: bi,
                        matcher: mi,
                        only,
                        chop,
                    });
                }
            }
            matchers.push(item.m);
        }
        content::check_bsize(slot.buffer, &matchers).map_err(|e| (Some("bsize".to_string()), e))?;
        buffers.push(BufferMatch {
            buffer: slot.buffer,
            transforms: slot.transforms,
            matchers,
            absent: slot.absent,
        });
    }
    let priority = ctx.priority.or(ctx.class_priority).unwrap_or(3);
    Ok(Signature {
        id: SignatureId {
            gid: ctx.gid.unwrap_or(1),
            sid,
            rev: ctx.rev.unwrap_or(0),
        },
        action: rule.action,
        header,
        msg: ctx.msg.unwrap_or_default(),
        classtype: ctx.classtype,
        category: ctx.category,
        priority,
        metadata: ctx.metadata,
        references: ctx.references,
        target: ctx.target,
        flow: ctx.flow.unwrap_or_default(),
        packet: ctx.packet,
        buffers,
        fast_pattern,
        state: ctx.state,
        noalert: ctx.noalert,
        threshold: ctx.threshold,
        detection_filter: ctx.detection_filter,
        events: ctx.events,
        iprep: ctx.iprep,
        app_layer_protocol: ctx.app_layer_protocol,
        location: location.clone(),
        text: rule.text.clone(),
    })
}

#[cfg(test)]
mod tests;
