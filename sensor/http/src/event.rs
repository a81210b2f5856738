//! What the parser tells its caller.

use crate::{HttpAnomaly, HttpTransaction};

/// An event from [`HttpParser`](crate::HttpParser), in the order things happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpEvent {
    /// Request line and headers of this transaction are complete; the request can be read
    /// with [`HttpParser::transaction`](crate::HttpParser::transaction).
    RequestHeaders(u64),
    /// The request, body included, is complete.
    RequestComplete(u64),
    /// The final response's status line and headers are complete.
    ResponseHeaders(u64),
    /// The transaction is finished (or the flow ended): the record to log. Emitted once
    /// per transaction, in transaction order.
    TransactionComplete(Box<HttpTransaction>),
    /// A protocol anomaly, tied to a transaction where there is one.
    Anomaly {
        /// The transaction it belongs to.
        tx_id: Option<u64>,
        /// What was wrong.
        event: HttpAnomaly,
    },
}
