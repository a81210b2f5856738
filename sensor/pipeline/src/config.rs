//! The sensor's configuration file (TOML).
//!
//! Every section and key is optional; what is left out takes the default shown by
//! `tapwatch config default`. Unknown keys are refused, and a bad value is reported with its
//! line and column and what was expected, so an operator can fix it without guessing.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

mod bundles;
mod capture;
mod datasets;
mod detect;
mod service;

pub use bundles::{BundlesSection, Channel, TrustedKey};
pub use datasets::{
    DatasetDefaults, DatasetEntry, DatasetRules, DatasetTypeName, DatasetsSection,
    ReputationSection,
};
pub use detect::{
    expand_rule_path, parse_var_assignment, AlertSection, DetectLimitsSection, DetectSection,
    Percent, PrefilterName, RuleFileError, VarName,
};

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Packet decoding.
    pub decode: DecodeConfig,
    /// IP defragmentation.
    pub defrag: DefragSection,
    /// The flow table and TCP session tracking.
    pub flow: FlowSection,
    /// TCP stream reassembly.
    pub stream: StreamSection,
    /// Application-layer parsers.
    pub app: AppSection,
    /// EVE JSON output.
    pub eve: EveSection,
    /// Signature detection: rule files, variables, the compiled-rule cache, alert records.
    pub detect: DetectSection,
    /// Datasets of `dataset`/`datarep` rules: data directory, defaults, sets defined here.
    pub datasets: DatasetsSection,
    /// IP reputation files of `iprep` rules.
    pub reputation: ReputationSection,
    /// Export of alerts (and optionally flow records) to the national center.
    pub export: tapwatch_export::ExportConfig,
    /// Signed rule and IOC bundles from the national center: trusted keys, directories,
    /// channels, acceptance thresholds.
    pub bundles: BundlesSection,
    /// Worker threads and their CPUs.
    pub runtime: RuntimeSection,
    /// Live capture (`tapwatch run`): interfaces, capture mode, rings, filter and bypass.
    pub capture: CaptureSection,
    /// The sensor's own log (not EVE): level and form.
    pub logging: tapwatch_service::LoggingSection,
    /// The Prometheus metrics endpoint of `tapwatch run`.
    pub metrics: MetricsSection,
    /// The control socket of `tapwatch run` (`tapwatch ctl`).
    pub control: ControlSection,
}

/// `[runtime]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeSection {
    /// Packet-processing worker threads. Each flow (both directions, its fragments, the inner
    /// flows of a tunnel) is always processed by one worker. Unset: one per capture queue for
    /// live capture, 1 for replay. `--workers` overrides it.
    pub workers: Option<NonZeroUsize>,
    /// CPUs to pin the workers to, in order: worker `i` runs on `worker_cpus[i % len]`.
    /// Empty: no pinning (the kernel's scheduler places the threads).
    pub worker_cpus: Vec<usize>,
}

impl RuntimeSection {
    /// Refuses CPUs this process cannot run on; `available` lists those it can.
    pub fn check_cpus(&self, available: &[usize]) -> anyhow::Result<()> {
        for cpu in &self.worker_cpus {
            if !available.contains(cpu) {
                anyhow::bail!(
                    "[runtime] worker_cpus: CPU {cpu} is not available to tapwatch on this \
                     machine (available: {available:?}); list CPUs from that set, or leave \
                     worker_cpus empty for no pinning"
                );
            }
        }
        Ok(())
    }
}

pub use capture::{CaptureMode, CaptureSection, NetworkPrefix, Queues};
pub use service::{ControlSection, MetricsSection, DEFAULT_CONTROL_SOCKET, DEFAULT_METRICS_LISTEN};

/// `[decode]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DecodeConfig {
    /// Verify IPv4, TCP, UDP and ICMP checksums and count bad ones (`decoder.invalid_checksum`).
    /// Off by default: captures taken on the sending host often carry offloaded, unfilled checksums.
    pub checksum_validation: bool,
}

/// Overlap resolution policy, for fragments and TCP segments.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum OverlapPolicyName {
    /// Earlier data wins.
    First,
    /// Later data wins.
    Last,
    /// BSD: Suricata's default.
    #[default]
    Bsd,
    /// Linux.
    Linux,
    /// Windows.
    Windows,
    /// Solaris.
    Solaris,
}

