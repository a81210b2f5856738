//! [`Engine::build`]: from signatures to groups, prefilter databases and compiled matchers.

use std::collections::HashMap;
use std::time::Instant;

use sha2::{Digest, Sha256};
use tapwatch_common::{AppProto, Direction};
use tapwatch_hyperscan::{Literal, LiteralDatabase};
use tapwatch_rules::{Buffer, FlowintOp, FlowintValue, Protocol, Signature, Threshold};

use crate::cache::DiskCache;
use crate::config::{EngineConfig, Prefilter, SuppressTrack, ThresholdOverride};
use crate::engine::{
    action_rank, buffer_proto, classes_of, fixed_direction, CompiledSig, Engine, Group, GroupDb,
    IntOperand, SigKind, StateOp, StreamMode, TxGroups, CLASSES,
};
use crate::fewliterals::FewLiterals;
use crate::names::StateNames;
use crate::portgroups::{self, PendingRule};
use crate::report::{BuildRejection, BuildReport, CacheOutcome, DatabaseStats, EngineError};
use crate::verify::CompiledBuffer;
use crate::{anchored, fastpattern};

/// Version of the engine's cache entry layout and prefilter semantics; part of the cache key.
const ENGINE_FORMAT_VERSION: u32 = 5;

/// Longest prefilter literal for the packet payload and stream (longer fast patterns are cut
/// to this prefix).
const MAX_PAYLOAD_LITERAL: usize = 32;

/// Entries kept in the cache directory (older ones are pruned).
const CACHE_KEEP: usize = 8;

impl Engine {
    /// Builds the engine from `signatures` (in load order). Signatures the engine cannot run
    /// (a pcre PCRE2 refuses, ...) are left out and listed in the report; the others are
    /// ordered as Suricata orders them (action, flowbits setters before readers, flowint
    /// and xbits likewise, then priority, then load order), grouped, and their fast
    /// patterns compiled into prefilter databases (loaded from the cache when possible).
    ///
    /// Errors only when Hyperscan refuses a database (which means a bug or a resource
    /// limit, not a bad rule).
    pub fn build(
        signatures: Vec<Signature>,
        config: &EngineConfig,
    ) -> Result<(Engine, BuildReport), EngineError> {
        Self::build_after(signatures, config, StateNames::default())
    }

    /// Like [`Engine::build`], numbering flowbits, flowints and xbits as `names` does (the
    /// running engine's [`Engine::state_names`] on a rule reload): per-flow and per-host
    /// state set under the running engine keeps its meaning under this one.
    pub fn build_after(
        signatures: Vec<Signature>,
        config: &EngineConfig,
        names: StateNames,
    ) -> Result<(Engine, BuildReport), EngineError> {
        let start = Instant::now();
        let mut rejected = Vec::new();
        let mut names = names;
        let mut compiled = Vec::with_capacity(signatures.len());
        for sig in signatures {
            match compile_sig(sig, config, &mut names) {
                Ok(c) => compiled.push(c),
                Err(r) => rejected.push(*r),
            }
        }
        // Evaluation order.
        let mut order: Vec<usize> = (0..compiled.len()).collect();
        let keys: Vec<_> = compiled.iter().map(order_key).collect();
        order.sort_by_key(|&i| (keys.get(i).copied().unwrap_or_default(), i));
        let mut slots: Vec<Option<CompiledSig>> = compiled.into_iter().map(Some).collect();
        let sigs: Vec<CompiledSig> = order
            .iter()
            .filter_map(|&i| slots.get_mut(i).and_then(Option::take))
            .collect();

        let mut engine = Engine {
            packet: Default::default(),
            tx: Vec::new(),
            events: Vec::new(),
            events_every_packet: false,
            reference: config.prefilter == Prefilter::Reference,
            names,
            tx_buffers: Vec::new(),
            has_stream_rules: false,
            limits: config.limits,
            reputation: std::sync::Arc::clone(&config.reputation),
            datasets: std::sync::Arc::clone(&config.datasets),
            sigs,
        };
        let without_pattern = engine.group();
        for db in engine.groups_mut().flat_map(|g| g.dbs.iter_mut()) {
            db.anchored.finish();
            if !config.always_hyperscan {
                db.few = FewLiterals::new(&db.literals);
            }
        }
        let (cache, cache_warning) = engine.compile_databases(config)?;
        let report = engine.report(rejected, without_pattern, cache, cache_warning, start);
        Ok((engine, report))
    }

