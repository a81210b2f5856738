//! The center's configuration file (TOML).
//!
//! Every key is optional except the certificate paths when `insecure` is off. Unknown keys are
//! refused and a bad value is reported with its line and column. Relative paths are relative to
//! the directory of the configuration file. `tapwatch-center config default` prints the
//! commented default ([`DEFAULT_TOML`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

/// The commented default configuration.
pub const DEFAULT_TOML: &str = include_str!("../center.example.toml");

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The gRPC listener sensors connect to.
    pub server: ServerSection,
    /// Where alerts are stored.
    pub storage: StorageSection,
    /// The HTTP JSON API.
    pub api: ApiSection,
    /// The center's own log: level and form.
    pub logging: tapwatch_service::LoggingSection,
}

/// `[server]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Address the gRPC server listens on.
    pub listen: SocketAddr,
    /// Accept plaintext connections without client certificates. Lab use only.
    pub insecure: bool,
    /// CA certificate (PEM) that sensor certificates must chain to.
    pub ca_cert: PathBuf,
    /// The server's certificate (PEM).
    pub server_cert: PathBuf,
    /// The server's private key (PEM).
    pub server_key: PathBuf,
    /// Largest gRPC message accepted, bytes.
    pub max_message_bytes: usize,
    /// Largest decompressed batch payload, bytes.
    pub max_decompressed_bytes: usize,
    /// Most records in one batch.
    pub max_records_per_batch: usize,
    /// Largest zstd dictionary a sensor may send, bytes.
    pub max_dictionary_bytes: usize,
    /// Batches committed together at most (group commit across sensors).
    pub max_group_commit: usize,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 50051)),
            insecure: false,
            ca_cert: PathBuf::from("pki/ca.pem"),
            server_cert: PathBuf::from("pki/server.pem"),
            server_key: PathBuf::from("pki/server.key"),
            max_message_bytes: 16 << 20,
            max_decompressed_bytes: 64 << 20,
            max_records_per_batch: 100_000,
            max_dictionary_bytes: 1 << 20,
            max_group_commit: 64,
        }
    }
}

/// Storage back-end.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StorageKind {
    /// Embedded SQLite file (default, no set-up).
    #[default]
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// How hard SQLite syncs a commit to disk.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSync {
    /// `synchronous=FULL`: every commit is on disk before the Ack, even across a power loss.
    #[default]
    Full,
    /// `synchronous=NORMAL`: in WAL mode a commit survives a crash of the process (kill -9),
    /// but the last commits may be lost on power loss or an OS crash.
    Normal,
}

/// `[storage]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSection {
    /// `sqlite` or `postgres`.
    pub kind: StorageKind,
    /// SQLite database file.
    pub path: PathBuf,
    /// SQLite durability.
    pub sqlite_synchronous: SqliteSync,
    /// PostgreSQL connection string (`host=... user=... dbname=...` or `postgresql://...`).
    pub url: String,
}

impl Default for StorageSection {
    fn default() -> Self {
        Self {
            kind: StorageKind::Sqlite,
            path: PathBuf::from("center.db"),
            sqlite_synchronous: SqliteSync::Full,
            url: String::new(),
        }
    }
}

/// `[api]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSection {
    /// Serve the HTTP JSON API.
    pub enabled: bool,
    /// Address of the HTTP API (plain HTTP: keep it on loopback or behind a TLS proxy).
    pub listen: SocketAddr,
    /// When not empty, requests must carry `Authorization: Bearer <token>`.
    pub token: String,
    /// Most alerts one request returns.
    pub max_limit: usize,
}

impl Default for ApiSection {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            token: String::new(),
            max_limit: 10_000,
        }
    }
}

impl Config {
    /// Parses a configuration text; `base` resolves relative paths.
    pub fn parse(text: &str, base: &Path) -> anyhow::Result<Self> {
        let mut c: Config = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        for p in [
            &mut c.server.ca_cert,
            &mut c.server.server_cert,
            &mut c.server.server_key,
            &mut c.storage.path,
        ] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        c.validate()?;
        Ok(c)
    }

    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading configuration {}", path.display()))?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        Self::parse(&text, base).with_context(|| format!("configuration {}", path.display()))
    }

    fn validate(&self) -> anyhow::Result<()> {
        let mut problems = Vec::new();
        if self.storage.kind == StorageKind::Postgres && self.storage.url.is_empty() {
            problems.push("storage.url: required when storage.kind = \"postgres\"".to_owned());
        }
        for (name, v) in [
            ("server.max_message_bytes", self.server.max_message_bytes),
            (
                "server.max_decompressed_bytes",
                self.server.max_decompressed_bytes,
            ),
            (
                "server.max_records_per_batch",
                self.server.max_records_per_batch,
            ),
            ("server.max_group_commit", self.server.max_group_commit),
            ("api.max_limit", self.api.max_limit),
        ] {
            if v == 0 {
                problems.push(format!("{name}: must be at least 1"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            anyhow::bail!("{}", problems.join("\n"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_text_parses_to_default() {
        let c = Config::parse(DEFAULT_TOML, Path::new("/etc/c")).expect("default parses");
        let mut d = Config::default();
        d.server.ca_cert = PathBuf::from("/etc/c/pki/ca.pem");
        d.server.server_cert = PathBuf::from("/etc/c/pki/server.pem");
        d.server.server_key = PathBuf::from("/etc/c/pki/server.key");
        d.storage.path = PathBuf::from("/etc/c/center.db");
        assert_eq!(c, d);
    }

    #[test]
    fn unknown_key_is_refused_with_line_and_valid_keys() {
        let e = Config::parse(
            "[server]\nlisten = \"127.0.0.1:1\"\nlisen = 3\n",
            Path::new("."),
        )
        .expect_err("refused")
        .to_string();
        assert!(e.contains("line 3"), "{e}");
        assert!(e.contains("unknown field `lisen`"), "{e}");
        assert!(e.contains("max_message_bytes"), "{e}");
    }

    #[test]
    fn bad_values_are_reported() {
        let e = Config::parse("[storage]\nkind = \"postgres\"\n", Path::new("."))
            .expect_err("refused")
            .to_string();
        assert!(e.contains("storage.url"), "{e}");
        let e = Config::parse("[server]\nlisten = \"nowhere\"\n", Path::new("."))
            .expect_err("refused")
            .to_string();
        assert!(e.contains("line 2"), "{e}");
    }
}
