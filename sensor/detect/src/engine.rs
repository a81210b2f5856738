//! The built engine: compiled signatures in evaluation order, grouped, with their prefilter
//! databases. Immutable once built; shared by workers behind an `Arc`.

use tapwatch_common::{AppProto, Direction};
use tapwatch_hyperscan::LiteralDatabase;
use tapwatch_rules::{Action, Buffer, Protocol, Signature, Threshold, Transform};

use crate::config::SuppressTrack;
use crate::names::StateNames;
use crate::verify::CompiledBuffer;

/// Packet protocol classes: each has its own group of packet rules.
pub(crate) const CLASS_TCP: usize = 0;
pub(crate) const CLASS_UDP: usize = 1;
pub(crate) const CLASS_ICMPV4: usize = 2;
pub(crate) const CLASS_ICMPV6: usize = 3;
pub(crate) const CLASS_OTHER: usize = 4;
pub(crate) const CLASSES: usize = 5;

/// Where a packet rule's payload content is looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamMode {
    /// The packet's payload only (`tcp-pkt`, `flow:no_stream`, every non-TCP packet).
    Packet,
    /// The reassembled stream only (`tcp-stream`, `flow:only_stream`).
    Stream,
    /// The reassembled data the packet completed when there is some, else the payload
    /// (plain `tcp` and app-layer rules): one evaluation per packet, so no duplicate alert.
    Both,
    /// Suricata's "packet-stream" rules: a payload content anchored with `depth` or
    /// `startswith` (and no `dsize`). Every packet payload is inspected, and the reassembled
    /// stream too, each able to alert: Suricata alerts once on the packet and once more when
    /// the stream chunk holding the same bytes is inspected. tapwatch inspects the stream for
    /// these rules only where it starts (the first data of the direction), the one chunk whose
    /// start Suricata's chunking reliably shares (later chunk boundaries follow ACK timing
    /// and application-layer triggers tapwatch does not reproduce).
    PacketAndStream,
}

/// How a rule is evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SigKind {
    /// On packets (and the stream data they complete).
    Packet,
    /// On application-layer transactions of these protocols, in these directions.
    Tx {
        /// The protocols.
        protos: Vec<AppProto>,
        /// [to_server, to_client]
        dirs: [bool; 2],
    },
    /// On engine events (`decode-event`, `stream-event`, `app-layer-event`) and `pkthdr`.
    Event,
}

/// A flow-variable operation with names interned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StateOp {
    BitIsSet(Vec<u32>),
    BitIsNotSet(Vec<u32>),
    BitSet(Vec<u32>),
    BitUnset(Vec<u32>),
    BitToggle(Vec<u32>),
    IntIsSet(u32),
    IntIsNotSet(u32),
    IntCmp(u32, tapwatch_rules::CmpOp, IntOperand),
    IntSet(u32, IntOperand),
    IntAdd(u32, IntOperand),
    IntSub(u32, IntOperand),
    Xbit {
        op: tapwatch_rules::XbitOp,
        name: u32,
        track: tapwatch_rules::XbitTrack,
        expire: u32,
    },
}

/// A flowint operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntOperand {
    Lit(u32),
    Var(u32),
}

/// One signature, ready to run.
#[derive(Debug)]
pub(crate) struct CompiledSig {
    pub sig: Signature,
    pub buffers: Vec<CompiledBuffer>,
    pub kind: SigKind,
    pub stream: StreamMode,
    /// App-layer protocol the rule's header names, if any.
    pub app: Option<AppProto>,
    pub state: Vec<StateOp>,
    /// The rule's threshold after `threshold.config`.
    pub threshold: Option<Threshold>,
    pub suppress: Vec<SuppressTrack>,
    /// `metadata` grouped by key, in first-seen order (moved here: `sig.metadata` is empty).
    pub metadata: Vec<(String, Vec<String>)>,
    /// Packet protocol classes the rule applies to.
    pub classes: [bool; CLASSES],
    /// An IP-only rule: nothing but addresses and protocol (ports `any`), and `iprep`.
    pub iponly: bool,
    /// `iprep` conditions, categories resolved to their ids.
    pub iprep: Vec<(tapwatch_rules::IpRepSide, u8, tapwatch_rules::IpRepCond)>,
}

