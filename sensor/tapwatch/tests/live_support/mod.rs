//! Support for the live-capture tests: two throwaway network namespaces joined by a veth
//! pair (both ends inside them, removed on drop), the real `tapwatch run` started inside
//! namespace A, tcpreplay sending from namespace B, and `tapwatch replay` for the offline
//! reference. Nothing here touches another interface or sends outside the namespaces.
#![allow(dead_code, reason = "not every test uses every helper")]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use tapwatch_testkit::netns;

/// The veth end in namespace A, where tapwatch captures.
pub const IFACE_A: &str = "twla";
/// The capabilities `tapwatch run` needs without root (`setpriv` names, as the unit's).
pub const CAPTURE_CAPS: &[&str] = &["bpf", "perfmon", "net_admin", "net_raw", "ipc_lock"];

/// The veth end in namespace B, where tcpreplay sends.
pub const IFACE_B: &str = "twlb";

/// Prints the skip line and returns true when the test cannot run here (not root, or `ip`,
/// `tcpreplay` or `taskset` missing).
pub fn skip_unless_privileged(test: &str) -> bool {
    netns::skip_unless_privileged(test, &["ip", "tcpreplay", "taskset"])
}

/// The shared corpus, when present (`$TAPWATCH_SHARED` or `shared/` beside the repository).
pub fn shared() -> Option<PathBuf> {
    let dir = std::env::var_os("TAPWATCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let ok = dir.join("corpus/rules/et-open-2024-04").is_dir() && dir.join("corpus/pcaps").is_dir();
    ok.then_some(dir)
}

fn run(cmd: &mut Command) -> Result<String, String> {
    netns::run(cmd)
}

/// Two namespaces `twl-<pid>-<n>-a` and `-b` with a veth pair between them; deleted on drop.
#[derive(Debug)]
pub struct Netns {
    pub a: String,
    pub b: String,
    _pair: netns::VethPair,
}

impl Netns {
    /// Creates the pair with `queues` tx and rx queues per end, links up, IPv6 off (the
    /// kernel then sends nothing of its own over the pair).
    pub fn new(queues: u32) -> Result<Self, String> {
        let pair = netns::VethPair::new("twl", (IFACE_A, IFACE_B), queues, None)?;
        Ok(Self {
            a: pair.a.clone(),
            b: pair.b.clone(),
            _pair: pair,
        })
    }

    /// Sends `pcaps` from B's end with tcpreplay, at `pps` packets per second or top speed,
    /// pinned to `cpu` when given (on veth a sender's CPU picks the queue).
    pub fn send(&self, pcaps: &[PathBuf], pps: Option<u32>, cpu: Option<u32>) {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.b]);
        if let Some(cpu) = cpu {
            cmd.args(["taskset", "-c", &cpu.to_string()]);
        }
        cmd.args(["tcpreplay", "-q", "-i", IFACE_B]);
        match pps {
            Some(p) => cmd.arg(format!("--pps={p}")),
            None => cmd.arg("--topspeed"),
        };
        cmd.args(pcaps);
        if let Err(e) = run(&mut cmd) {
            panic!("sending: {e}");
        }
    }
}

pub use tapwatch_testkit::TempDir;

