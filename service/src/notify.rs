//! systemd's notification protocol (sd_notify(3)), implemented over a Unix datagram socket:
//! no libsystemd.
//!
//! A service started with `Type=notify` finds the socket's address in `NOTIFY_SOCKET` (a
//! path, or an abstract-namespace name written with a leading `@`) and sends newline-separated
//! `KEY=VALUE` assignments, one datagram per message. Outside systemd the variable is unset
//! and every call here does nothing, so the callers need no `if`.
//!
//! The messages tapwatch sends:
//!
//! | call | message | when |
//! |---|---|---|
//! | [`Notifier::ready`] | `READY=1` | every capture queue captures (and after a reload) |
//! | [`Notifier::status`] | `STATUS=…` | a line for `systemctl status` |
//! | [`Notifier::reloading`] | `RELOADING=1`, `MONOTONIC_USEC=…` | a reload begins; `ready` ends it |
//! | [`Notifier::stopping`] | `STOPPING=1` | shutdown begins |
//! | [`Notifier::watchdog`] | `WATCHDOG=1` | every half [`watchdog_interval`], only while every worker makes progress |

use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Why the notification socket could not be used.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// `NOTIFY_SOCKET` holds neither an absolute path nor an `@name`.
    #[error("NOTIFY_SOCKET={0:?}: expected an absolute path or @abstract-name")]
    BadAddress(String),
    /// Creating or addressing the socket failed.
    #[error("NOTIFY_SOCKET={addr:?}: {source}")]
    Socket {
        /// The address.
        addr: String,
        /// The failure.
        source: std::io::Error,
    },
}

/// Where notifications go; a no-op when the process was not started by systemd with a
/// notification socket. `Sync`: one is shared (`Arc`) by the threads that report readiness,
/// reloads and the watchdog.
#[derive(Debug)]
pub struct Notifier {
    target: Option<Target>,
    /// A failed send is logged once, not at every watchdog ping.
    failed: AtomicBool,
}

#[derive(Debug)]
struct Target {
    socket: UnixDatagram,
    addr: std::os::unix::net::SocketAddr,
    shown: String,
}

impl Notifier {
    /// The notifier `NOTIFY_SOCKET` names, or a no-op one when it is unset or empty.
    pub fn from_env() -> Result<Self, NotifyError> {
        match std::env::var("NOTIFY_SOCKET") {
            Ok(a) if !a.is_empty() => Self::to_address(&a),
            _ => Ok(Self::disabled()),
        }
    }

    /// A notifier that sends nothing.
    pub fn disabled() -> Self {
        Self {
            target: None,
            failed: AtomicBool::new(false),
        }
    }

    /// A notifier sending to `address`: an absolute path, or `@name` in the abstract
    /// namespace.
    pub fn to_address(address: &str) -> Result<Self, NotifyError> {
        let sock_err = |source| NotifyError::Socket {
            addr: address.to_owned(),
            source,
        };
        let addr = if let Some(name) = address.strip_prefix('@') {
            use std::os::linux::net::SocketAddrExt as _;
            std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).map_err(sock_err)?
        } else if address.starts_with('/') {
            std::os::unix::net::SocketAddr::from_pathname(address).map_err(sock_err)?
        } else {
            return Err(NotifyError::BadAddress(address.to_owned()));
        };
        let socket = UnixDatagram::unbound().map_err(sock_err)?;
        Ok(Self {
            target: Some(Target {
                socket,
                addr,
                shown: address.to_owned(),
            }),
            failed: AtomicBool::new(false),
        })
    }

    /// Whether notifications go anywhere.
    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Sends `state` (newline-separated assignments) as one datagram. A failure is logged
    /// (the first only) and otherwise ignored: systemd acts on missing notifications itself.
    pub fn send(&self, state: &str) {
        let Some(t) = &self.target else {
            return;
        };
        if let Err(e) = t.socket.send_to_addr(state.as_bytes(), &t.addr) {
            if !self.failed.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "cannot notify systemd through {}: {e} (further failures not shown)",
                    t.shown
                );
            }
        }
    }

    /// `READY=1`: start-up (or a reload) is complete.
    pub fn ready(&self) {
        self.send("READY=1");
    }

    /// `STATUS=text` (one line: newlines become spaces).
    pub fn status(&self, text: &str) {
        if self.enabled() {
            self.send(&format!("STATUS={}", text.replace('\n', " ")));
        }
    }

    /// `STOPPING=1`: shutdown has begun.
    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }

    /// `RELOADING=1` with `MONOTONIC_USEC` (the time the reload began, `CLOCK_MONOTONIC`), as
    /// `Type=notify-reload` wants; send [`Notifier::ready`] when the reload is over, whether
    /// it succeeded or kept the running configuration.
    pub fn reloading(&self) {
        if self.enabled() {
            self.send(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
        }
    }

    /// `WATCHDOG=1`: the service is alive. Call only when it really is.
    pub fn watchdog(&self) {
        self.send("WATCHDOG=1");
    }
}