/// `[defrag]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DefragSection {
    /// Bytes of fragments held at most; past this the oldest datagram is dropped (counted).
    pub memcap_bytes: NonZeroUsize,
    /// Datagrams being reassembled at most.
    pub max_trackers: NonZeroUsize,
    /// Seconds of packet time a datagram may take to complete.
    pub timeout_secs: u64,
    /// Which copy of overlapping fragment data wins.
    pub overlap_policy: OverlapPolicyName,
}

impl Default for DefragSection {
    fn default() -> Self {
        Self {
            memcap_bytes: nz(16 << 20),
            max_trackers: nz(65_535),
            timeout_secs: 60,
            overlap_policy: OverlapPolicyName::Bsd,
        }
    }
}

/// Timeouts of one protocol's flows, in seconds of packet time.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StateTimeoutsSection {
    /// Before the flow is established (TCP: handshake not complete; others: one side spoke).
    pub new_secs: u64,
    /// Once established.
    pub established_secs: u64,
    /// After a TCP close or reset.
    pub closed_secs: u64,
}

/// `[flow.timeouts]`: per protocol. Suricata 8's defaults.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutsSection {
    /// TCP flows.
    pub tcp: StateTimeoutsSection,
    /// UDP flows.
    pub udp: StateTimeoutsSection,
    /// ICMP flows.
    pub icmp: StateTimeoutsSection,
    /// Every other IP protocol.
    pub other: StateTimeoutsSection,
}

impl Default for TimeoutsSection {
    fn default() -> Self {
        let t = |new_secs, established_secs, closed_secs| StateTimeoutsSection {
            new_secs,
            established_secs,
            closed_secs,
        };
        Self {
            tcp: t(60, 600, 60),
            udp: t(30, 300, 0),
            icmp: t(30, 300, 0),
            other: t(30, 300, 0),
        }
    }
}

/// `[flow]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FlowSection {
    /// Flows tracked at most; when full, the longest-idle flow is ended (counted as evicted).
    pub max_flows: NonZeroUsize,
    /// Pick up TCP sessions whose handshake was not seen (as Suricata's `stream.midstream`).
    pub tcp_midstream: bool,
    /// Timeouts per protocol and state.
    pub timeouts: TimeoutsSection,
}

impl Default for FlowSection {
    fn default() -> Self {
        Self {
            max_flows: nz(65_536),
            tcp_midstream: false,
            timeouts: TimeoutsSection::default(),
        }
    }
}

/// `[stream]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StreamSection {
    /// Bytes reassembled per direction of a connection; 0 means no limit.
    pub depth_bytes: u64,
    /// Bytes of out-of-order segments held at most across all connections.
    pub memcap_bytes: NonZeroUsize,
    /// Out-of-order bytes held at most per direction of one connection.
    pub max_buffered_bytes_per_direction: NonZeroUsize,
    /// Out-of-order segments held at most per direction of one connection.
    pub max_segments_per_direction: NonZeroUsize,
    /// Which copy of overlapping segment data wins.
    pub overlap_policy: OverlapPolicyName,
}

impl Default for StreamSection {
    fn default() -> Self {
        Self {
            depth_bytes: 1 << 20,
            memcap_bytes: nz(64 << 20),
            max_buffered_bytes_per_direction: nz(256 << 10),
            max_segments_per_direction: nz(1024),
            overlap_policy: OverlapPolicyName::Bsd,
        }
    }
}

/// `[app]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AppSection {
    /// Bytes held per direction while a flow's protocol is being detected.
    pub detection_buffer_bytes: NonZeroUsize,
    /// `[app.http]`
    pub http: HttpSection,
    /// `[app.tls]`
    pub tls: TlsSection,
    /// `[app.mqtt]`
    pub mqtt: MqttSection,
}

impl Default for AppSection {
    fn default() -> Self {
        Self {
            detection_buffer_bytes: nz(4096),
            http: HttpSection::default(),
            tls: TlsSection::default(),
            mqtt: MqttSection::default(),
        }
    }
}