    /// Puts every rule in its groups and databases; returns the number of rules without a
    /// fast pattern.
    fn group(&mut self) -> usize {
        let mut without = 0usize;
        let mut tx: Vec<TxGroups> = Vec::new();
        // Packet rules with a fast pattern of the classes split by port (TCP, UDP).
        // (Indexed by class: `CLASS_TCP` is 0, `CLASS_UDP` 1.)
        let mut by_port: [Vec<PendingRule>; 2] = Default::default();
        for (i, cs) in self.sigs.iter().enumerate() {
            let idx = i as u32;
            let fp = fastpattern::choose(&cs.sig);
            for bm in &cs.sig.buffers {
                if !bm.buffer.is_packet_level()
                    && bm.buffer != Buffer::Base64Data
                    && !self.tx_buffers.contains(&bm.buffer)
                {
                    self.tx_buffers.push(bm.buffer);
                }
            }
            match &cs.kind {
                SigKind::Event => {
                    self.events.push(idx);
                    if cs.sig.events.is_empty() {
                        self.events_every_packet = true;
                    }
                }
                SigKind::Packet => {
                    if cs.stream != StreamMode::Packet && cs.classes[crate::engine::CLASS_TCP] {
                        self.has_stream_rules = true;
                    }
                    let usable = fp.as_ref().filter(|f| {
                        cs.sig
                            .buffers
                            .get(f.buffer)
                            .is_some_and(|b| b.buffer.is_packet_level())
                    });
                    if usable.is_none() {
                        without += 1;
                    }
                    for (class, group) in self.packet.iter_mut().enumerate() {
                        if !cs.classes.get(class).copied().unwrap_or(false) {
                            continue;
                        }
                        if cs.iponly {
                            group.all.push(idx);
                            let h = &cs.sig.header;
                            group.iponly.add(&h.src, &h.dst, h.bidirectional, idx);
                        } else if let (Some(fp), Some(list)) = (usable, by_port.get_mut(class)) {
                            group.all.push(idx);
                            list.push(PendingRule {
                                idx,
                                fp: fp.clone(),
                            });
                        } else {
                            add_to_group(group, idx, cs, usable, None);
                        }
                    }
                }
                SigKind::Tx { protos, dirs } => {
                    if fp.is_none() {
                        without += 1;
                    }
                    for proto in protos {
                        let pos = match tx.iter().position(|t| t.proto == *proto) {
                            Some(p) => p,
                            None => {
                                tx.push(TxGroups {
                                    proto: *proto,
                                    dirs: Default::default(),
                                });
                                tx.len() - 1
                            }
                        };
                        let Some(groups) = tx.get_mut(pos) else {
                            continue;
                        };
                        for (d, on) in dirs.iter().enumerate() {
                            if *on {
                                if let Some(group) = groups.dirs.get_mut(d) {
                                    let alias = scanned_as(*proto, d);
                                    add_to_group(group, idx, cs, fp.as_ref(), alias);
                                }
                            }
                        }
                    }
                }
            }
        }
        // By name, so that group names (and the database cache's keys) keep their order.
        tx.sort_by(|a, b| a.proto.name().cmp(b.proto.name()));
        self.tx = tx;
        for (class, pending) in by_port.iter().enumerate() {
            if let Some(group) = self.packet.get_mut(class) {
                group.ports =
                    portgroups::build(&self.sigs, pending, &mut group.dbs, |dbs, i, cs, fp| {
                        add_to_dbs(dbs, i, cs, fp, None);
                    });
            }
        }
        for group in &mut self.packet {
            group.iponly.finish();
        }
        without
    }

    fn groups_mut(&mut self) -> impl Iterator<Item = &mut Group> {
        self.packet
            .iter_mut()
            .chain(self.tx.iter_mut().flat_map(|t| t.dirs.iter_mut()))
    }

    pub(crate) fn groups(&self) -> impl Iterator<Item = &Group> {
        self.packet
            .iter()
            .chain(self.tx.iter().flat_map(|t| t.dirs.iter()))
    }

