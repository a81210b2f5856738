//! Exact verification of a candidate rule's buffer match lists, with Suricata's semantics.
//!
//! The prefilter (Hyperscan) only says that a rule *may* match; [`CompiledBuffer::matches`]
//! decides. A buffer's match list is run left to right over one inspection buffer with a
//! *cursor*: the end of the previous content or pcre match (or where a `byte_jump` or
//! `byte_extract` left it), to which `distance`, `within`, `relative` and `R` refer.
//!
//! # Backtracking
//!
//! When a later step that depends on the cursor fails, the engine goes back to the nearest
//! content or pcre whose position that step depends on and tries its next occurrence (the
//! next start position, in the same window), as Suricata does. The search is a depth-first
//! walk over match positions, so the result is the same as trying every combination of
//! positions, except for the cap below. A step whose result cannot depend on earlier
//! positions (an absolute content, `bsize`, ...) ends the whole evaluation when it fails.
//!
//! Paths that cannot match are cut short: a relative content with `distance` but no
//! `within` searches from the cursor to a fixed end, so when everything from that step on
//! failed for cursor `c`, it fails for any cursor at or after `c` (the positions it could
//! take are a subset, and the rest of the walk depends only on the position). Such a step
//! remembers the lowest cursor it failed from and fails at once from there on. Rules
//! like `content:"<script"; content:"<"; distance:0; content:".length"; distance:0;
//! pcre:"/^.../R";` otherwise retry the same pcre once per combination of earlier
//! positions, until the cap. Lists with `byte_extract` or `base64_decode` (state beside
//! the cursor) are walked without the cut. The cut only drops paths that fail, so it
//! changes no result except where the cap would have stopped the full walk.
//!
//! # Limits
//!
//! - At most [`INSPECTION_LIMIT`] step evaluations per [`CompiledBuffer::matches`] call
//!   (Suricata's `inspection-recursion-limit` has the same default, 3,000); reaching it is a
//!   non-match.
//! - pcre: PCRE2 match limit [`PCRE_MATCH_LIMIT`] and depth limit [`PCRE_DEPTH_LIMIT`]
//!   (Suricata's defaults `match-limit: 3500`, `match-limit-recursion: 1500`); reaching one is
//!   a non-match. The `O` flag is accepted and ignored.
//! - `base64_decode` writes at most [`BASE64_MAX_DECODED`] bytes.

mod base64;
mod bytes;
mod content;
mod packet;
mod pcre;
mod transform;

#[cfg(test)]
mod tests;

pub use base64::MAX_DECODED as BASE64_MAX_DECODED;
pub(crate) use content::find_folded;
pub use packet::{packet_matches, IcmpFacts, PacketFacts, TcpFacts};
pub use pcre::{DEPTH_LIMIT as PCRE_DEPTH_LIMIT, MATCH_LIMIT as PCRE_MATCH_LIMIT};

use std::path::Path;

use tapwatch_datasets::{AddOutcome, DataType, Datasets, Key, Request};
use tapwatch_rules::signature::{
    Absent, Buffer, BufferMatch, DatasetMatch, DatasetOp, DatasetType, Matcher, Value,
};

use self::bytes::{CompiledByteExtract, CompiledByteJump, CompiledByteTest};
use self::content::CompiledContent;
use self::pcre::CompiledPcre;
use self::transform::CompiledTransform;

/// Most step evaluations (including retries of earlier matches) per buffer inspection.
pub const INSPECTION_LIMIT: u32 = 3_000;

/// Number of `byte_extract` variables a rule can define (variables are numbered by `u8`).
const MAX_VARS: usize = 256;

/// A matcher or transform that cannot be prepared for execution.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{keyword}: {reason}")]
pub struct CompileError {
    /// The rule keyword (`pcre`, `pcrexform`, ...).
    pub keyword: &'static str,
    /// Why it was refused.
    pub reason: String,
}

/// One prepared step of a match list.
#[derive(Debug)]
enum Step {
    // Boxed: the memmem finder is large.
    Content(Box<CompiledContent>),
    Pcre(CompiledPcre),
    ByteTest(CompiledByteTest),
    ByteJump(CompiledByteJump),
    ByteExtract(CompiledByteExtract),
    IsDataAt {
        pos: Value,
        relative: bool,
        negated: bool,
    },
    Bsize(tapwatch_rules::signature::NumCmp),
    /// An integer keyword's comparison on the value buffer (big-endian).
    Uint(tapwatch_rules::signature::NumCmp),
    Base64Decode(tapwatch_rules::signature::Base64Decode),
    /// `dataset`/`datarep`: the set is shared with every other rule naming it and with the
    /// other workers.
    Dataset {
        set: std::sync::Arc<tapwatch_datasets::Dataset>,
        op: DatasetOp,
    },
}

