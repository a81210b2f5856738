//! tapwatch's datasets and IP reputation, with Suricata 8's semantics and file formats.
//!
//! - [`Dataset`]: one named set (`dataset`) or reputation list (`datarep`) of strings,
//!   MD5/SHA-256 digests or addresses, shared by every worker and written by `dataset:set` and
//!   `unset` from any of them (sharded reader-writer locks, see [`set`]), bounded by its
//!   memcap with a counter of what it refused.
//! - [`Datasets`]: every set of a sensor by name, made and loaded once; an engine built on a
//!   rule reload gets the same sets (see [`registry`]). Saved on shutdown by
//!   [`Datasets::save_all`].
//! - [`file`]: Suricata's dataset files (base64 strings, hex digests, addresses as text,
//!   `,value` for reputation lines), every bad line reported with file and line.
//! - [`iprep`]: Suricata's IP reputation files (categories, `ip,category,score` lines with
//!   CIDR networks) in a sorted-range table sized for millions of networks.
//!
//! The crate depends on nothing of tapwatch's: the fleet's indicator matching builds on the
//! same sets.

pub mod file;
pub mod iprep;
pub mod registry;
pub mod set;
pub mod value;

pub use file::FileError;
pub use iprep::{Categories, IpReputation, Reputation, ReputationBuilder, ReputationConfig};
pub use registry::{DatasetDef, DatasetError, Datasets, DatasetsConfig, Request};
pub use set::{AddOutcome, Dataset, DatasetStats, SetSpec};
pub use value::{DataType, Key};