/// Microseconds of `CLOCK_MONOTONIC`, the clock systemd compares `MONOTONIC_USEC` with.
pub fn monotonic_usec() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (t.tv_sec.max(0) as u64) * 1_000_000 + (t.tv_nsec.max(0) as u64) / 1_000
}

/// How often systemd wants `WATCHDOG=1` at the latest (`WATCHDOG_USEC`), when it wants it
/// from this process (`WATCHDOG_PID` unset or ours). Ping at half this interval.
pub fn watchdog_interval() -> Option<Duration> {
    let usec = std::env::var("WATCHDOG_USEC").ok();
    let pid = std::env::var("WATCHDOG_PID").ok();
    watchdog_from(usec.as_deref(), pid.as_deref(), std::process::id())
}

fn watchdog_from(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    match pid.map(|p| p.trim().parse::<u32>()) {
        None => {}
        Some(Ok(p)) if p == me => {}
        Some(_) => return None,
    }
    Some(Duration::from_micros(usec))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receiver() -> (tempfile::TempDir, UnixDatagram, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let rx = UnixDatagram::bind(&path).unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        (dir, rx, path.to_str().unwrap().to_owned())
    }

    fn recv(rx: &UnixDatagram) -> String {
        let mut buf = [0u8; 512];
        let n = rx.recv(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn messages_reach_a_path_socket() {
        let (_dir, rx, path) = receiver();
        let n = Notifier::to_address(&path).unwrap();
        assert!(n.enabled());
        n.ready();
        assert_eq!(recv(&rx), "READY=1");
        n.status("capturing\non eth1");
        assert_eq!(recv(&rx), "STATUS=capturing on eth1");
        n.watchdog();
        assert_eq!(recv(&rx), "WATCHDOG=1");
        let before = monotonic_usec();
        n.reloading();
        let msg = recv(&rx);
        let mut lines = msg.lines();
        assert_eq!(lines.next(), Some("RELOADING=1"));
        let usec: u64 = lines
            .next()
            .and_then(|l| l.strip_prefix("MONOTONIC_USEC="))
            .unwrap()
            .parse()
            .unwrap();
        assert!(usec >= before && usec <= monotonic_usec(), "{usec}");
        n.stopping();
        assert_eq!(recv(&rx), "STOPPING=1");
    }

    #[test]
    fn messages_reach_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt as _;
        let name = format!("tapwatch-notify-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let rx = UnixDatagram::bind_addr(&addr).unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let n = Notifier::to_address(&format!("@{name}")).unwrap();
        n.ready();
        assert_eq!(recv(&rx), "READY=1");
    }

    #[test]
    fn bad_or_absent_address() {
        assert!(matches!(
            Notifier::to_address("relative/path"),
            Err(NotifyError::BadAddress(_))
        ));
        let n = Notifier::disabled();
        assert!(!n.enabled());
        n.ready(); // nothing to send to: no error, no panic
                   // A socket nobody listens on: the send fails, is logged once, and is harmless.
        let dir = tempfile::tempdir().unwrap();
        let gone = Notifier::to_address(dir.path().join("none").to_str().unwrap()).unwrap();
        gone.watchdog();
        gone.watchdog();
        assert!(gone.failed.load(Ordering::Relaxed));
    }

    #[test]
    fn watchdog_interval_follows_systemd_variables() {
        let s = Duration::from_secs;
        assert_eq!(watchdog_from(Some("30000000"), None, 7), Some(s(30)));
        assert_eq!(watchdog_from(Some("30000000"), Some("7"), 7), Some(s(30)));
        // Meant for another process (a parent that forked us), or nonsense: no watchdog.
        assert_eq!(watchdog_from(Some("30000000"), Some("8"), 7), None);
        assert_eq!(watchdog_from(Some("30000000"), Some("x"), 7), None);
        assert_eq!(watchdog_from(Some("0"), None, 7), None);
        assert_eq!(watchdog_from(Some("soon"), None, 7), None);
        assert_eq!(watchdog_from(None, Some("7"), 7), None);
    }
}