/// `[app.mqtt]`, as Suricata's `app-layer.protocols.mqtt`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MqttSection {
    /// Detect and parse MQTT (Suricata's `enabled`).
    pub enabled: bool,
    /// Server ports probed for MQTT first, where any well-formed MQTT packet identifies it
    /// (Suricata's `detection-ports`); elsewhere a client's CONNECT does.
    pub detection_ports: Vec<u16>,
    /// The longest packet body parsed; a longer packet is logged truncated and skipped
    /// (Suricata's `max-msg-length`).
    pub max_msg_length_bytes: NonZeroUsize,
    /// The most exchanges per flow left open waiting for their answer (Suricata's `max-tx`).
    pub max_transactions: NonZeroUsize,
}

impl Default for MqttSection {
    fn default() -> Self {
        Self {
            enabled: true,
            detection_ports: vec![1883],
            max_msg_length_bytes: nz(1 << 20),
            max_transactions: nz(4096),
        }
    }
}

/// `[app.tls]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSection {
    /// What detection does with a session's encrypted application data.
    pub encryption_handling: EncryptionHandling,
}

/// Suricata's `app-layer.protocols.tls.encryption-handling`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EncryptionHandling {
    /// Once application data follows both sides' ChangeCipherSpec, the flow's payload and
    /// stream are no longer inspected: rules with payload content do not match it; header,
    /// flow and `tls.*` rules still do (Suricata's default).
    #[default]
    Default,
    /// The encrypted payload is inspected like any other.
    Full,
}

/// `[app.http]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSection {
    /// Decoded request body bytes kept for inspection.
    pub request_body_limit_bytes: usize,
    /// Decoded response body bytes kept for inspection.
    pub response_body_limit_bytes: usize,
    /// Decompress gzip and deflate response bodies.
    pub decompress: bool,
    /// Most `Content-Encoding` layers undone per response (0: no limit), as Suricata's
    /// `response-body-decompress-layer-limit`.
    pub decompress_layer_limit: usize,
}

impl Default for HttpSection {
    fn default() -> Self {
        Self {
            request_body_limit_bytes: 100 << 10,
            response_body_limit_bytes: 100 << 10,
            decompress: true,
            decompress_layer_limit: 2,
        }
    }
}

/// Record types EVE can carry.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EveType {
    /// HTTP transactions.
    Http,
    /// DNS messages.
    Dns,
    /// mDNS messages (UDP port 5353), logged as `event_type: "mdns"` like Suricata 8.
    Mdns,
    /// TLS handshakes.
    Tls,
    /// SSH identification strings (`event_type: "ssh"`).
    Ssh,
    /// MQTT transactions (`event_type: "mqtt"`).
    Mqtt,
    /// Files carried by transactions (HTTP request and response bodies), one
    /// `event_type: "fileinfo"` record per file when it ends, as Suricata's `files` type.
    Files,
    /// Ended flows.
    Flow,
    /// Anomalies (see `anomaly_types`).
    Anomaly,
    /// One statistics record at the end of a replay.
    Stats,
}

/// Kinds of anomalies logged when `anomaly` is among the types.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AnomalyKind {
    /// Packet decoding events (`decoder.*`).
    Decode,
    /// TCP session and reassembly events (`stream.*`).
    Stream,
    /// Application-layer parser and detection events.
    Applayer,
}

