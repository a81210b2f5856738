//! The Suricata rule language: parsing rule files into a typed syntax tree with positions,
//! validating and normalising them into [`Signature`]s the detection engine runs, and reading
//! `classification.config` and `threshold.config`.
//!
//! # Decisions
//!
//! - **Rejected, never ignored.** A keyword, buffer, transform or header protocol tapwatch
//!   cannot honour makes the whole rule a [`Rejection`] (file, line, sid, keyword, reason);
//!   the other rules load. Header protocols must be ones the sensor detects (`http`, `tls`,
//!   `dns`, `mdns`, `ssh`, `smb`, `ftp`, `smtp`, `dcerpc`), since a rule for another could
//!   never match.
//! - **Typed vocabulary.** Application protocols, directions and engine events are
//!   `tapwatch-common`'s types ([`tapwatch_common::AppProto`], [`tapwatch_common::Direction`],
//!   [`tapwatch_common::DecodeEvent`], [`tapwatch_common::StreamEvent`]), resolved from their
//!   names at load. A name Suricata knows but tapwatch never detects or raises is rejected as
//!   such ("could never match"); a name nobody knows is rejected as unknown.
//! - **Legacy names.** `http_uri`, `http_raw_uri`, `http_method`, `http_client_body`,
//!   `http_server_body`, `http_header`, `http_raw_header`, `http_cookie`, `http_user_agent`,
//!   `http_host`, `http_raw_host`, `http_stat_code`, `http_stat_msg` (and `uricontent`) are
//!   content modifiers: they move the preceding content. Every other underscored name
//!   (`http_accept`, `http_header_names`, `http_protocol`, `dns_query`, `tls_sni`,
//!   `ja3_hash`, `file_data`, ...) is an alias of its sticky buffer, as in Suricata.
//! - **One [`BufferMatch`] per (buffer, transforms)**; switching back to a buffer appends.
//!   Transforms must follow their sticky buffer directly.
//! - **Content modifiers** follow Suricata's checks: `depth` at least the pattern length and
//!   not with `startswith` or `distance`/`within`; `within` at least the pattern length;
//!   `distance`/`within` on a buffer's first content are allowed (relative to its start);
//!   one `fast_pattern` per rule. A `fast_pattern` on a negated content without positions is
//!   accepted but not used as the prefilter (it cannot select packets). `prefilter` is a
//!   performance hint and changes no match.
//! - **Duplicates.** Of two rules with the same gid:sid, the higher rev is kept, and on a tie
//!   the first loaded (as Suricata); the other is reported as a rejection.
//! - **Variables** share one namespace for addresses and ports; lists follow Suricata:
//!   `[a,!b]` is a minus b, a list of only negations is everything minus them; an expression
//!   matching nothing (`!any`) is rejected.
//!
//! ```
//! use tapwatch_rules::{load_rules_text, LoadOptions, LoadReport};
//! let opts = LoadOptions::suricata_defaults();
//! let mut report = LoadReport::default();
//! load_rules_text(
//!     "local.rules",
//!     "alert http any any -> any any (msg:\"x\"; http.uri; content:\"/a\"; sid:1;)\n",
//!     &opts,
//!     &mut report,
//! );
//! assert_eq!(report.signatures.len(), 1);
//! ```

pub mod ast;
pub mod classification;
mod config_error;
mod load;
mod lower;
pub mod parse;
mod sets;
pub mod signature;
pub mod threshold_config;
pub mod vars;

#[cfg(test)]
mod test_support;

pub use classification::Classifications;
pub use config_error::ConfigError;
pub use load::{load_rule_files, load_rules_text, LoadOptions, LoadReport, Rejection};
pub use lower::lower_rule;
pub use parse::{parse_rule, ParseError};
pub use sets::{resolve_addr, resolve_ports};
pub use signature::*;
pub use threshold_config::{RateFilterAction, ThresholdConfig, ThresholdEntry};
pub use vars::Vars;
