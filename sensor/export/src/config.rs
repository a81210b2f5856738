//! The `[export]` section of the sensor configuration.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Export settings. Every field has a default; unknown keys are refused.
///
/// ```toml
/// [export]
/// enabled = true
/// sensor_id = "sensor-paris-01"
/// center_url = "https://center.cert.example:7443"
/// ca_cert = "/etc/tapwatch/ca.pem"
/// client_cert = "/etc/tapwatch/sensor.pem"
/// client_key = "/etc/tapwatch/sensor.key"
/// spool_dir = "/var/lib/tapwatch/spool"
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportConfig {
    /// Whether the sensor exports at all. Default `false`.
    pub enabled: bool,
    /// Export flow records too (alerts are always exported). Default `false`.
    pub flows: bool,
    /// This sensor's id; must equal the identity in its client certificate. Default `""`
    /// (required when enabled).
    pub sensor_id: String,
    /// The center, `https://host:port` (or `http://` with `insecure`). Default
    /// `https://localhost:7443`.
    pub center_url: String,
    /// Plaintext gRPC, no certificates. Only for tests and labs; logged as a warning.
    /// Default `false`.
    pub insecure: bool,
    /// PEM file of the CA that signed the center's certificate (required unless `insecure`).
    pub ca_cert: Option<PathBuf>,
    /// PEM file of this sensor's client certificate (required unless `insecure`).
    pub client_cert: Option<PathBuf>,
    /// PEM file of the client certificate's private key (required unless `insecure`).
    pub client_key: Option<PathBuf>,
    /// Name checked against the center's certificate. Default: the host of `center_url`.
    pub server_name: Option<String>,
    /// Records the queue between the workers and the batcher holds; when full, new records
    /// are dropped and counted (a replay of capture files waits for room instead: nothing is
    /// dropped, the replay slows down). Default 65536.
    pub queue_capacity: usize,
    /// A batch is closed at this many records. Default 1000.
    pub max_batch_records: usize,
    /// A batch is closed when its first record is this old (milliseconds). Default 200.
    pub max_batch_delay_ms: u64,
    /// zstd compression level (1..=19) of full batches (records arriving at a high rate).
    /// Default 3.
    pub zstd_level: i32,
    /// zstd level (1..=19, 0: always `zstd_level`) of batches closed by their time limit
    /// (records arriving slower than `max_batch_records` per `max_batch_delay_ms`: the usual
    /// case), where a high level saves the most bytes and costs little; at most 10 % of the
    /// batcher's time goes to it, past which `zstd_level` is used. Default 19.
    pub zstd_level_idle: i32,
    /// A zstd dictionary trained with `tapwatch export train-dict`. Default none.
    pub dictionary_path: Option<PathBuf>,
    /// Directory of the disk spool, one per sensor (a second process using it is refused:
    /// the `LOCK` file there names the first). Default `/var/lib/tapwatch/spool`.
    pub spool_dir: PathBuf,
    /// Size of one spool segment file. Default 16 MiB.
    pub segment_bytes: u64,
    /// Bound on the spool's size on disk; the oldest data is dropped (and reported) beyond
    /// it. At least twice `segment_bytes`. Default 1 GiB.
    pub max_bytes: u64,
    /// `fdatasync` each group of batches before they are sent. Default `true`.
    pub fsync: bool,
    /// Batches sent and not yet acknowledged, at most. Default 64.
    pub window_batches: usize,
    /// Seconds between two `Health` messages. Default 30.
    pub health_interval_secs: u64,
    /// First reconnection delay (milliseconds); doubles per failure, with full jitter.
    /// Default 200.
    pub reconnect_base_ms: u64,
    /// Longest reconnection delay (milliseconds). Default 30000.
    pub reconnect_max_ms: u64,
    /// Timeout of one connection attempt (milliseconds). Default 10000.
    pub connect_timeout_ms: u64,
    /// Ruleset name sent in `Hello`. Default `""`.
    pub ruleset_id: String,
    /// Lower-case hex SHA-256 of the loaded ruleset, sent in `Hello`. Default `""`.
    pub ruleset_sha256: String,
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig {
            enabled: false,
            flows: false,
            sensor_id: String::new(),
            center_url: "https://localhost:7443".to_string(),
            insecure: false,
            ca_cert: None,
            client_cert: None,
            client_key: None,
            server_name: None,
            queue_capacity: 65_536,
            max_batch_records: 1000,
            max_batch_delay_ms: 200,
            zstd_level: 3,
            zstd_level_idle: 19,
            dictionary_path: None,
            spool_dir: PathBuf::from("/var/lib/tapwatch/spool"),
            segment_bytes: 16 << 20,
            max_bytes: 1 << 30,
            fsync: true,
            window_batches: 64,
            health_interval_secs: 30,
            reconnect_base_ms: 200,
            reconnect_max_ms: 30_000,
            connect_timeout_ms: 10_000,
            ruleset_id: String::new(),
            ruleset_sha256: String::new(),
        }
    }
}