/// `[eve]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EveSection {
    /// Record types written.
    pub types: Vec<EveType>,
    /// Anomaly kinds written; Suricata's default logs only application-layer anomalies.
    pub anomaly_types: Vec<AnomalyKind>,
    /// The EVE file (Suricata's `eve-log` `filename` in its `default-log-dir`); relative
    /// paths are resolved against the configuration file's directory. Unset: no EVE file
    /// unless `--eve` names one (`--eve` overrides it).
    pub path: Option<PathBuf>,
    /// Keep what the file holds and write at its end (`O_APPEND`, Suricata's `append: yes`);
    /// `false` empties it once at start (never on a reopen or a rotation).
    pub append: bool,
    /// Permission bits of the file when tapwatch creates it, in octal (the umask applies).
    pub file_mode: FileMode,
    /// Rotate the file before it would grow past this many bytes; 0: not by size.
    pub rotate_size_bytes: u64,
    /// Rotate the file at every multiple of this many seconds since the Unix epoch (3600:
    /// every full hour, 86400: at midnight UTC); 0: not by time.
    pub rotate_interval_secs: u64,
    /// Rotated files kept; the oldest beyond are deleted. 0: keep all.
    pub max_files: usize,
    /// Bytes of records each worker gathers before handing them to the EVE writer thread
    /// in one chunk (as Suricata's `buffer-size`); a worker also hands over what it has
    /// about once a second of packet time. The file changes (rotation, reopening) only
    /// between chunks.
    pub buffer_bytes: NonZeroUsize,
    /// Strings of `mqtt` records (topics, messages, ...) longer than this many bytes are cut
    /// and marked `[truncated N additional bytes]` (Suricata's `mqtt` `string-log-limit`).
    pub mqtt_string_log_limit_bytes: usize,
    /// `[eve.files]`: what `fileinfo` records carry.
    pub files: EveFilesSection,
}

/// A file hash EVE can carry.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HashName {
    /// MD5 (`md5`).
    Md5,
    /// SHA-1 (`sha1`).
    Sha1,
    /// SHA-256 (`sha256`).
    Sha256,
}

/// `[eve.files]`, as Suricata's `outputs.eve-log.types.files`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct EveFilesSection {
    /// Hashes computed for every file and written in its `fileinfo` record (Suricata's
    /// `force-hash`). Without them a file is hashed only when a rule needs the hash
    /// (`filemd5`, `filesha1`, `filesha256`), and the hashes computed are written.
    pub force_hash: Vec<HashName>,
}

impl EveFilesSection {
    /// The hashes `force_hash` names.
    pub fn hashes(&self) -> tapwatch_http::FileHashes {
        let has = |h| self.force_hash.contains(&h);
        tapwatch_http::FileHashes {
            md5: has(HashName::Md5),
            sha1: has(HashName::Sha1),
            sha256: has(HashName::Sha256),
        }
    }
}

/// Permission bits of a file, written in octal as a string: `"0640"`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String")]
pub struct FileMode(u32);

impl FileMode {
    /// The bits (at most `0o777`).
    pub fn bits(self) -> u32 {
        self.0
    }
}

impl TryFrom<String> for FileMode {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let bad = || {
            format!(
                "invalid file mode \"{text}\": expected permission bits in octal, at most \"0777\", \
                 such as \"0640\""
            )
        };
        let digits = text.strip_prefix("0o").unwrap_or(&text);
        if digits.is_empty()
            || digits.len() > 4
            || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
        {
            return Err(bad());
        }
        match u32::from_str_radix(digits, 8) {
            Ok(bits) if bits <= 0o777 => Ok(Self(bits)),
            _ => Err(bad()),
        }
    }
}

impl Default for EveSection {
    fn default() -> Self {
        Self {
            types: vec![
                EveType::Http,
                EveType::Dns,
                EveType::Mdns,
                EveType::Tls,
                EveType::Ssh,
                EveType::Mqtt,
                EveType::Files,
                EveType::Flow,
                EveType::Anomaly,
                EveType::Stats,
            ],
            anomaly_types: vec![AnomalyKind::Applayer],
            path: None,
            append: true,
            file_mode: FileMode(0o640),
            rotate_size_bytes: 0,
            rotate_interval_secs: 0,
            max_files: 10,
            buffer_bytes: nz(1 << 20),
            mqtt_string_log_limit_bytes: tapwatch_mqtt::DEFAULT_STRING_LOG_LIMIT,
            files: EveFilesSection::default(),
        }
    }
}

impl EveSection {
    /// Whether records of `t` are written.
    pub fn wants(&self, t: EveType) -> bool {
        self.types.contains(&t)
    }

    /// The EVE file: `[eve] path` resolved against `config_dir` (the configuration file's
    /// directory) when relative.
    pub fn resolved_path(&self, config_dir: Option<&Path>) -> Option<PathBuf> {
        let path = self.path.as_deref()?;
        Some(match config_dir {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_path_buf(),
        })
    }