/// The compiled-rule cache shared by every run of this test binary (rules compile once).
pub fn cache_dir() -> PathBuf {
    let p = std::env::temp_dir().join(format!("tw-live-cache-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&p);
    p
}

/// A running `tapwatch run` inside namespace A.
#[derive(Debug)]
pub struct Sensor {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    /// Its control socket.
    pub control: PathBuf,
}

impl Sensor {
    /// Starts `tapwatch run -i IFACE_A --summary-json ARGS` in `ns` and waits until its
    /// capture runs (or it exits, which fails the test with its stderr). Its control socket
    /// is [`Sensor::control`], one per namespace (tests run side by side).
    pub fn start(ns: &Netns, args: &[&str]) -> Self {
        Self::start_as(ns, args, &[], None)
    }

    /// Like [`Sensor::start`], with `env` set and, when `user` is given, as that user (uid,
    /// gid) holding only the capabilities live capture needs (ambient, so that they survive
    /// the change of user), as the systemd unit runs it.
    pub fn start_as(
        ns: &Netns,
        args: &[&str],
        env: &[(&str, &str)],
        user: Option<(u32, u32)>,
    ) -> Self {
        // One control socket per namespace: tests run side by side. In /tmp, which any user
        // may write.
        let control = std::env::temp_dir().join(format!("{}.sock", ns.a));
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &ns.a]);
        if let Some((uid, gid)) = user {
            let caps = CAPTURE_CAPS
                .iter()
                .map(|c| format!("+{c}"))
                .collect::<Vec<_>>()
                .join(",");
            cmd.arg("setpriv")
                .arg(format!("--reuid={uid}"))
                .arg(format!("--regid={gid}"))
                .arg("--clear-groups")
                .arg(format!("--inh-caps=-all,{caps}"))
                .arg(format!("--ambient-caps=-all,{caps}"))
                .arg(format!("--bounding-set=-all,{caps}"));
        }
        let child = cmd
            .args([env!("CARGO_BIN_EXE_tapwatch"), "run"])
            .args(["--interface", IFACE_A, "--summary-json"])
            .arg("--control-socket")
            .arg(&control)
            .args(args)
            .env("TAPWATCH_CACHE_DIR", cache_dir())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tapwatch run");
        let mut child = child;
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut sensor = Self {
            child,
            lines,
            seen: Vec::new(),
            control,
        };
        // A guard against a hang, not a timing assertion: start-up takes seconds.
        while let Ok(line) = sensor.lines.recv_timeout(Duration::from_secs(120)) {
            let started = line.contains("capture started");
            sensor.seen.push(line);
            if started {
                return sensor;
            }
        }
        let _ = sensor.child.kill();
        panic!(
            "tapwatch run did not start capturing:\n{}",
            sensor.seen.join("\n")
        );
    }

    /// Sends `signal` (`"USR2"`, `"HUP"`, ...) to the sensor.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// Waits for a stderr line containing `text` (a guard against a hang, not a timing
    /// assertion: 120 s); returns it, or fails with everything seen.
    pub fn wait_for(&mut self, text: &str) -> String {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(120)) {
            let found = line.contains(text);
            self.seen.push(line.clone());
            if found {
                return line;
            }
        }
        panic!(
            "no line with {text:?} from tapwatch run:\n{}",
            self.seen.join("\n")
        );
    }

    /// Lets the last packets through the veth pair, sends SIGTERM, waits for the exit and
    /// returns the summary (the last stderr line, JSON) and all of stderr.
    pub fn stop(self) -> (Value, String) {
        // The capture drains its ring after the signal; this pause only lets packets still
        // inside the sender's namespace reach it. Counts are asserted, not times.
        std::thread::sleep(Duration::from_millis(500));
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.exited()
    }

    /// Waits for the exit of a sensor told to stop otherwise (`tapwatch ctl shutdown`) and
    /// returns the summary and stderr, as [`Sensor::stop`].
    pub fn exited(mut self) -> (Value, String) {
        let status = self.child.wait().expect("wait for tapwatch run");
        self.seen.extend(self.lines.iter());
        let stderr = self.seen.join("\n");
        assert!(status.success(), "tapwatch run failed: {status}\n{stderr}");
        let summary = self
            .seen
            .iter()
            .rev()
            .find(|l| l.starts_with('{'))
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or_else(|| panic!("no JSON summary:\n{stderr}"));
        (summary, stderr)
    }
}

impl Drop for Sensor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Alerts per signature id in an EVE file.
pub fn alerts_by_sid(eve: &Path) -> BTreeMap<u64, u64> {
    let text = std::fs::read_to_string(eve).unwrap_or_default();
    let mut by = BTreeMap::new();
    for line in text.lines() {
        let Ok(j) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if j["event_type"] == "alert" {
            if let Some(sid) = j["alert"]["signature_id"].as_u64() {
                *by.entry(sid).or_insert(0) += 1;
            }
        }
    }
    by
}

/// Flow records in an EVE file.
pub fn flow_records(eve: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(eve).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|j| j["event_type"] == "flow")
        .collect()
}