    /// The cache key: engine format, libhs version and every database's literals.
    fn cache_key(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"tapwatch-detect\0");
        h.update(ENGINE_FORMAT_VERSION.to_le_bytes());
        let v = tapwatch_hyperscan::version();
        h.update((v.len() as u64).to_le_bytes());
        h.update(v.as_bytes());
        for (gi, group) in self.groups().enumerate() {
            for db in &group.dbs {
                h.update((gi as u64).to_le_bytes());
                let name = db_name(db);
                h.update((name.len() as u64).to_le_bytes());
                h.update(name.as_bytes());
                h.update((db.literals.len() as u64).to_le_bytes());
                for (bytes, caseless) in &db.literals {
                    h.update([u8::from(*caseless)]);
                    h.update((bytes.len() as u64).to_le_bytes());
                    h.update(bytes);
                }
            }
        }
        h.finalize().into()
    }

    fn compile_databases(
        &mut self,
        config: &EngineConfig,
    ) -> Result<(CacheOutcome, Option<String>), EngineError> {
        if self.reference {
            return Ok((CacheOutcome::Disabled, None));
        }
        let cache = match &config.cache_dir {
            Some(dir) => match DiskCache::open(dir) {
                Ok(c) => Some(c),
                Err(e) => {
                    return self
                        .compile_all()
                        .map(|()| (CacheOutcome::Disabled, Some(e.to_string())))
                }
            },
            None => None,
        };
        let Some(cache) = cache else {
            self.compile_all()?;
            return Ok((CacheOutcome::Disabled, None));
        };
        let key = self.cache_key();
        let outcome = match cache.load(&key) {
            Ok(Some(blob)) => match self.load_blob(&blob) {
                Ok(()) => return Ok((CacheOutcome::Hit, None)),
                Err(reason) => CacheOutcome::Rebuilt { reason },
            },
            Ok(None) => CacheOutcome::Miss,
            Err(e) => CacheOutcome::Rebuilt {
                reason: e.to_string(),
            },
        };
        self.compile_all()?;
        let mut warning = None;
        match self.blob() {
            Ok(blob) => {
                if let Err(e) = cache.store(&key, &blob) {
                    warning = Some(format!(
                        "could not store the compiled rules in the cache: {e}"
                    ));
                } else if let Err(e) = cache.prune(CACHE_KEEP) {
                    warning = Some(format!("could not prune the cache: {e}"));
                }
            }
            Err(e) => warning = Some(format!("could not serialize the databases: {e}")),
        }
        Ok((outcome, warning))
    }

    /// Compiles every database, one after the other: on one thread the Hyperscan compiler's
    /// working memory is needed for one database at a time (two threads raised the cold
    /// start's peak memory by about 50 MB, above Suricata's, and were no faster on a loaded
    /// 2-core machine).
    fn compile_all(&mut self) -> Result<(), EngineError> {
        for db in self.groups_mut().flat_map(|g| g.dbs.iter_mut()) {
            let lits: Vec<Literal> = db
                .literals
                .iter()
                .enumerate()
                .map(|(id, (bytes, caseless))| Literal {
                    id: id as u32,
                    bytes: bytes.clone(),
                    caseless: *caseless,
                })
                .collect();
            let compiled =
                LiteralDatabase::compile(&lits).map_err(|source| EngineError::Hyperscan {
                    buffer: db_name(db),
                    source,
                })?;
            db.db = Some(compiled);
        }
        Ok(())
    }

    /// The cache blob: database count, then each serialized database with its length.
    fn blob(&self) -> Result<Vec<u8>, tapwatch_hyperscan::HsError> {
        let dbs: Vec<&GroupDb> = self.groups().flat_map(|g| g.dbs.iter()).collect();
        let mut out = Vec::new();
        out.extend_from_slice(&(dbs.len() as u64).to_le_bytes());
        for db in dbs {
            let bytes = match &db.db {
                Some(d) => d.serialize()?,
                None => Vec::new(),
            };
            out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            out.extend_from_slice(&bytes);
        }
        Ok(out)
    }

    fn load_blob(&mut self, blob: &[u8]) -> Result<(), String> {
        let mut rest = blob;
        let take_u64 = |rest: &mut &[u8]| -> Result<u64, String> {
            let (head, tail) = rest.split_at_checked(8).ok_or("cache entry truncated")?;
            *rest = tail;
            let arr: [u8; 8] = head.try_into().map_err(|_| "cache entry truncated")?;
            Ok(u64::from_le_bytes(arr))
        };
        let count = take_u64(&mut rest)?;
        let mut loaded = Vec::new();
        for _ in 0..count {
            let len = usize::try_from(take_u64(&mut rest)?).map_err(|_| "bad length")?;
            let (bytes, tail) = rest.split_at_checked(len).ok_or("cache entry truncated")?;
            rest = tail;
            loaded.push(LiteralDatabase::deserialize(bytes).map_err(|e| e.to_string())?);
        }
        if !rest.is_empty() {
            return Err("trailing bytes in the cache entry".to_owned());
        }
        let mut dbs: Vec<&mut GroupDb> = self.groups_mut().flat_map(|g| g.dbs.iter_mut()).collect();
        if dbs.len() != loaded.len() {
            return Err(format!(
                "cache entry holds {} databases, the rules need {}",
                loaded.len(),
                dbs.len()
            ));
        }
        for (db, l) in dbs.iter_mut().zip(loaded.iter()) {
            if l.literal_count() != db.literals.len() {
                return Err("cache entry does not match the rules".to_owned());
            }
        }
        for (db, l) in dbs.into_iter().zip(loaded) {
            db.db = Some(l);
        }
        Ok(())
    }

    fn report(
        &self,
        rejected: Vec<BuildRejection>,
        rules_without_pattern: usize,
        cache: CacheOutcome,
        cache_warning: Option<String>,
        start: Instant,
    ) -> BuildReport {
        let mut databases = Vec::new();
        let mut per_buffer: HashMap<String, usize> = HashMap::new();
        for (gi, group) in self.groups().enumerate() {
            // A rule of a group split by port is in several databases of its buffer:
            // count it once.
            let mut distinct: HashMap<String, std::collections::HashSet<u32>> = HashMap::new();
            for (di, db) in group.dbs.iter().enumerate() {
                let name = db_name(db);
                distinct.entry(name.clone()).or_default().extend(
                    db.lit_sigs
                        .iter()
                        .flatten()
                        .copied()
                        .chain(db.anchored.sigs()),
                );
                let ports = match group.ports.label_of(di) {
                    Some(label) => format!(" [{label}]"),
                    None => String::new(),
                };
                databases.push(DatabaseStats {
                    buffer: format!("{}/{}{ports}", group_name(self, gi), name),
                    rules: db.rules,
                    patterns: db.literals.len(),
                    anchored: db.anchored.len(),
                    bytes: db.db.as_ref().map_or(0, LiteralDatabase::size_bytes),
                });
            }
            for (name, rules) in distinct {
                *per_buffer.entry(name).or_default() += rules.len();
            }
        }
        let mut rules_per_buffer: Vec<(String, usize)> = per_buffer.into_iter().collect();
        rules_per_buffer.sort();
        BuildReport {
            loaded: self.sigs.len(),
            rejected,
            databases,
            rules_per_buffer,
            compile_time: start.elapsed(),
            cache,
            rules_without_pattern,
            cache_warning,
        }
    }
}