impl ExportConfig {
    /// Every problem with the values, each as `field: reason`; empty when usable.
    pub fn validate(&self) -> Vec<String> {
        let mut errs = Vec::new();
        let mut bad = |field: &str, why: &str| errs.push(format!("export.{field}: {why}"));
        if self.sensor_id.is_empty() {
            bad("sensor_id", "required");
        }
        let plain = self.center_url.starts_with("http://");
        if !plain && !self.center_url.starts_with("https://") {
            bad(
                "center_url",
                "must start with https:// (or http:// with insecure)",
            );
        }
        if plain && !self.insecure {
            bad("center_url", "http:// needs insecure = true");
        }
        if !self.insecure {
            if self.ca_cert.is_none() {
                bad("ca_cert", "required unless insecure = true");
            }
            if self.client_cert.is_none() {
                bad("client_cert", "required unless insecure = true");
            }
            if self.client_key.is_none() {
                bad("client_key", "required unless insecure = true");
            }
        }
        if self.queue_capacity == 0 {
            bad("queue_capacity", "must be at least 1");
        }
        if self.max_batch_records == 0 || self.max_batch_records > 1_000_000 {
            bad("max_batch_records", "must be in 1..=1000000");
        }
        if !(1..=19).contains(&self.zstd_level) {
            bad("zstd_level", "must be in 1..=19");
        }
        if !(0..=19).contains(&self.zstd_level_idle) {
            bad(
                "zstd_level_idle",
                "must be in 1..=19, or 0 to always use zstd_level",
            );
        }
        if self.segment_bytes < 4096 {
            bad("segment_bytes", "must be at least 4096");
        }
        if self.max_bytes < self.segment_bytes.saturating_mul(2) {
            bad("max_bytes", "must be at least twice segment_bytes");
        }
        if self.window_batches == 0 {
            bad("window_batches", "must be at least 1");
        }
        if self.health_interval_secs == 0 {
            bad("health_interval_secs", "must be at least 1");
        }
        if self.reconnect_base_ms == 0 || self.reconnect_max_ms < self.reconnect_base_ms {
            bad(
                "reconnect_max_ms",
                "reconnect_base_ms must be >= 1 and <= reconnect_max_ms",
            );
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_unknown_keys() {
        let c: ExportConfig = toml::from_str("sensor_id = \"s1\"\ninsecure = true\n").expect("ok");
        assert_eq!(c.max_batch_records, 1000);
        assert!(c.validate().iter().all(|e| !e.contains("ca_cert")));
        assert!(toml::from_str::<ExportConfig>("bogus = 1").is_err());
    }

    #[test]
    fn validate_reports_every_problem() {
        let c = ExportConfig {
            zstd_level: 40,
            zstd_level_idle: -1,
            max_bytes: 10,
            ..ExportConfig::default()
        };
        let errs = c.validate();
        for f in [
            "sensor_id",
            "ca_cert",
            "client_key",
            "zstd_level",
            "zstd_level_idle",
            "max_bytes",
        ] {
            assert!(
                errs.iter().any(|e| e.contains(f)),
                "{f} missing in {errs:?}"
            );
        }
    }
}