impl Step {
    /// Whether the step reads the cursor.
    fn is_relative(&self) -> bool {
        match self {
            Self::Content(c) => c.is_relative(),
            Self::Pcre(p) => p.relative,
            Self::ByteTest(b) => b.relative,
            Self::ByteJump(b) => b.relative,
            Self::ByteExtract(b) => b.relative,
            Self::IsDataAt { relative, .. } => *relative,
            Self::Bsize(_) | Self::Uint(_) | Self::Dataset { .. } => false,
            Self::Base64Decode(b) => b.relative,
        }
    }

    /// Whether the step moves the cursor when it succeeds.
    fn sets_cursor(&self) -> bool {
        match self {
            Self::Content(c) => !c.negated,
            Self::Pcre(p) => !p.negated,
            Self::ByteJump(_) | Self::ByteExtract(_) => true,
            _ => false,
        }
    }

    /// Whether the step's result may depend on earlier match positions (through the cursor
    /// or a `byte_extract` variable). A failing step that does not ends the evaluation.
    fn depends_on_earlier(&self) -> bool {
        self.is_relative()
            || match self {
                Self::Content(c) => c.uses_vars(),
                Self::ByteTest(b) => b.uses_vars(),
                Self::ByteJump(b) => b.uses_vars(),
                Self::IsDataAt { pos, .. } => matches!(pos, Value::Var(_)),
                _ => false,
            }
    }
}

/// A rule's buffer match list, prepared for execution (pcre compiled with JIT, content
/// finders built). `Send + Sync`: one per rule, shared by all workers.
#[derive(Debug)]
pub struct CompiledBuffer {
    buffer: Buffer,
    absent: Option<Absent>,
    transforms: Vec<CompiledTransform>,
    steps: Vec<Step>,
    /// `retry[i]`: a later step depends on step `i`'s position, so on its failure step `i`
    /// is tried at its next occurrence.
    retry: Vec<bool>,
    /// `monotone[i]`: step `i` fails from every cursor at or after one it failed from (see
    /// the module documentation); all false when the list has state beside the cursor.
    monotone: Vec<bool>,
}

/// How one step of the walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Walk {
    /// The rest of the list matched.
    Match,
    /// No match along this path; an earlier step may try its next position.
    NoMatch,
    /// No match along any path: stop.
    Abort,
}

impl CompiledBuffer {
    /// Prepares `bm`: compiles pcre expressions (JIT when available), builds content finders.
    /// Sets named by `dataset`/`datarep` are private to this list (see
    /// [`CompiledBuffer::compile_with`] for a sensor's shared sets).
    pub fn compile(bm: &BufferMatch) -> Result<Self, CompileError> {
        Self::compile_with(bm, &Datasets::default(), None)
    }

    /// [`CompiledBuffer::compile`], with `dataset`/`datarep` sets found (or made and loaded) in
    /// `datasets` by name; `rule_file` is where the rule was read (a relative `load` is there).
    pub fn compile_with(
        bm: &BufferMatch,
        datasets: &Datasets,
        rule_file: Option<&Path>,
    ) -> Result<Self, CompileError> {
        let transforms = bm
            .transforms
            .iter()
            .map(CompiledTransform::compile)
            .collect::<Result<Vec<_>, _>>()?;
        let mut steps = Vec::with_capacity(bm.matchers.len());
        for m in &bm.matchers {
            steps.push(match m {
                Matcher::Content(c) => Step::Content(Box::new(CompiledContent::new(c))),
                Matcher::Pcre(p) => Step::Pcre(CompiledPcre::compile(p)?),
                Matcher::ByteTest(b) => Step::ByteTest(CompiledByteTest::new(b)),
                Matcher::ByteJump(b) => Step::ByteJump(CompiledByteJump::new(b)),
                Matcher::ByteExtract(b) => Step::ByteExtract(CompiledByteExtract::new(b)),
                Matcher::IsDataAt(d) => Step::IsDataAt {
                    pos: d.pos,
                    relative: d.relative,
                    negated: d.negated,
                },
                Matcher::Bsize(cmp) => Step::Bsize(*cmp),
                Matcher::Uint(cmp) => Step::Uint(*cmp),
                Matcher::Base64Decode(b) => Step::Base64Decode(*b),
                Matcher::Dataset(d) => Step::Dataset {
                    set: resolve_dataset(d, datasets, rule_file)?,
                    op: d.op,
                },
                _ => {
                    return Err(CompileError {
                        keyword: "matcher",
                        reason: "matcher not supported by the verifier".to_owned(),
                    })
                }
            });
        }
        let retry = compute_retry(&steps);
        let monotone = compute_monotone(&steps);
        Ok(Self {
            buffer: bm.buffer,
            absent: bm.absent,
            transforms,
            steps,
            retry,
            monotone,
        })
    }

