//! Signed rule and threat-intelligence bundles: how the national center hands rule sets and
//! IOC sets to sensors so that a sensor can tell they are genuine, whole, new and plausible.
//!
//! - [`format`]: the one-file container (manifest, signatures, zstd payload), read within
//!   [`Limits`] (a bundle is untrusted input until verified);
//! - [`manifest`]: kind, channel, version, time, counts, every file by size and SHA-256;
//! - [`sign`]: Ed25519 keys with key ids, key files, the sensor's [`Keyring`];
//! - [`policy`]: the acceptance policy (typed [`Refusal`] reasons) and the directory of
//!   bundles in force, including the watched drop directory of air-gapped sensors;
//! - [`build`]: a rule set from a directory, an IOC set from entries; [`ioc`]: IOC entries
//!   and their input formats; [`content`]: what files must hold and how entries are counted.
//!
//! The crate's README describes the format, the key files and key rotation.

pub mod build;
pub mod content;
pub mod format;
pub mod ioc;
pub mod manifest;
pub mod policy;
pub mod sign;
pub mod time;

pub use format::{BundleFile, FormatError, Limits, RawBundle, ReadError, FORMAT_VERSION, MAGIC};
pub use manifest::{FileEntry, Kind, Manifest, Role};
pub use policy::{check, Accepted, BundleDir, InForce, Policy, Refusal};
pub use sign::{KeyError, KeyId, Keyring, PublicKey, SecretKey, SignatureError};
pub use time::Timestamp;

#[cfg(test)]
mod tests;