    /// Whether anomalies of `k` are written.
    pub fn wants_anomaly(&self, k: AnomalyKind) -> bool {
        self.wants(EveType::Anomaly) && self.anomaly_types.contains(&k)
    }
}

fn nz(v: usize) -> NonZeroUsize {
    NonZeroUsize::new(v).unwrap_or(NonZeroUsize::MIN)
}

impl Config {
    /// Parses a configuration from TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> anyhow::Result<Self> {
        toml::from_str(text).map_err(|e| anyhow::anyhow!("{origin}: invalid configuration\n{e}"))
    }

    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read configuration file {}", path.display()))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The default configuration, commented key by key, for `tapwatch config default`.
    /// A test keeps it equal to `Config::default()`.
    pub fn default_toml() -> &'static str {
        include_str!("../tapwatch.example.toml")
    }
}

/// The flow table settings of `config`.
pub fn flow_config(config: &Config) -> tapwatch_flow::FlowConfig {
    let t = |s: &StateTimeoutsSection| tapwatch_flow::StateTimeouts {
        new: Duration::from_secs(s.new_secs),
        established: Duration::from_secs(s.established_secs),
        closed: Duration::from_secs(s.closed_secs),
    };
    let timeouts = &config.flow.timeouts;
    tapwatch_flow::FlowConfig {
        max_flows: config.flow.max_flows.get(),
        timeouts: tapwatch_flow::FlowTimeouts {
            tcp: t(&timeouts.tcp),
            udp: t(&timeouts.udp),
            icmp: t(&timeouts.icmp),
            other: t(&timeouts.other),
        },
        tcp_midstream: config.flow.tcp_midstream,
        ..tapwatch_flow::FlowConfig::default()
    }
}

/// The defragmenter settings of `config`.
pub fn defrag_config(config: &Config) -> tapwatch_defrag::DefragConfig {
    use tapwatch_defrag::OverlapPolicy as P;
    let d = &config.defrag;
    tapwatch_defrag::DefragConfig {
        memcap_bytes: d.memcap_bytes.get(),
        max_trackers: d.max_trackers.get(),
        timeout: Duration::from_secs(d.timeout_secs),
        policy: match d.overlap_policy {
            OverlapPolicyName::First => P::First,
            OverlapPolicyName::Last => P::Last,
            OverlapPolicyName::Bsd => P::Bsd,
            OverlapPolicyName::Linux => P::Linux,
            OverlapPolicyName::Windows => P::Windows,
            OverlapPolicyName::Solaris => P::Solaris,
        },
        ..tapwatch_defrag::DefragConfig::default()
    }
}

/// The stream reassembly settings of `config`.
pub fn stream_config(config: &Config) -> tapwatch_stream::StreamConfig {
    use tapwatch_stream::OverlapPolicy as P;
    let s = &config.stream;
    tapwatch_stream::StreamConfig {
        depth: s.depth_bytes,
        memcap: s.memcap_bytes.get(),
        max_buffered_per_direction: s.max_buffered_bytes_per_direction.get(),
        max_segments_per_direction: s.max_segments_per_direction.get(),
        overlap_policy: match s.overlap_policy {
            OverlapPolicyName::First => P::First,
            OverlapPolicyName::Last => P::Last,
            OverlapPolicyName::Bsd => P::Bsd,
            OverlapPolicyName::Linux => P::Linux,
            OverlapPolicyName::Windows => P::Windows,
            OverlapPolicyName::Solaris => P::Solaris,
        },
        ..tapwatch_stream::StreamConfig::default()
    }
}

