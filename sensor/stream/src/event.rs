//! Events raised by the reassembler.
//!
//! They are [`tapwatch_common::StreamEvent`]s, the family shared with TCP session tracking:
//! the reassembler raises [`StreamEvent::ReassemblySeqGap`],
//! [`StreamEvent::ReassemblyOverlapDifferentData`], [`StreamEvent::ReassemblyDepthReached`],
//! [`StreamEvent::ReassemblySegmentBeforeBaseSeq`], [`StreamEvent::ReassemblyInsertMemcap`],
//! [`StreamEvent::ReassemblyInsertLimit`], [`StreamEvent::PktRetransmission`],
//! [`StreamEvent::SuspectedRstInject`] and tapwatch's own [`StreamEvent::DataAfterFin`].

pub use tapwatch_common::StreamEvent;