fn group_name(engine: &Engine, index: usize) -> String {
    const CLASS_NAMES: [&str; CLASSES] = ["tcp", "udp", "icmpv4", "icmpv6", "ip"];
    if let Some(name) = CLASS_NAMES.get(index) {
        return (*name).to_owned();
    }
    let t = index - CLASSES;
    let dir = if t.is_multiple_of(2) {
        "toserver"
    } else {
        "toclient"
    };
    match engine.tx.get(t / 2) {
        Some(g) => format!("{}:{dir}", g.proto),
        None => "?".to_owned(),
    }
}

/// The database's buffer name with its transforms (`http.uri|to_lowercase`).
fn db_name(db: &GroupDb) -> String {
    let mut name = db.buffer.name().to_owned();
    if let Some(also) = db.also {
        name.push('+');
        name.push_str(also.name());
    }
    for t in &db.transforms {
        name.push('|');
        name.push_str(&format!("{t:?}").to_lowercase());
    }
    name
}

/// Most ports a rule may name to be indexed by port in a group's pattern-less list.
const MAX_INDEXED_PORTS: u32 = 64;

fn small_port_set(ports: &tapwatch_rules::PortSet) -> Option<Vec<u16>> {
    let total: u32 = ports
        .ranges
        .iter()
        .map(|&(a, b)| u32::from(b) - u32::from(a) + 1)
        .sum();
    if ports.ranges.is_empty() || total > MAX_INDEXED_PORTS {
        return None;
    }
    Some(ports.ranges.iter().flat_map(|&(a, b)| a..=b).collect())
}

