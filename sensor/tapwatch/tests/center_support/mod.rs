//! Running the real `tapwatch` and `tapwatch-center` binaries together: a CA made by the
//! center's own commands, a center on loopback (SQLite or PostgreSQL), sensor configurations,
//! and the alerts read back from both sides.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The sensor binary.
pub fn sensor_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tapwatch"))
}

/// The center binary, next to the sensor's (`cargo test --workspace` builds every binary
/// first). Panics with instructions when it is missing: a silent skip would hide the test.
pub fn center_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("TAPWATCH_CENTER_BIN") {
        return PathBuf::from(p);
    }
    let p = sensor_bin().with_file_name("tapwatch-center");
    assert!(
        p.exists(),
        "tapwatch-center not found at {}: build it first (`cargo build -p tapwatch-center`, or \
         run `cargo test --workspace`), or set TAPWATCH_CENTER_BIN",
        p.display()
    );
    p
}

/// The team's corpus, when present.
pub fn shared_dir() -> Option<PathBuf> {
    let p = std::env::var_os("TAPWATCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    p.join("corpus").is_dir().then_some(p)
}

// Not every test file uses all three.
#[allow(unused_imports)]
pub use tapwatch_testkit::{free_port, Postgres, TempDir};

/// Runs a command and returns its output; panics with stderr when it fails.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A CA, the center's certificate and sensor certificates, made by `tapwatch-center ca`.
pub fn make_pki(dir: &Path, sensors: &[&str]) -> PathBuf {
    let pki = dir.join("pki");
    run_ok(
        Command::new(center_bin())
            .args(["ca", "init", "--dir"])
            .arg(&pki)
            .args(["--server-name", "localhost", "--server-name", "127.0.0.1"]),
    );
    for s in sensors {
        run_ok(
            Command::new(center_bin())
                .args(["ca", "issue-sensor", "--dir"])
                .arg(&pki)
                .arg(s),
        );
    }
    pki
}

/// A center on loopback.
pub struct Center {
    pub config: PathBuf,
    pub grpc: SocketAddr,
    child: Option<Child>,
    log: PathBuf,
}

impl Center {
    /// Writes the configuration (`storage` is the `[storage]` section's body) in `dir`.
    pub fn configure(dir: &Path, pki: &Path, storage: &str) -> Center {
        let grpc: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let api = free_port();
        let config = dir.join("center.toml");
        let p = |f: &str| pki.join(f).display().to_string();
        std::fs::write(
            &config,
            format!(
                "[server]\nlisten = \"{grpc}\"\nca_cert = \"{}\"\nserver_cert = \"{}\"\n\
                 server_key = \"{}\"\n[storage]\n{storage}\n[api]\nlisten = \"127.0.0.1:{api}\"\n",
                p("ca.pem"),
                p("server.pem"),
                p("server.key"),
            ),
        )
        .expect("center config");
        Center {
            config,
            grpc,
            child: None,
            log: dir.join("center.log"),
        }
    }

    /// Starts `serve` and waits until it accepts connections.
    pub fn start(&mut self) {
        self.start_in(None);
    }

    /// Starts `serve` inside network namespace `netns` (for a sensor in that namespace) and
    /// waits until it listens there.
    pub fn start_in_netns(&mut self, netns: &str) {
        self.start_in(Some(netns));
    }

    fn start_in(&mut self, netns: Option<&str>) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log");
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(center_bin());
                c
            }
            None => Command::new(center_bin()),
        };
        let child = cmd
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start tapwatch-center");
        self.child = Some(child);
        let until = Instant::now() + Duration::from_secs(60);
        let listening = |addr: SocketAddr| match netns {
            None => TcpStream::connect(addr).is_ok(),
            // The port is in the other namespace: ask bash to connect from there.
            Some(ns) => Command::new("ip")
                .args(["netns", "exec", ns, "bash", "-c"])
                .arg(format!("exec 3<>/dev/tcp/{}/{}", addr.ip(), addr.port()))
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
        };
        while !listening(self.grpc) {
            assert!(
                Instant::now() < until,
                "center not listening: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// kill -9.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `tapwatch-center alerts --format eve`, one JSON value per alert.
    pub fn alerts(&self) -> Vec<Value> {
        let out = run_ok(
            Command::new(center_bin())
                .args(["alerts", "--format", "eve", "--config"])
                .arg(&self.config),
        );
        out.stdout
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).expect("center EVE line"))
            .collect()
    }

    /// `tapwatch-center sensors --json`.
    pub fn sensors(&self) -> Value {
        let out = run_ok(
            Command::new(center_bin())
                .args(["sensors", "--json", "--config"])
                .arg(&self.config),
        );
        serde_json::from_slice(&out.stdout).expect("sensors JSON")
    }
}

