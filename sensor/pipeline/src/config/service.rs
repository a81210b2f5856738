//! `[metrics]` and `[control]`: how `tapwatch run` is observed and controlled.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::FileMode;

/// The metrics endpoint's default address: loopback only, port 9917 (from the range
/// Prometheus exporters take their default ports in; not taken by a common exporter).
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9917";
/// The control socket's default path (systemd's `RuntimeDirectory=tapwatch`).
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/tapwatch/tapwatch.sock";

/// `[metrics]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSection {
    /// Serve Prometheus metrics at `http://LISTEN/metrics` while `tapwatch run` runs.
    pub enabled: bool,
    /// Address and port to listen on. Loopback by default: the endpoint has no
    /// authentication; expose it through a reverse proxy or a firewall rule.
    pub listen: SocketAddr,
}

impl Default for MetricsSection {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: DEFAULT_METRICS_LISTEN
                .parse()
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 9917))),
        }
    }
}

/// `[control]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ControlSection {
    /// Serve the control socket (`tapwatch ctl`) while `tapwatch run` runs.
    pub enabled: bool,
    /// The socket file. A relative path is relative to the configuration file's directory
    /// (the working directory without one). Its directory is created when missing.
    pub socket: PathBuf,
    /// Permission bits of the socket file, in octal: who may connect (connecting is all
    /// it takes to run any command, `shutdown` included).
    pub mode: FileMode,
    /// Group of the socket file, by name or number; unset: tapwatch's own group.
    pub group: Option<String>,
}

impl Default for ControlSection {
    fn default() -> Self {
        Self {
            enabled: true,
            socket: PathBuf::from(DEFAULT_CONTROL_SOCKET),
            mode: FileMode(0o660),
            group: None,
        }
    }
}

impl ControlSection {
    /// The socket's path, a relative one taken from `config_dir` (the configuration file's
    /// directory).
    pub fn socket_path(&self, config_dir: Option<&Path>) -> PathBuf {
        match config_dir {
            Some(dir) if self.socket.is_relative() => dir.join(&self.socket),
            _ => self.socket.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn sections_are_read_and_checked() {
        let c = Config::parse(
            "[metrics]\nlisten = \"[::1]:9100\"\n[control]\nsocket = \"tw.sock\"\nmode = \"0600\"\ngroup = \"adm\"\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.metrics.listen, "[::1]:9100".parse().unwrap());
        assert!(c.metrics.enabled);
        assert_eq!(c.control.mode, FileMode(0o600));
        assert_eq!(c.control.group.as_deref(), Some("adm"));
        assert_eq!(
            c.control.socket_path(Some(Path::new("/etc/tapwatch"))),
            PathBuf::from("/etc/tapwatch/tw.sock")
        );
        assert_eq!(
            Config::default()
                .control
                .socket_path(Some(Path::new("/etc"))),
            PathBuf::from(DEFAULT_CONTROL_SOCKET)
        );
        let msg = format!(
            "{:#}",
            Config::parse("[control]\nmode = \"0999\"\n", "t").unwrap_err()
        );
        assert!(msg.contains("line 2") && msg.contains("octal"), "{msg}");
        let msg = format!(
            "{:#}",
            Config::parse("[metrics]\nlisten = \"localhost\"\n", "t").unwrap_err()
        );
        assert!(msg.contains("line 2"), "{msg}");
        let msg = format!(
            "{:#}",
            Config::parse("[control]\nsocket_path = \"x\"\n", "t").unwrap_err()
        );
        assert!(msg.contains("unknown field"), "{msg}");
    }
}