/// One prefilter database of a group: the fast patterns found in one buffer (with
/// transforms).
#[derive(Debug)]
pub(crate) struct GroupDb {
    /// The inspected buffer.
    pub buffer: Buffer,
    /// A second buffer whose fast patterns are in this database too (HTTP's `file.data`,
    /// whose instances are normally the body's own, `Buffers::push_same`): its instances
    /// that are not also instances of `buffer` are scanned as well.
    pub also: Option<Buffer>,
    /// Transforms applied before scanning.
    pub transforms: Vec<Transform>,
    /// A rule buffer with exactly these transforms, used to apply them: (sig, buffer index).
    pub transformer: Option<(u32, usize)>,
    /// Literals, in id order (bytes, caseless).
    pub literals: Vec<(Vec<u8>, bool)>,
    /// Rules per literal id, in evaluation order.
    pub lit_sigs: Vec<Vec<u32>>,
    /// The compiled database (`None` in reference mode).
    pub db: Option<LiteralDatabase>,
    /// The literals searched directly instead, when they are very few (`fewliterals.rs`).
    pub few: Option<crate::fewliterals::FewLiterals>,
    /// Fast patterns with a fixed place near the buffer's start, checked there instead of
    /// searched for (not in `literals`).
    pub anchored: crate::anchored::AnchoredLiterals,
    /// Rules with their fast pattern here.
    pub rules: usize,
    /// Length of the longest literal (anchored ones included).
    pub max_literal: usize,
}

/// Rules evaluated together: one packet protocol class, or one app protocol and direction.
#[derive(Debug, Default)]
pub(crate) struct Group {
    pub dbs: Vec<GroupDb>,
    /// Rules without a fast pattern and without a small port set: candidates every time.
    pub always: Vec<u32>,
    /// Rules without a fast pattern whose destination ports are a small set, by port.
    pub always_dst: std::collections::HashMap<u16, Vec<u32>>,
    /// Likewise by source port (destination ports `any`).
    pub always_src: std::collections::HashMap<u16, Vec<u32>>,
    /// Every rule of the group, in evaluation order (reference mode).
    pub all: Vec<u32>,
    /// IP-only rules (packet groups only): checked once per flow direction.
    pub iponly: crate::iponly::IpOnly,
    /// TCP and UDP packet groups: `dbs` split by the server's port.
    pub ports: crate::portgroups::PortGroups,
}

impl Group {
    /// The databases to scan for a packet: those of its port group when the group is split
    /// by port, else all. `dir` is 0 to the server (or without a flow), 1 to the client.
    pub(crate) fn dbs_for(&self, dir: usize, ports: Option<(u16, u16)>) -> &[GroupDb] {
        let (a, b) = match ports {
            _ if !self.ports.is_split() => (0, self.dbs.len()),
            // Without ports no rule's header matches.
            None => (0, 0),
            Some((src, dst)) => self.ports.range(dir, src, dst),
        };
        self.dbs.get(a..b).unwrap_or(&[])
    }
}

/// The transaction rules of one app protocol.
#[derive(Debug)]
pub(crate) struct TxGroups {
    pub proto: AppProto,
    /// [to_server, to_client]
    pub dirs: [Group; 2],
}

/// The detection engine. Build with [`Engine::build`]; share between workers with `Arc`;
/// each worker runs it through its own [`Detector`](crate::Detector).
#[derive(Debug)]
pub struct Engine {
    pub(crate) sigs: Vec<CompiledSig>,
    pub(crate) packet: [Group; CLASSES],
    pub(crate) tx: Vec<TxGroups>,
    /// `pkthdr` and event rules, in evaluation order.
    pub(crate) events: Vec<u32>,
    /// Whether an event rule has no event condition (then the list runs on every packet).
    pub(crate) events_every_packet: bool,
    pub(crate) reference: bool,
    /// Numbers of the flowbit, flowint and xbit names (kept across rule reloads).
    pub(crate) names: StateNames,
    /// Buffers some transaction rule inspects (the worker fills only these).
    pub(crate) tx_buffers: Vec<Buffer>,
    pub(crate) has_stream_rules: bool,
    pub(crate) limits: crate::DetectLimits,
    /// The reputation table `iprep` conditions look up.
    pub(crate) reputation: std::sync::Arc<tapwatch_datasets::IpReputation>,
    /// The datasets the rules use (the registry the engine was built with).
    pub(crate) datasets: std::sync::Arc<tapwatch_datasets::Datasets>,
}

/// What an alert needs to know about its rule.
#[derive(Debug, Clone, Copy)]
pub struct SigInfo<'a> {
    /// The signature.
    pub signature: &'a Signature,
    /// `metadata` grouped by key, in rule order (EVE `alert.metadata`).
    pub metadata: &'a [(String, Vec<String>)],
}

impl Engine {
    /// Number of signatures the engine runs.
    pub fn len(&self) -> usize {
        self.sigs.len()
    }

    /// Whether the engine has no signatures.
    pub fn is_empty(&self) -> bool {
        self.sigs.is_empty()
    }