/// Puts a rule without a fast pattern in the group's list, indexed by a small port set
/// when it has one (so that only packets to or from those ports consider it).
fn add_always(group: &mut Group, idx: u32, cs: &CompiledSig) {
    let h = &cs.sig.header;
    if !h.bidirectional {
        if let Some(ports) = small_port_set(&h.dst_ports) {
            for p in ports {
                group.always_dst.entry(p).or_default().push(idx);
            }
            return;
        }
        if let Some(ports) = small_port_set(&h.src_ports) {
            for p in ports {
                group.always_src.entry(p).or_default().push(idx);
            }
            return;
        }
    }
    group.always.push(idx);
}

/// In the transaction group of `proto` and direction index `dir`, a buffer whose instances
/// are always those of another buffer of the group, so that one prefilter scan serves both:
/// (the buffer, the one scanned instead). HTTP's `file.data` is the message body of the
/// direction, which is also `http.request_body` or `http.response_body` (the worker gives
/// both names to one copy, `detect_buffers.rs`); scanning it twice cost 5 % of the detection
/// benchmark's prefilter time. Instances of the first that are not the second's are scanned
/// too (`GroupDb::also`), so the prefilter never depends on the worker giving both names.
fn scanned_as(proto: AppProto, dir: usize) -> Option<(Buffer, Buffer)> {
    let own = match (proto, dir) {
        (AppProto::Http, 0) => Buffer::HttpRequestBody,
        (AppProto::Http, 1) => Buffer::HttpResponseBody,
        _ => return None,
    };
    Some((Buffer::FileData, own))
}

fn add_to_group(
    group: &mut Group,
    idx: u32,
    cs: &CompiledSig,
    fp: Option<&fastpattern::FastPatternChoice>,
    alias: Option<(Buffer, Buffer)>,
) {
    group.all.push(idx);
    let Some(fp) = fp else {
        add_always(group, idx, cs);
        return;
    };
    if !add_to_dbs(&mut group.dbs, idx, cs, fp, alias) {
        add_always(group, idx, cs);
    }
}

/// Puts rule `idx`'s fast pattern in the database of its buffer among `dbs` (creating it);
/// false when the fast pattern names no buffer of the rule. `alias` (see [`scanned_as`])
/// names a buffer whose fast patterns go to another buffer's database.
fn add_to_dbs(
    dbs: &mut Vec<GroupDb>,
    idx: u32,
    cs: &CompiledSig,
    fp: &fastpattern::FastPatternChoice,
    alias: Option<(Buffer, Buffer)>,
) -> bool {
    let Some(bm) = cs.sig.buffers.get(fp.buffer) else {
        return false;
    };
    let scanned = match alias {
        Some((name, instead)) if name == bm.buffer => instead,
        _ => bm.buffer,
    };
    let pos = match dbs
        .iter()
        .position(|d| d.buffer == scanned && d.transforms == bm.transforms)
    {
        Some(p) => p,
        None => {
            dbs.push(GroupDb {
                buffer: scanned,
                also: None,
                transforms: bm.transforms.clone(),
                transformer: (!bm.transforms.is_empty()).then_some((idx, fp.buffer)),
                literals: Vec::new(),
                lit_sigs: Vec::new(),
                db: None,
                few: None,
                anchored: Default::default(),
                rules: 0,
                max_literal: 0,
            });
            dbs.len() - 1
        }
    };
    let Some(db) = dbs.get_mut(pos) else {
        return false;
    };
    if scanned != bm.buffer {
        db.also = Some(bm.buffer);
    }
    db.rules += 1;
    // Stream data is rescanned from `max_literal - 1` bytes before the new data, so payload
    // literals are cut to a prefix: every rule is verified in full after the prefilter, so
    // a prefix selects a superset of the candidates, and the rescanned overlap stays short.
    let bytes = match bm.buffer {
        Buffer::Payload => fp.bytes.get(..MAX_PAYLOAD_LITERAL).unwrap_or(&fp.bytes),
        _ => &fp.bytes[..],
    };
    db.max_literal = db.max_literal.max(bytes.len());
    if let Some(starts) = fp.starts {
        if anchored::fits(starts) && bm.transforms.is_empty() {
            db.anchored.add(bytes, fp.caseless, starts, idx);
            return true;
        }
    }
    let lit = match db
        .literals
        .iter()
        .position(|(b, c)| *c == fp.caseless && b[..] == *bytes)
    {
        Some(l) => l,
        None => {
            db.literals.push((bytes.to_vec(), fp.caseless));
            db.lit_sigs.push(Vec::new());
            db.literals.len() - 1
        }
    };
    if let Some(list) = db.lit_sigs.get_mut(lit) {
        list.push(idx);
    }
    true
}