    /// The inspected buffer.
    pub fn buffer(&self) -> Buffer {
        self.buffer
    }

    /// `absent` on the buffer, if given.
    pub fn absent(&self) -> Option<Absent> {
        self.absent
    }

    /// Whether the buffer has transforms (so [`Self::transform`] writes into the scratch).
    pub fn has_transforms(&self) -> bool {
        !self.transforms.is_empty()
    }

    /// Applies the transforms (if any) to `data`, in rule order; returns `data` itself when
    /// there are none. `scratch` is reused between calls (no allocation once it is large
    /// enough).
    pub fn transform<'a>(&self, data: &'a [u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
        if self.transforms.is_empty() {
            return data;
        }
        scratch.clear();
        scratch.extend_from_slice(data);
        for t in &self.transforms {
            t.apply(scratch);
        }
        scratch.as_slice()
    }

    /// Runs the match list on already-transformed `data`, with Suricata's semantics (see the
    /// module documentation). An empty list matches.
    pub fn matches(&self, data: &[u8], ctx: &mut MatchContext) -> bool {
        ctx.steps = 0;
        ctx.failed_from.clear();
        if self.monotone.contains(&true) {
            ctx.failed_from.resize(self.steps.len(), usize::MAX);
        }
        self.walk(0, data, 0, ctx) == Walk::Match
    }

    /// Runs the list on the rule's [`Buffer::Base64Data`]: the output of its last
    /// `base64_decode`, transformed first when the buffer has transforms. `false` when no
    /// `base64_decode` of the rule has run. Use this rather than [`Self::matches`] on
    /// [`MatchContext::base64_data`], which would borrow the context twice.
    pub fn matches_base64_data(&self, ctx: &mut MatchContext, scratch: &mut Vec<u8>) -> bool {
        if !ctx.base64_set {
            return false;
        }
        let decoded = std::mem::take(&mut ctx.base64);
        let data = self.transform(&decoded, scratch);
        let matched = self.matches(data, ctx);
        if ctx.base64.is_empty() {
            // No `base64_decode` in this list replaced it: keep the rule's data.
            ctx.base64 = decoded;
        }
        matched
    }