impl Drop for Center {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Writes a sensor configuration exporting as `id` to `center`, with `extra` lines added to
/// its `[export]` section.
pub fn sensor_config(dir: &Path, pki: &Path, id: &str, center: &Center, extra: &str) -> PathBuf {
    let path = dir.join(format!("{id}.toml"));
    let p = |f: &str| pki.join(f).display().to_string();
    std::fs::write(
        &path,
        format!(
            "[export]\nenabled = true\nsensor_id = \"{id}\"\ncenter_url = \"https://{}\"\n\
             ca_cert = \"{}\"\nclient_cert = \"{}\"\nclient_key = \"{}\"\nspool_dir = \"{}\"\n\
             reconnect_base_ms = 50\nreconnect_max_ms = 500\nhealth_interval_secs = 1\n{extra}\n",
            center.grpc,
            p("ca.pem"),
            p(&format!("sensors/{id}.pem")),
            p(&format!("sensors/{id}.key")),
            dir.join(format!("spool-{id}")).display()
        ),
    )
    .expect("sensor config");
    path
}

/// The `tapwatch replay` command for `pcaps` with `rules`, writing EVE to `eve`.
pub fn replay_cmd(config: &Path, rules: &[PathBuf], eve: &Path, pcaps: &[PathBuf]) -> Command {
    let mut c = Command::new(sensor_bin());
    c.args([
        "replay",
        "--progress",
        "never",
        "--summary-json",
        "--config",
    ])
    .arg(config)
    .arg("--eve")
    .arg(eve);
    for r in rules {
        c.arg("--rules").arg(r);
    }
    c.args(pcaps);
    c
}

/// The JSON summary a replay printed last on stderr.
pub fn summary(out: &Output) -> Value {
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or("{}");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("summary: {e}: {err}"))
}

/// The `alert` records of an EVE file.
pub fn eve_alerts(path: &Path) -> Vec<Value> {
    let text = std::fs::read(path).expect("EVE file");
    text.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice::<Value>(l).expect("EVE line"))
        .filter(|v| v["event_type"] == "alert")
        .collect()
}

/// An EVE alert reduced to what `Alert` carries, as canonical JSON (sorted keys): the
/// sensor's record and the center's go through the same mapping, so equal strings mean every
/// carried field is equal.
pub fn carried(v: &Value) -> String {
    let a = tapwatch_proto::eve::alert_from_eve(v)
        .unwrap_or_else(|e| panic!("not an alert record ({e}): {v}"));
    canonical(&tapwatch_proto::eve::alert_to_eve(&a, "")).to_string()
}

fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, Value> = m
                .iter()
                .filter(|(k, _)| k.as_str() != "host")
                .map(|(k, v)| (k, canonical(v)))
                .collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        v => v.clone(),
    }
}

/// Asserts that the two multisets of alerts are equal, naming the first differences.
pub fn assert_same_alerts(sensor: &[Value], center: &[Value], what: &str) {
    let count = |vs: &[Value]| {
        let mut m: BTreeMap<String, i64> = BTreeMap::new();
        for v in vs {
            *m.entry(carried(v)).or_default() += 1;
        }
        m
    };
    let s = count(sensor);
    let c = count(center);
    if s != c {
        let missing: Vec<_> = s
            .iter()
            .filter(|(k, n)| c.get(*k) != Some(n))
            .take(3)
            .collect();
        let extra: Vec<_> = c
            .iter()
            .filter(|(k, n)| s.get(*k) != Some(n))
            .take(3)
            .collect();
        panic!(
            "{what}: the center's alerts differ from the sensor's EVE ({} vs {} records)\n\
             in the sensor's EVE, not (as often) in the center: {missing:#?}\n\
             in the center, not (as often) in the sensor's EVE: {extra:#?}",
            sensor.len(),
            center.len()
        );
    }
}

/// `pcap_cnt` of each alert.
pub fn pcap_cnts(vs: &[Value]) -> Vec<u64> {
    vs.iter()
        .map(|v| v["pcap_cnt"].as_u64().expect("pcap_cnt"))
        .collect()
}

/// Polls `f` every 50 ms until it is true; panics with `what` after `limit`.
pub fn wait_for(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