/// Sort key: action, flowbits (setters, setters that also read, readers, neither), flowint
/// and xbits likewise, priority.
fn order_key(cs: &CompiledSig) -> (u8, u8, u8, u8, u8) {
    let rank = |set: bool, read: bool| match (set, read) {
        (true, false) => 0,
        (true, true) => 1,
        (false, true) => 2,
        (false, false) => 3,
    };
    let (mut bs, mut br, mut is, mut ir, mut xs, mut xr) =
        (false, false, false, false, false, false);
    for op in &cs.state {
        match op {
            StateOp::BitSet(_) | StateOp::BitUnset(_) | StateOp::BitToggle(_) => bs = true,
            StateOp::BitIsSet(_) | StateOp::BitIsNotSet(_) => br = true,
            StateOp::IntSet(..) | StateOp::IntAdd(..) | StateOp::IntSub(..) => is = true,
            StateOp::IntIsSet(_) | StateOp::IntIsNotSet(_) | StateOp::IntCmp(..) => ir = true,
            StateOp::Xbit { op, .. } => match op {
                tapwatch_rules::XbitOp::IsSet | tapwatch_rules::XbitOp::IsNotSet => xr = true,
                _ => xs = true,
            },
        }
    }
    (
        action_rank(cs.sig.action),
        rank(bs, br),
        rank(is, ir),
        rank(xs, xr),
        cs.sig.priority,
    )
}