    fn walk(&self, i: usize, data: &[u8], cursor: usize, ctx: &mut MatchContext) -> Walk {
        ctx.steps += 1;
        if ctx.steps > INSPECTION_LIMIT {
            return Walk::Abort;
        }
        let Some(step) = self.steps.get(i) else {
            return Walk::Match;
        };
        let failed = if step.depends_on_earlier() {
            Walk::NoMatch
        } else {
            Walk::Abort
        };
        match step {
            Step::Content(c) => {
                let Some((start, end)) = c.window(data.len(), cursor, ctx) else {
                    return if c.negated {
                        self.walk(i + 1, data, cursor, ctx)
                    } else {
                        failed
                    };
                };
                if c.negated {
                    return if c.find(data, start, end).is_some() {
                        failed
                    } else {
                        self.walk(i + 1, data, cursor, ctx)
                    };
                }
                let monotone = self.monotone[i];
                if monotone && ctx.failed_from.get(i).is_some_and(|&f| cursor >= f) {
                    return failed;
                }
                let mut from = start;
                let mut outcome = failed;
                while let Some(pos) = c.find(data, from, end) {
                    match self.walk(i + 1, data, pos + c.len(), ctx) {
                        Walk::NoMatch if self.retry[i] => from = pos + 1,
                        other => {
                            outcome = other;
                            break;
                        }
                    }
                }
                if monotone && outcome == Walk::NoMatch {
                    if let Some(f) = ctx.failed_from.get_mut(i) {
                        *f = (*f).min(cursor);
                    }
                }
                outcome
            }
            Step::Pcre(p) => {
                let base = if p.relative {
                    cursor.min(data.len())
                } else {
                    0
                };
                let subject = data.get(base..).unwrap_or_default();
                if p.negated {
                    return if p.find_at(subject, 0).is_some() {
                        failed
                    } else {
                        self.walk(i + 1, data, cursor, ctx)
                    };
                }
                let mut from = 0;
                while let Some((s, e)) = p.find_at(subject, from) {
                    match self.walk(i + 1, data, base + e, ctx) {
                        Walk::NoMatch if self.retry[i] && !p.anchored => from = s + 1,
                        other => return other,
                    }
                    if from > subject.len() {
                        break;
                    }
                }
                failed
            }
            Step::ByteTest(b) => {
                if b.test(data, cursor, ctx) {
                    self.walk(i + 1, data, cursor, ctx)
                } else {
                    failed
                }
            }
            Step::ByteJump(b) => match b.jump(data, cursor, ctx) {
                Some(next) => self.walk(i + 1, data, next, ctx),
                None => failed,
            },
            Step::ByteExtract(b) => match b.extract(data, cursor, ctx) {
                Some(next) => self.walk(i + 1, data, next, ctx),
                None => failed,
            },
            Step::IsDataAt {
                pos,
                relative,
                negated,
            } => {
                let Some(pos) = ctx.value(*pos) else {
                    return failed;
                };
                let present = if *relative {
                    i128::from(pos) + cursor as i128 <= data.len() as i128
                } else {
                    pos >= 0 && (pos as u64) < data.len() as u64
                };
                if present != *negated {
                    self.walk(i + 1, data, cursor, ctx)
                } else {
                    failed
                }
            }
            Step::Bsize(cmp) => {
                if cmp.matches(data.len() as u64) {
                    self.walk(i + 1, data, cursor, ctx)
                } else {
                    failed
                }
            }
            Step::Uint(cmp) => {
                // A value buffer is at most 8 bytes; anything longer is not a value.
                let value = (data.len() <= 8)
                    .then(|| data.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)));
                if value.is_some_and(|v| cmp.matches(v)) {
                    self.walk(i + 1, data, cursor, ctx)
                } else {
                    failed
                }
            }
            Step::Dataset { set, op } => {
                if dataset_matches(set, *op, data) {
                    self.walk(i + 1, data, cursor, ctx)
                } else {
                    failed
                }
            }
            Step::Base64Decode(b) => {
                let start = if b.relative { cursor } else { 0 }.saturating_add(b.offset as usize);
                let input = data.get(start..).unwrap_or_default();
                let input = match b.bytes {
                    Some(n) => &input[..input.len().min(n as usize)],
                    None => input,
                };
                ctx.base64.clear();
                base64::decode_into(input, base64::Mode::Rfc4648, &mut ctx.base64);
                ctx.base64_set = true;
                if ctx.base64.is_empty() {
                    failed
                } else {
                    self.walk(i + 1, data, cursor, ctx)
                }
            }
        }
    }
}

/// The set a `dataset`/`datarep` keyword names, from the sensor's datasets.
fn resolve_dataset(
    d: &DatasetMatch,
    datasets: &Datasets,
    rule_file: Option<&Path>,
) -> Result<std::sync::Arc<tapwatch_datasets::Dataset>, CompileError> {
    let keyword = if matches!(d.op, DatasetOp::Rep(_)) {
        "datarep"
    } else {
        "dataset"
    };
    let data_type = d.data_type.map(|t| match t {
        DatasetType::String => DataType::String,
        DatasetType::Md5 => DataType::Md5,
        DatasetType::Sha256 => DataType::Sha256,
        DatasetType::Ipv4 => DataType::Ipv4,
        DatasetType::Ip => DataType::Ip,
    });
    let req = Request {
        name: &d.name,
        data_type,
        load: d.load.as_deref(),
        save: d.save.as_deref(),
        state: d.state.as_deref(),
        memcap: d.memcap,
        hashsize: d.hashsize,
        reputation: keyword == "datarep",
    };
    datasets.resolve(&req, rule_file).map_err(|e| CompileError {
        keyword,
        reason: e.to_string(),
    })
}

