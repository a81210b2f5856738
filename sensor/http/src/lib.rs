//! tapwatch-http: a streaming, bounded HTTP/1.x parser for the sensor's application layer.
//!
//! [`HttpParser`] is fed one flow's reassembled TCP bytes per direction, split anywhere,
//! plus gap notices, and produces [`HttpEvent`]s: request and response milestones for the
//! detection engine, [`HttpAnomaly`] events named as Suricata names them, and finished
//! [`HttpTransaction`]s whose `Serialize` output is Suricata 8's EVE `http` object.
//!
//! Handled: pipelining (responses paired with requests in order), `Expect: 100-continue`
//! and other interim 1xx responses, HEAD/204/304 responses without body, CONNECT and
//! `101 Switching Protocols` (parsing stops: what follows is a tunnel), chunked transfer
//! coding with extensions and trailers, Content-Length, bodies delimited by the close,
//! HTTP/0.9 simple requests and status-line-less responses, header folding, bare-LF line
//! ends, gzip/deflate response bodies, and stream gaps (skipped inside bodies; elsewhere
//! the message is marked incomplete and parsing resynchronises on the next request or
//! status line).
//!
//! Invariants: no input makes it panic; every buffer is bounded by [`HttpConfig`]; the
//! events produced do not depend on how the input was split.
#![forbid(unsafe_code)]

mod anomaly;
mod body;
mod config;
mod decompress;
mod eve;
mod event;
mod files;
mod headers;
mod multipart;
mod parser;
mod probe;
mod request;
mod response;
mod response_lines;
mod startline;
mod transaction;
mod uri;

pub use anomaly::HttpAnomaly;
pub use config::HttpConfig;
pub use eve::{escape_bytes, URI_NOT_SEEN};
pub use event::HttpEvent;
pub use parser::HttpParser;
pub use probe::probe;
pub use transaction::{Header, HttpTransaction, Request, Response};
pub use uri::normalize_uri;

pub use tapwatch_files::{FileHashes, FileInfo, FileState};

pub(crate) use tapwatch_common::Probe;

#[cfg(test)]
mod files_tests;
#[cfg(test)]
mod tests;
