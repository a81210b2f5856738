//! Application-layer protocol detection and dispatch.
//!
//! Each flow gets an [`AppFlow`]. Until its protocol is known, the first bytes of each
//! direction are kept (bounded by [`AppConfig::detection_buffer_bytes`]) and shown to the
//! protocol probes; the port only decides which probe is asked first, so HTTP on port 8081 or
//! TLS on port 80 are still recognised. Once a probe matches, the matching parser is created
//! and fed everything seen so far, then every later byte. What the parsers produce comes out
//! as [`AppOutput`] values for the caller to log and inspect.
//!
//! Parsed: HTTP, TLS, DNS/mDNS, SSH (banners, up to `NEWKEYS`), SMB (shares, named pipes,
//! file names and file data) and MQTT (every packet, Suricata's transactions). Detected only, so that rules naming them apply: FTP, SMTP and
//! DCERPC over TCP.
#![forbid(unsafe_code)]

mod detect;
mod flow;
mod probes;

pub use detect::{AppProto, DetectOutcome};
pub use flow::{AppConfig, AppFlow, AppOutput, MqttSettings, Transport};
pub use tapwatch_mqtt::{MqttConfig, MqttEve, MqttTransaction};
pub use tapwatch_smb::{SmbEvent, SmbEventKind, FILE_DATA_LIMIT};
pub use tapwatch_ssh::SshInfo;