/// One `dataset`/`datarep` step on a buffer, with Suricata's semantics: an empty buffer, or
/// one that cannot be a value of the set's type, never matches; `set` matches when it added
/// the value (a value the memcap has no room for is not added, and counted), `unset` when
/// it removed one.
fn dataset_matches(set: &tapwatch_datasets::Dataset, op: DatasetOp, data: &[u8]) -> bool {
    if data.is_empty() {
        return false;
    }
    let Some(key) = Key::from_buffer(set.data_type(), data) else {
        return false;
    };
    match op {
        DatasetOp::Set => set.add(key, 0) == AddOutcome::Added,
        DatasetOp::Unset => set.remove(&key),
        DatasetOp::IsSet => set.contains(&key),
        DatasetOp::IsNotSet => !set.contains(&key),
        DatasetOp::Rep(cmp) => set.reputation(&key).is_some_and(|r| cmp.matches(r)),
    }
}

/// `monotone[i]` is true for a non-negated relative content with `distance` but no `within`
/// (its search ends where the buffer or its absolute `depth` does, whatever the cursor),
/// without variables, in a list without `byte_extract` and `base64_decode`.
fn compute_monotone(steps: &[Step]) -> Vec<bool> {
    let stateful = steps
        .iter()
        .any(|s| matches!(s, Step::ByteExtract(_) | Step::Base64Decode(_)));
    steps
        .iter()
        .map(|s| match s {
            Step::Content(c) => !stateful && c.is_distance_only(),
            _ => false,
        })
        .collect()
}

/// `retry[i]` is true when some later step reads the cursor that step `i` set, directly or
/// through later relative steps, before an absolute cursor-setting step replaces it.
fn compute_retry(steps: &[Step]) -> Vec<bool> {
    (0..steps.len())
        .map(|i| {
            if !steps[i].sets_cursor() {
                return false;
            }
            for later in &steps[i + 1..] {
                if later.is_relative() {
                    return true;
                }
                if later.sets_cursor() {
                    return false;
                }
            }
            false
        })
        .collect()
}

/// Per-rule-evaluation state, reused (cleared by [`MatchContext::reset`]) between rules;
/// owned by a worker. Holds the rule's `byte_extract` variables and `base64_decode` output.
#[derive(Debug, Clone)]
pub struct MatchContext {
    vars: [u64; MAX_VARS],
    vars_set: [u64; MAX_VARS / 64],
    base64: Vec<u8>,
    base64_set: bool,
    dce_le: bool,
    steps: u32,
    /// Per step of the list being walked: the lowest cursor a monotone step failed from.
    failed_from: Vec<usize>,
}

impl Default for MatchContext {
    fn default() -> Self {
        Self::new()
    }
}

impl MatchContext {
    /// An empty context (DCE byte order little endian, as a DCERPC flow's default).
    pub fn new() -> Self {
        Self {
            vars: [0; MAX_VARS],
            vars_set: [0; MAX_VARS / 64],
            base64: Vec::new(),
            base64_set: false,
            dce_le: true,
            steps: 0,
            failed_from: Vec::new(),
        }
    }

    /// Clears `byte_extract` variables and `base64_decode` output; called before each rule.
    pub fn reset(&mut self) {
        self.vars_set = [0; MAX_VARS / 64];
        self.base64.clear();
        self.base64_set = false;
    }

    /// The output of the last `base64_decode` of this rule, for [`Buffer::Base64Data`].
    pub fn base64_data(&self) -> Option<&[u8]> {
        self.base64_set.then_some(self.base64.as_slice())
    }

    /// The byte order `endian dce` reads with: little (the default) unless the flow's PDU
    /// said big.
    pub fn set_dce_little_endian(&mut self, le: bool) {
        self.dce_le = le;
    }

    /// The value of `byte_extract` variable `n`, if this rule has set it.
    pub fn var(&self, n: u8) -> Option<u64> {
        let n = usize::from(n);
        (self.vars_set[n / 64] & (1 << (n % 64)) != 0).then(|| self.vars[n])
    }

    fn set_var(&mut self, n: u8, value: u64) {
        let n = usize::from(n);
        self.vars[n] = value;
        self.vars_set[n / 64] |= 1 << (n % 64);
    }

    /// Resolves a literal or a variable (read as a signed 64-bit number).
    fn value(&self, v: Value) -> Option<i64> {
        match v {
            Value::Lit(n) => Some(n),
            Value::Var(n) => self.var(n).map(|x| x as i64),
        }
    }
}