fn compile_sig(
    mut sig: Signature,
    config: &EngineConfig,
    names: &mut StateNames,
) -> Result<CompiledSig, Box<BuildRejection>> {
    let reject = |sig: &Signature, keyword: &str, reason: String| {
        Box::new(BuildRejection {
            id: sig.id,
            location: sig.location.clone(),
            keyword: keyword.to_owned(),
            reason,
        })
    };
    let mut buffers = Vec::with_capacity(sig.buffers.len());
    for bm in &sig.buffers {
        let rule_file = Some(std::path::Path::new(&sig.location.file));
        match CompiledBuffer::compile_with(bm, &config.datasets, rule_file) {
            Ok(c) => buffers.push(c),
            Err(e) => return Err(reject(&sig, e.keyword, e.reason)),
        }
    }
    let mut iprep = Vec::with_capacity(sig.iprep.len());
    for m in &sig.iprep {
        let Some(id) = config.reputation.categories.id(&m.category) else {
            let why = if config.reputation.categories.is_empty() {
                "no reputation categories file is configured".to_owned()
            } else {
                "it is not in the reputation categories file".to_owned()
            };
            return Err(reject(
                &sig,
                "iprep",
                format!("unknown category '{}': {why}", m.category),
            ));
        };
        iprep.push((m.side, id, m.cond));
    }
    let app = match sig.header.protocol {
        Protocol::App(proto) => Some(proto),
        _ => None,
    };
    let tx_bufs: Vec<Buffer> = sig
        .buffers
        .iter()
        .map(|b| b.buffer)
        .filter(|b| !b.is_packet_level() && *b != Buffer::Base64Data)
        .collect();
    let kind = if !sig.events.is_empty() || sig.header.protocol == Protocol::PktHdr {
        SigKind::Event
    } else if !tx_bufs.is_empty() {
        let mut protos: Vec<AppProto> = Vec::new();
        if let Some(a) = app {
            protos.push(a);
        } else {
            for b in &tx_bufs {
                if let Some(p) = buffer_proto(*b) {
                    if !protos.contains(&p) {
                        protos.push(p);
                    }
                }
            }
            if protos.is_empty() {
                protos = vec![AppProto::Http, AppProto::Smb];
            }
        }
        let fixed: Vec<Direction> = tx_bufs.iter().filter_map(|b| fixed_direction(*b)).collect();
        let has = |d: Direction| fixed.contains(&d);
        let dirs = match sig.flow.direction {
            Some(Direction::ToServer) => [!has(Direction::ToClient), false],
            Some(Direction::ToClient) => [false, true],
            None if has(Direction::ToClient) => [false, true],
            None if has(Direction::ToServer) => [true, false],
            None => [true, true],
        };
        SigKind::Tx { protos, dirs }
    } else {
        SigKind::Packet
    };
    let stream = match (&sig.header.protocol, sig.flow.stream) {
        (Protocol::TcpPkt, _) | (_, Some(false)) => StreamMode::Packet,
        (Protocol::TcpStream, _) | (_, Some(true)) => StreamMode::Stream,
        _ if is_packet_stream(&sig) => StreamMode::PacketAndStream,
        _ => StreamMode::Both,
    };
    let state: Vec<StateOp> = sig
        .state
        .iter()
        .filter_map(|op| intern_op(op, names))
        .collect();
    let (threshold, suppress) = apply_overrides(&sig, &config.overrides);
    // Moved out of the signature rather than copied: ET Open's metadata is ~20 strings
    // per rule, megabytes over a full rule set.
    let mut metadata: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in std::mem::take(&mut sig.metadata) {
        match metadata.iter_mut().find(|(key, _)| *key == k) {
            Some((_, values)) => values.push(v),
            None => metadata.push((k, vec![v])),
        }
    }
    let mut classes = classes_of(&sig.header.protocol);
    match sig.header.protocol {
        Protocol::Ipv4 => classes[crate::engine::CLASS_ICMPV6] = false,
        Protocol::Ipv6 => classes[crate::engine::CLASS_ICMPV4] = false,
        _ => {}
    }
    narrow_by_ip_proto(&sig, &mut classes);
    let iponly = kind == SigKind::Packet
        && sig.buffers.is_empty()
        && sig.packet.is_empty()
        && sig.flow == tapwatch_rules::FlowMatch::default()
        && state.iter().all(|op| {
            matches!(
                op,
                StateOp::BitSet(_)
                    | StateOp::BitUnset(_)
                    | StateOp::BitToggle(_)
                    | StateOp::IntSet(..)
                    | StateOp::IntAdd(..)
                    | StateOp::IntSub(..)
            ) || matches!(op, StateOp::Xbit { op, .. } if !matches!(op, tapwatch_rules::XbitOp::IsSet | tapwatch_rules::XbitOp::IsNotSet))
        })
        && sig.events.is_empty()
        && sig.app_layer_protocol.is_none()
        && app.is_none()
        && sig.header.src_ports.is_any()
        && sig.header.dst_ports.is_any();
    Ok(CompiledSig {
        iponly,
        iprep,
        buffers,
        kind,
        stream,
        app,
        state,
        threshold,
        suppress,
        metadata,
        classes,
        sig,
    })
}

/// `ip_proto:N` (N > 0) can only match packets of protocol N: the rule leaves the other
/// classes (an `alert ip ... ip_proto:41` rule is never a candidate for TCP packets).
/// Packets evaluated without header facts (at a flow's end) have protocol 0, which no such
/// rule matches either.
fn narrow_by_ip_proto(sig: &Signature, classes: &mut [bool; CLASSES]) {
    for cond in &sig.packet {
        let tapwatch_rules::PacketCondition::IpProto(tapwatch_rules::NumCmp::Eq(n)) = cond else {
            continue;
        };
        let Ok(proto) = u8::try_from(*n) else {
            continue;
        };
        if proto == 0 {
            continue;
        }
        let only = crate::engine::class_of(proto);
        for (class, on) in classes.iter_mut().enumerate() {
            if class != only {
                *on = false;
            }
        }
    }
}