/// The application-layer settings of `config`.
pub fn app_config(config: &Config) -> tapwatch_app::AppConfig {
    let h = &config.app.http;
    tapwatch_app::AppConfig {
        detection_buffer_bytes: config.app.detection_buffer_bytes.get(),
        http: tapwatch_http::HttpConfig {
            request_body_limit: h.request_body_limit_bytes,
            response_body_limit: h.response_body_limit_bytes,
            decompress: h.decompress,
            decompress_layer_limit: h.decompress_layer_limit,
            file_hashes: config.eve.files.hashes(),
            ..tapwatch_http::HttpConfig::default()
        },
        mqtt: tapwatch_app::MqttSettings {
            enabled: config.app.mqtt.enabled,
            detection_ports: config.app.mqtt.detection_ports.clone(),
            parser: tapwatch_app::MqttConfig {
                max_msg_len: config.app.mqtt.max_msg_length_bytes.get(),
                max_tx: config.app.mqtt.max_transactions.get(),
            },
        },
        ..tapwatch_app::AppConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_the_default() {
        assert_eq!(Config::parse("", "t").unwrap(), Config::default());
    }

    #[test]
    fn default_toml_parses_back_to_default() {
        assert_eq!(
            Config::parse(Config::default_toml(), "t").unwrap(),
            Config::default()
        );
    }

    #[test]
    fn unknown_key_is_refused_with_its_line() {
        let err =
            Config::parse("[flow]\nmax_flows = 10\nmax_flow = 3\n", "sensor.toml").unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("sensor.toml"), "{msg}");
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("unknown field `max_flow`"), "{msg}");
        assert!(
            msg.contains("max_flows"),
            "the message lists the valid keys: {msg}"
        );
    }

    #[test]
    fn zero_size_is_refused() {
        let err = Config::parse("[flow]\nmax_flows = 0\n", "t").unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("line 2"), "{msg}");
        assert!(msg.contains("nonzero"), "{msg}");
    }

    #[test]
    fn eve_file_keys_are_read_and_bad_modes_refused() {
        let c = Config::parse(
            "[eve]\npath = \"logs/eve.json\"\nappend = false\nfile_mode = \"0600\"\n\
             rotate_size_bytes = 1000000\nrotate_interval_secs = 3600\nmax_files = 3\nbuffer_bytes = 4096\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.eve.file_mode.bits(), 0o600);
        assert!(!c.eve.append);
        assert_eq!(
            (
                c.eve.rotate_size_bytes,
                c.eve.rotate_interval_secs,
                c.eve.max_files
            ),
            (1_000_000, 3600, 3)
        );
        assert_eq!(c.eve.buffer_bytes.get(), 4096);
        assert_eq!(
            c.eve.resolved_path(Some(Path::new("/etc/tapwatch"))),
            Some(PathBuf::from("/etc/tapwatch/logs/eve.json"))
        );
        let absolute =
            Config::parse("[eve]\npath = \"/var/log/tapwatch/eve.json\"\n", "t").unwrap();
        assert_eq!(
            absolute.eve.resolved_path(Some(Path::new("/etc/tapwatch"))),
            Some(PathBuf::from("/var/log/tapwatch/eve.json"))
        );
        assert_eq!(
            Config::default().eve.resolved_path(Some(Path::new("/x"))),
            None
        );
        for bad in ["\"640a\"", "\"1777\"", "\"\"", "\"08\"", "640"] {
            let err = Config::parse(&format!("[eve]\n\nfile_mode = {bad}\n"), "t").unwrap_err();
            let msg = format!("{err:#}");
            assert!(msg.contains("line 3"), "{bad}: {msg}");
            if bad.starts_with('"') {
                assert!(msg.contains("such as \"0640\""), "{bad}: {msg}");
            }
        }
    }

    #[test]
    fn values_are_read() {
        let c = Config::parse(
            "[flow]\ntcp_midstream = true\n[flow.timeouts.tcp]\nnew_secs = 1\nestablished_secs = 2\nclosed_secs = 3\n\
             [eve]\ntypes = [\"alert\"]\n",
            "t",
        );
        // Alerts are written whenever rules are loaded; "alert" is not a type to select here:
        // refused, naming the valid ones.
        let msg = format!("{:#}", c.unwrap_err());
        assert!(msg.contains("unknown variant `alert`"), "{msg}");
        let c = Config::parse(
            "[flow]\ntcp_midstream = true\n[flow.timeouts.tcp]\nnew_secs = 1\nestablished_secs = 2\nclosed_secs = 3\n",
            "t",
        )
        .unwrap();
        assert!(c.flow.tcp_midstream);
        assert_eq!(c.flow.timeouts.tcp.closed_secs, 3);
        assert_eq!(c.flow.timeouts.udp.new_secs, 30);
    }
}