    /// The signature with engine index `index` (as in [`Alert::sig`](crate::Alert::sig)).
    pub fn sig(&self, index: u32) -> Option<SigInfo<'_>> {
        self.sigs.get(index as usize).map(|s| SigInfo {
            signature: &s.sig,
            metadata: &s.metadata,
        })
    }

    /// Whether some transaction rule inspects `buffer`: the worker only fills the buffers
    /// the engine uses.
    pub fn uses_buffer(&self, buffer: Buffer) -> bool {
        self.tx_buffers.contains(&buffer)
    }

    /// Names of the flowbits, flowints and xbits the rules use (for `rules stats`).
    pub fn variable_names(&self) -> (&[String], &[String], &[String]) {
        (
            self.names.bits.names(),
            self.names.ints.names(),
            self.names.xbits.names(),
        )
    }

    /// The datasets this engine's rules use: give them to the next engine of a rule reload
    /// (`EngineConfig::datasets`) so that sets keep their contents, and save them when the
    /// sensor stops ([`tapwatch_datasets::Datasets::save_all`]).
    pub fn datasets(&self) -> std::sync::Arc<tapwatch_datasets::Datasets> {
        std::sync::Arc::clone(&self.datasets)
    }

    /// The IP reputation table the engine's `iprep` conditions look up.
    pub fn reputation(&self) -> &tapwatch_datasets::IpReputation {
        &self.reputation
    }

    /// The numbers this engine gives flowbit, flowint and xbit names: build the next engine
    /// of a rule reload with them ([`Engine::build_after`]) so that flows and hosts keep
    /// their variables' meaning across the swap.
    pub fn state_names(&self) -> StateNames {
        self.names.clone()
    }

    /// Whether any transaction rule exists for the app protocol `proto`.
    pub fn has_tx_rules(&self, proto: AppProto) -> bool {
        self.tx.iter().any(|t| t.proto == proto)
    }

    /// Whether some rule inspects reassembled TCP data (the worker then hands it over).
    pub fn wants_stream(&self) -> bool {
        self.has_stream_rules
    }

    pub(crate) fn tx_group(&self, proto: AppProto, dir: Direction) -> Option<&Group> {
        let t = self.tx.iter().find(|t| t.proto == proto)?;
        t.dirs.get(dir_index(dir))
    }
}

/// 0 for to-server, 1 for to-client.
pub(crate) fn dir_index(dir: Direction) -> usize {
    match dir {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

/// The direction a buffer's data travels in, when fixed. Unlike [`Buffer::direction`],
/// `dns.query` is request-only, as in Suricata 8. MQTT's buffers hold the whole
/// transaction's packets (both directions) and are inspected on its to-server side, as
/// Suricata registers its MQTT keywords: a rule naming no direction alerts once per
/// transaction.
pub(crate) fn fixed_direction(buffer: Buffer) -> Option<Direction> {
    match buffer {
        Buffer::DnsQuery => Some(Direction::ToServer),
        b if b.name().starts_with("mqtt.") => Some(Direction::ToServer),
        b => b.direction(),
    }
}

/// The app protocol whose transactions carry `buffer`, if it belongs to one.
pub(crate) fn buffer_proto(buffer: Buffer) -> Option<AppProto> {
    let name = buffer.name();
    if name.starts_with("http.") {
        Some(AppProto::Http)
    } else if name.starts_with("dns.") {
        Some(AppProto::Dns)
    } else if name.starts_with("tls.") || name.starts_with("ja3") || name.starts_with("ja4") {
        Some(AppProto::Tls)
    } else if name.starts_with("ssh.") {
        Some(AppProto::Ssh)
    } else if name.starts_with("smb.") {
        Some(AppProto::Smb)
    } else if name.starts_with("mqtt.") {
        Some(AppProto::Mqtt)
    } else {
        None
    }
}

/// Evaluation-order rank of an action: pass, drop, reject, alert (Suricata's default
/// `action-order`).
pub(crate) fn action_rank(action: Action) -> u8 {
    match action {
        Action::Pass => 0,
        Action::Drop => 1,
        Action::Reject | Action::RejectSrc | Action::RejectDst | Action::RejectBoth => 2,
        Action::Alert => 3,
    }
}

/// The protocol classes a header protocol covers.
pub(crate) fn classes_of(protocol: &Protocol) -> [bool; CLASSES] {
    let mut c = [false; CLASSES];
    match protocol {
        Protocol::Ip | Protocol::Ipv4 | Protocol::Ipv6 => c = [true; CLASSES],
        Protocol::Tcp | Protocol::TcpPkt | Protocol::TcpStream => c[CLASS_TCP] = true,
        Protocol::Udp => c[CLASS_UDP] = true,
        Protocol::Icmp => {
            c[CLASS_ICMPV4] = true;
            c[CLASS_ICMPV6] = true;
        }
        Protocol::Icmpv4 => c[CLASS_ICMPV4] = true,
        Protocol::Icmpv6 => c[CLASS_ICMPV6] = true,
        Protocol::Sctp => c[CLASS_OTHER] = true,
        Protocol::PktHdr => c = [true; CLASSES],
        Protocol::App(_) => {
            c[CLASS_TCP] = true;
            c[CLASS_UDP] = true;
        }
    }
    c
}

/// The packet protocol class of an IP protocol number.
pub(crate) fn class_of(ip_proto: u8) -> usize {
    match ip_proto {
        6 => CLASS_TCP,
        17 => CLASS_UDP,
        1 => CLASS_ICMPV4,
        58 => CLASS_ICMPV6,
        _ => CLASS_OTHER,
    }
}