/// `tapwatch replay` of each of `pcaps` on its own (as each was sent whole), with `args`;
/// alerts per signature summed over the files.
pub fn offline_alerts(pcaps: &[PathBuf], args: &[&str]) -> BTreeMap<u64, u64> {
    let dir = TempDir::new("offline");
    let mut total = BTreeMap::new();
    for (i, pcap) in pcaps.iter().enumerate() {
        let eve = dir.0.join(format!("{i}.json"));
        let out = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
            .args(["replay", "--progress", "never", "--eve"])
            .arg(&eve)
            .args(args)
            .arg(pcap)
            .env("TAPWATCH_CACHE_DIR", cache_dir())
            .output()
            .expect("run tapwatch replay");
        assert!(
            out.status.success(),
            "replay {}: {}",
            pcap.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        for (sid, n) in alerts_by_sid(&eve) {
            *total.entry(sid).or_insert(0) += n;
        }
    }
    total
}

/// Packets in classic pcap files (records counted).
pub fn packets_in(pcaps: &[PathBuf]) -> u64 {
    let mut n = 0;
    for p in pcaps {
        let data = std::fs::read(p).expect("read pcap");
        let le = match data.get(..4) {
            Some([0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1]) => true,
            Some([0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d]) => false,
            _ => panic!("{}: not a classic pcap", p.display()),
        };
        let mut off = 24;
        while let Some(h) = data.get(off..off + 16) {
            let b = [h[8], h[9], h[10], h[11]];
            let incl = if le {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b)
            };
            off += 16 + incl as usize;
            if off > data.len() {
                break;
            }
            n += 1;
        }
    }
    n
}

/// Writes `frames` (Ethernet) as a classic pcap file, one record per millisecond from
/// `first_secs`.
pub fn write_pcap(path: &Path, first_secs: u32, frames: &[Vec<u8>]) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        let usecs = (i as u32) * 1000;
        out.extend_from_slice(&(first_secs + usecs / 1_000_000).to_le_bytes());
        out.extend_from_slice(&(usecs % 1_000_000).to_le_bytes());
        let len = f.len() as u32;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(f);
    }
    std::fs::write(path, out).expect("write pcap");
}

/// One side of a made-up TCP connection 10.9.0.1:40000 <-> 10.9.0.2:8080, keeping the
/// sequence numbers, for frames built across several captures.
#[derive(Debug, Clone, Copy)]
pub struct TcpTalk {
    client_seq: u32,
    server_seq: u32,
}

impl TcpTalk {
    /// The handshake's three frames, and the connection after it.
    pub fn open() -> (Self, Vec<Vec<u8>>) {
        let mut t = Self {
            client_seq: 1000,
            server_seq: 9000,
        };
        let frames = vec![
            t.frame(true, true, false, false, b""),
            t.frame(false, true, true, false, b""),
            t.frame(true, false, true, false, b""),
        ];
        (t, frames)
    }

    /// Data from the client, acknowledged by the server: two frames.
    pub fn client_says(&mut self, data: &[u8]) -> Vec<Vec<u8>> {
        vec![
            self.frame(true, false, true, false, data),
            self.frame(false, false, true, false, b""),
        ]
    }

    /// Both sides close: four frames.
    pub fn close(&mut self) -> Vec<Vec<u8>> {
        vec![
            self.frame(true, false, true, true, b""),
            self.frame(false, false, true, false, b""),
            self.frame(false, false, true, true, b""),
            self.frame(true, false, true, false, b""),
        ]
    }

    fn frame(
        &mut self,
        from_client: bool,
        syn: bool,
        ack: bool,
        fin: bool,
        data: &[u8],
    ) -> Vec<u8> {
        let (c, s) = ([10, 9, 0, 1], [10, 9, 0, 2]);
        let (cm, sm) = ([2, 0, 0, 9, 0, 1], [2, 0, 0, 9, 0, 2]);
        let (seq, ack_no) = if from_client {
            (self.client_seq, self.server_seq)
        } else {
            (self.server_seq, self.client_seq)
        };
        let b = if from_client {
            etherparse::PacketBuilder::ethernet2(cm, sm)
                .ipv4(c, s, 64)
                .tcp(40000, 8080, seq, 64240)
        } else {
            etherparse::PacketBuilder::ethernet2(sm, cm)
                .ipv4(s, c, 64)
                .tcp(8080, 40000, seq, 64240)
        };
        let b = if syn { b.syn() } else { b };
        let b = if ack { b.ack(ack_no) } else { b };
        let b = if fin { b.fin() } else { b };
        let b = if data.is_empty() { b } else { b.psh() };
        let mut out = Vec::new();
        b.write(&mut out, data).expect("build frame");
        let used = data.len() as u32 + u32::from(syn) + u32::from(fin);
        if from_client {
            self.client_seq = self.client_seq.wrapping_add(used);
        } else {
            self.server_seq = self.server_seq.wrapping_add(used);
        }
        out
    }
}
