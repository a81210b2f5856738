//! Per-flow detection state: flowbits, flowints, `by_flow` thresholds, pass and alerted marks.

use tapwatch_rules::CmpOp;

use crate::engine::{IntOperand, StateOp};
use crate::threshold::{RateKey, RateState};

/// Detection state of one flow, kept by the worker with the flow. Bounded: at most
/// [`DetectLimits::max_flow_vars`](crate::DetectLimits) flowbits and as many flowints;
/// setting more is counted by the detector and ignored.
#[derive(Debug, Default, Clone)]
pub struct FlowDetect {
    bits: Vec<u32>,
    ints: Vec<(u32, u32)>,
    /// `by_flow` threshold and detection-filter states, by rule gid:sid.
    pub(crate) rates: Vec<(RateKey, RateState)>,
    pub(crate) passed: bool,
    alerted: bool,
    /// The last bytes of reassembled data already inspected, per direction (to server, to
    /// client), so that stream matches may span segments.
    pub(crate) tails: [Vec<u8>; 2],
    /// Reassembled data was inspected in this direction (to server, to client): later data
    /// does not start the stream.
    pub(crate) stream_started: [bool; 2],
    /// IP-only rules were checked for this direction (to server, to client).
    pub(crate) iponly_done: [bool; 2],
}

impl FlowDetect {
    /// Whether a rule alerted on this flow (EVE `flow.alerted`).
    pub fn alerted(&self) -> bool {
        self.alerted
    }

    /// Whether a `pass` rule matched the flow: no further inspection.
    pub fn passed(&self) -> bool {
        self.passed
    }

    pub(crate) fn set_alerted(&mut self) {
        self.alerted = true;
    }

    pub(crate) fn bit(&self, id: u32) -> bool {
        self.bits.contains(&id)
    }

    fn set_bit(&mut self, id: u32, limit: usize) -> bool {
        if self.bits.contains(&id) {
            return true;
        }
        if self.bits.len() >= limit {
            return false;
        }
        self.bits.push(id);
        true
    }

    fn unset_bit(&mut self, id: u32) {
        self.bits.retain(|&b| b != id);
    }

    fn int(&self, id: u32) -> Option<u32> {
        self.ints.iter().find(|(i, _)| *i == id).map(|&(_, v)| v)
    }

    fn set_int(&mut self, id: u32, value: u32, limit: usize) -> bool {
        if let Some(slot) = self.ints.iter_mut().find(|(i, _)| *i == id) {
            slot.1 = value;
            return true;
        }
        if self.ints.len() >= limit {
            return false;
        }
        self.ints.push((id, value));
        true
    }

    fn operand(&self, v: IntOperand) -> Option<u32> {
        match v {
            IntOperand::Lit(n) => Some(n),
            IntOperand::Var(id) => self.int(id),
        }
    }

    /// Whether the flow-variable conditions among `ops` hold (xbits are checked by the
    /// detector).
    pub(crate) fn conditions_hold(&self, ops: &[StateOp]) -> bool {
        ops.iter().all(|op| match op {
            StateOp::BitIsSet(ids) => ids.iter().any(|&id| self.bit(id)),
            StateOp::BitIsNotSet(ids) => ids.iter().any(|&id| !self.bit(id)),
            StateOp::IntIsSet(id) => self.int(*id).is_some(),
            StateOp::IntIsNotSet(id) => self.int(*id).is_none(),
            StateOp::IntCmp(id, cmp, v) => match (self.int(*id), self.operand(*v)) {
                (Some(a), Some(b)) => match cmp {
                    CmpOp::Eq => a == b,
                    CmpOp::Ne => a != b,
                    CmpOp::Lt => a < b,
                    CmpOp::Le => a <= b,
                    CmpOp::Gt => a > b,
                    CmpOp::Ge => a >= b,
                },
                _ => false,
            },
            _ => true,
        })
    }

    /// Applies the flow-variable actions among `ops` after a full match; returns how many
    /// could not be stored (table full).
    pub(crate) fn apply(&mut self, ops: &[StateOp], limit: usize) -> u64 {
        let mut dropped = 0;
        for op in ops {
            match op {
                StateOp::BitSet(ids) => {
                    for &id in ids {
                        if !self.set_bit(id, limit) {
                            dropped += 1;
                        }
                    }
                }
                StateOp::BitUnset(ids) => ids.iter().for_each(|&id| self.unset_bit(id)),
                StateOp::BitToggle(ids) => {
                    for &id in ids {
                        if self.bit(id) {
                            self.unset_bit(id);
                        } else if !self.set_bit(id, limit) {
                            dropped += 1;
                        }
                    }
                }
                StateOp::IntSet(id, v) => {
                    if let Some(value) = self.operand(*v) {
                        if !self.set_int(*id, value, limit) {
                            dropped += 1;
                        }
                    }
                }
                StateOp::IntAdd(id, v) | StateOp::IntSub(id, v) => {
                    let Some(delta) = self.operand(*v) else {
                        continue;
                    };
                    let current = self.int(*id).unwrap_or(0);
                    let value = if matches!(op, StateOp::IntAdd(..)) {
                        current.wrapping_add(delta)
                    } else {
                        current.wrapping_sub(delta)
                    };
                    if !self.set_int(*id, value, limit) {
                        dropped += 1;
                    }
                }
                _ => {}
            }
        }
        dropped
    }
}