fn intern_op(op: &tapwatch_rules::StateOp, names: &mut StateNames) -> Option<StateOp> {
    use tapwatch_rules::StateOp as S;
    let bits = |list: &Vec<String>, names: &mut StateNames| -> Vec<u32> {
        list.iter().map(|n| names.bits.id(n)).collect()
    };
    Some(match op {
        S::FlowbitIsSet(l) => StateOp::BitIsSet(bits(l, names)),
        S::FlowbitIsNotSet(l) => StateOp::BitIsNotSet(bits(l, names)),
        S::FlowbitSet(l) => StateOp::BitSet(bits(l, names)),
        S::FlowbitUnset(l) => StateOp::BitUnset(bits(l, names)),
        S::FlowbitToggle(l) => StateOp::BitToggle(bits(l, names)),
        S::Flowint { name, op } => {
            let id = names.ints.id(name);
            let mut operand = |v: &FlowintValue| match v {
                FlowintValue::Lit(n) => IntOperand::Lit(*n),
                FlowintValue::Var(n) => IntOperand::Var(names.ints.id(n)),
            };
            match op {
                FlowintOp::Set(v) => StateOp::IntSet(id, operand(v)),
                FlowintOp::Add(v) => StateOp::IntAdd(id, operand(v)),
                FlowintOp::Sub(v) => StateOp::IntSub(id, operand(v)),
                FlowintOp::IsSet => StateOp::IntIsSet(id),
                FlowintOp::IsNotSet => StateOp::IntIsNotSet(id),
                FlowintOp::Compare(c, v) => StateOp::IntCmp(id, *c, operand(v)),
            }
        }
        S::Xbits {
            op,
            name,
            track,
            expire,
        } => StateOp::Xbit {
            op: *op,
            name: names.xbits.id(name),
            track: *track,
            expire: expire.unwrap_or(DEFAULT_XBIT_EXPIRE_SECS),
        },
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

/// Lifetime of an xbit set without `expire`.
const DEFAULT_XBIT_EXPIRE_SECS: u32 = 30;

fn apply_overrides(
    sig: &Signature,
    overrides: &[ThresholdOverride],
) -> (Option<Threshold>, Vec<SuppressTrack>) {
    let matches =
        |gid: u32, sid: u32| (gid == 0 || gid == sig.id.gid) && (sid == 0 || sid == sig.id.sid);
    let mut threshold = sig.threshold;
    let mut exact = false;
    let mut suppress = Vec::new();
    for o in overrides {
        match o {
            ThresholdOverride::Suppress { gid, sid, track } if matches(*gid, *sid) => {
                suppress.push(track.clone());
            }
            ThresholdOverride::Threshold {
                gid,
                sid,
                threshold: t,
            } if matches(*gid, *sid) => {
                let specific = *sid != 0;
                if specific {
                    threshold = Some(*t);
                    exact = true;
                } else if !exact && sig.threshold.is_none() {
                    threshold = Some(*t);
                }
            }
            _ => {}
        }
    }
    (threshold, suppress)
}

/// Whether a rule is one of Suricata's "packet-stream" rules: a payload content (negated
/// ones included, e.g. `content:!"EHLO"; startswith;`) anchored with `depth` or
/// `startswith`, and no `dsize` (which makes it a packet rule).
fn is_packet_stream(sig: &Signature) -> bool {
    if sig
        .packet
        .iter()
        .any(|c| matches!(c, tapwatch_rules::PacketCondition::Dsize(_)))
    {
        return false;
    }
    sig.buffers
        .iter()
        .filter(|b| b.buffer == Buffer::Payload && b.transforms.is_empty())
        .flat_map(|b| &b.matchers)
        .any(|m| {
            matches!(m, tapwatch_rules::Matcher::Content(c)
                if c.depth.is_some() || c.startswith)
        })
}
