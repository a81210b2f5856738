//! `tapwatch` as a systemd service: `tapwatch check`'s verdicts and exit statuses, and the
//! notification protocol of `tapwatch run` on a notification socket this test listens on
//! (READY=1 once capture runs, WATCHDOG=1 while every worker moves and no more once one is
//! made to hang, STOPPING=1 on SIGTERM).
//!
//! The `run` tests need CAP_NET_RAW (root in CI) and skip otherwise: they capture on the
//! loopback interface with the AF_PACKET socket (`--capture socket`), which only reads
//! copies of its packets (no XDP program is attached to `lo`).

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn tapwatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .args(args)
        .output()
        .expect("run tapwatch")
}

fn root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[test]
fn check_passes_a_sound_configuration_and_lists_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/bundled/*.rules");
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        format!(
            "[capture]\ninterfaces = [\"lo\"]\n[detect]\nrule_files = [{:?}]\ncache = false\n",
            rules.display().to_string()
        ),
    )
    .unwrap();
    let eve = dir.path().join("log/eve.json");
    let out = tapwatch(&[
        "check",
        "--config",
        good.to_str().unwrap(),
        "--eve",
        eve.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("rules loaded, 0 rejected"), "{text}");
    assert!(text.contains("configuration OK"), "{text}");
    assert!(!eve.parent().unwrap().exists(), "the check creates nothing");

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[capture]\ninterfaces = [\"lo\", \"lo\"]\n[runtime]\nworker_cpus = [4096]\n\
         [export]\nenabled = true\nsensor_id = \"s\"\nspool_dir = \"/proc/tapwatch/spool\"\n\
         insecure = true\n",
    )
    .unwrap();
    let out = tapwatch(&["check", "--config", bad.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("\"lo\" is listed 2 times"), "{text}");
    assert!(text.contains("CPU 4096"), "{text}");
    assert!(text.contains("spool_dir /proc/tapwatch/spool"), "{text}");
    assert!(text.contains("3 problem(s)"), "{text}");

    // An unknown key: refused with its line, exit 1.
    std::fs::write(&bad, "[capture]\ninterface = [\"lo\"]\n").unwrap();
    let out = tapwatch(&["check", "--config", bad.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("line 2") && text.contains("unknown field"),
        "{text}"
    );

    // Before a reload: what a reload applies, and what needs a restart.
    std::fs::write(
        &bad,
        "[capture]\ninterfaces = [\"lo\"]\nmode = \"socket\"\n",
    )
    .unwrap();
    let out = tapwatch(&[
        "check",
        "--config",
        bad.to_str().unwrap(),
        "--running",
        good.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("needs restart: [capture] mode changed"),
        "{text}"
    );
    assert!(
        text.contains("reload applies: [detect] rule_files changed"),
        "{text}"
    );
}

/// A configuration without the metrics endpoint and the control socket (tested elsewhere):
/// runs in parallel then share no port or socket path, and an unprivileged run needs no
/// `/run/tapwatch`.
fn without_endpoints(dir: &std::path::Path) -> String {
    let path = dir.join("tapwatch.toml");
    std::fs::write(
        &path,
        "[metrics]\nenabled = false\n[control]\nenabled = false\n",
    )
    .unwrap();
    path.display().to_string()
}

/// `tapwatch run -i lo --capture socket` with a notification socket and a watchdog.
struct Service {
    child: Child,
    socket: UnixDatagram,
    _dir: tempfile::TempDir,
}

impl Service {
    fn start(watchdog: Duration, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let socket = UnixDatagram::bind(&path).unwrap();
        let config = without_endpoints(dir.path());
        let child = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
            .args(["run", "-i", "lo", "--capture", "socket", "--summary-json"])
            .args(["--config", &config])
            .args(extra)
            .env("NOTIFY_SOCKET", &path)
            .env("WATCHDOG_USEC", watchdog.as_micros().to_string())
            .env_remove("WATCHDOG_PID")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Self {
            child,
            socket,
            _dir: dir,
        }
    }

    /// The messages received within `within`.
    fn messages(&self, within: Duration) -> Vec<String> {
        let end = Instant::now() + within;
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            self.socket
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            match self.socket.recv(&mut buf) {
                Ok(n) => got.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
                Err(_) => break,
            }
        }
        got
    }

    /// Waits for READY=1; the messages before it.
    fn ready(&self) -> Vec<String> {
        let end = Instant::now() + Duration::from_secs(60);
        let mut got = Vec::new();
        while Instant::now() < end && !got.iter().any(|m| m == "READY=1") {
            got.extend(self.messages(Duration::from_millis(200)));
        }
        assert!(got.iter().any(|m| m == "READY=1"), "no READY=1: {got:?}");
        got
    }

    /// SIGTERM, then its output once it ended.
    fn terminate(self) -> Output {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        self.child.wait_with_output().unwrap()
    }

    fn stderr(mut self) -> String {
        let _ = self.child.kill();
        let out = self.child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

#[test]
fn run_notifies_ready_pings_the_watchdog_and_says_stopping() {
    if !root() {
        eprintln!("SKIP: needs root (CAP_NET_RAW) to capture on lo");
        return;
    }
    let s = Service::start(Duration::from_millis(400), &[]);
    let first = s.ready();
    assert!(
        first.iter().any(|m| m.starts_with("STATUS=")),
        "a status before READY: {first:?}"
    );
    let later = s.messages(Duration::from_millis(1500));
    let pings = later.iter().filter(|m| *m == "WATCHDOG=1").count();
    assert!(pings >= 4, "a ping every 200 ms: {later:?}");
    let pid = s.child.id().to_string();
    // A reload (refused here: no rule file) is framed by RELOADING=1 and READY=1.
    assert!(Command::new("kill")
        .args(["-USR2", &pid])
        .status()
        .unwrap()
        .success());
    let end = Instant::now() + Duration::from_secs(20);
    let mut reload = Vec::new();
    while Instant::now() < end && !reload.iter().any(|m| m == "READY=1") {
        reload.extend(
            s.messages(Duration::from_millis(100))
                .into_iter()
                .filter(|m| m != "WATCHDOG=1"),
        );
    }
    assert!(
        reload
            .first()
            .is_some_and(|m| m.starts_with("RELOADING=1\nMONOTONIC_USEC=")),
        "{reload:?}"
    );
    assert!(reload.iter().any(|m| m == "READY=1"), "{reload:?}");
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let end = Instant::now() + Duration::from_secs(20);
    let mut last = Vec::new();
    while Instant::now() < end && !last.iter().any(|m| m == "STOPPING=1") {
        last.extend(s.messages(Duration::from_millis(100)));
    }
    assert!(last.iter().any(|m| m == "STOPPING=1"), "{last:?}");
    let mut s = s;
    let status = s.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn a_stuck_worker_stops_the_watchdog_pings() {
    if !root() {
        eprintln!("SKIP: needs root (CAP_NET_RAW) to capture on lo");
        return;
    }
    let s = Service::start(
        Duration::from_millis(400),
        &["--test-hang-worker-after-secs", "1"],
    );
    s.ready();
    let before = s.messages(Duration::from_millis(900));
    assert!(
        before.iter().filter(|m| *m == "WATCHDOG=1").count() >= 2,
        "pings while the worker works: {before:?}"
    );
    // The worker hangs at 1 s; within one more period the pings stop for good.
    std::thread::sleep(Duration::from_millis(800));
    let _ = s.messages(Duration::from_millis(10));
    let after = s.messages(Duration::from_millis(1500));
    assert!(
        !after.iter().any(|m| m == "WATCHDOG=1"),
        "no ping once a worker is stuck: {after:?}"
    );
    let stderr = s.stderr();
    assert!(
        stderr.contains("worker 0 (thread tapwatch-w0) made no progress"),
        "{stderr}"
    );
}

/// The capabilities `tapwatch.service` grants, in setpriv's notation: exactly these.
const SERVICE_CAPS: &str = "-all,+bpf,+perfmon,+net_admin,+net_raw,+ipc_lock";

#[test]
fn an_unprivileged_user_with_the_units_five_capabilities_captures_with_xdp() {
    use tapwatch_testkit::netns::{self, VethPair};
    if netns::skip_unless_privileged("service capabilities", &["ip", "setpriv"]) {
        return;
    }
    let pair = VethPair::new("twsvc", ("twsvc0", "twsvc1"), 1, None).expect("veth pair");
    // A notification socket the unprivileged process may write to.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&path).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    let config = without_endpoints(dir.path());
    let child = Command::new("ip")
        .args(["netns", "exec", &pair.a, "setpriv"])
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(format!("--inh-caps={SERVICE_CAPS}"))
        .arg(format!("--ambient-caps={SERVICE_CAPS}"))
        .arg(format!("--bounding-set={SERVICE_CAPS}"))
        .args(["--", env!("CARGO_BIN_EXE_tapwatch"), "run", "-i", "twsvc0"])
        .args([
            "--capture",
            "xdp-drv",
            "--summary-json",
            "--config",
            &config,
        ])
        .env("NOTIFY_SOCKET", &path)
        .env("WATCHDOG_USEC", "400000")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let s = Service {
        child,
        socket,
        _dir: dir,
    };
    s.ready();
    let pings = s.messages(Duration::from_millis(1000));
    assert!(
        pings.iter().filter(|m| *m == "WATCHDOG=1").count() >= 3,
        "{pings:?}"
    );
    // `ip netns exec` and setpriv exec tapwatch: the child is tapwatch itself.
    let out = s.terminate();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}\n{stderr}", out.status);
    let summary: serde_json::Value =
        serde_json::from_str(stderr.lines().last().expect("summary")).expect("JSON summary");
    assert_eq!(
        summary["capture"]["interfaces"][0]["mode"], "xdp-driver-copy",
        "XDP in driver mode as an unprivileged user: {stderr}"
    );
}
