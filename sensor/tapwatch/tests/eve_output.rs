//! The EVE output as an operator configures it: `[eve] path` with rotation, and reopening on
//! SIGHUP driven by the real logrotate with `samples/logrotate.d/tapwatch`.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The records of `eve`, each flow id replaced by its order of first appearance (flow ids
/// are random per run).
fn normalised(eve: &str) -> Vec<Value> {
    let mut ids: Vec<u64> = Vec::new();
    eve.lines()
        .map(|line| {
            let mut v: Value = serde_json::from_str(line).expect("every line is one JSON record");
            if let Some(id) = v.get("flow_id").and_then(Value::as_u64) {
                let ordinal = ids.iter().position(|&x| x == id).unwrap_or_else(|| {
                    ids.push(id);
                    ids.len() - 1
                });
                v["flow_id"] = Value::from(ordinal);
            }
            v
        })
        .collect()
}

/// The rotated files of `dir/eve.json` (`eve.json.<YYYYMMDD>T<HHMMSS>[-N]`), oldest first.
fn rotated_in_order(dir: &Path) -> Vec<PathBuf> {
    let mut rotated: Vec<((String, u64), PathBuf)> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry"))
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let rest = name.strip_prefix("eve.json.")?;
            let (stamp, seq) = match rest.split_once('-') {
                Some((stamp, seq)) => (stamp, seq.parse().ok()?),
                None => (rest, 0),
            };
            (stamp.len() == 15).then(|| ((stamp.to_owned(), seq), e.path()))
        })
        .collect();
    rotated.sort();
    rotated.into_iter().map(|(_, p)| p).collect()
}

fn last_json_line(stderr: &[u8]) -> Value {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("a JSON summary on stderr:\n{text}"));
    serde_json::from_str(line).expect("summary JSON")
}

#[test]
fn rotated_files_together_hold_exactly_the_single_file_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("sensor.toml");
    // Relative to the configuration file's directory; small chunks and a small size limit:
    // the sample's 16 records spread over several files.
    std::fs::write(
        &config,
        "[eve]\npath = \"logs/eve.json\"\nrotate_size_bytes = 2000\nbuffer_bytes = 500\nmax_files = 0\n",
    )
    .expect("write config");
    std::fs::create_dir(dir.path().join("logs")).expect("logs dir");
    let pcap = root().join("samples/sample.pcap");
    let rotated = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .args([
            "replay",
            "--progress",
            "never",
            "--summary-json",
            "--config",
        ])
        .arg(&config)
        .arg(&pcap)
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run tapwatch");
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let single = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .args(["replay", "--progress", "never", "--eve", "-"])
        .arg(&pcap)
        .output()
        .expect("run tapwatch");
    assert!(single.status.success());

    let logs = dir.path().join("logs");
    let mut files = rotated_in_order(&logs);
    assert!(files.len() >= 3, "rotated several times: {files:?}");
    files.push(logs.join("eve.json"));
    let mut joined = String::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read EVE file");
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{} ends with a whole record",
            f.display()
        );
        joined.push_str(&text);
    }
    let expected = normalised(&String::from_utf8(single.stdout).expect("utf-8"));
    assert!(expected.len() > 10, "the sample gives records");
    assert_eq!(
        normalised(&joined),
        expected,
        "the same records in the same order"
    );

    let summary = last_json_line(&rotated.stderr);
    let out = &summary["eve_output"];
    assert_eq!(out["records_written"], Value::from(expected.len()));
    assert_eq!(out["records_dropped"], Value::from(0));
    assert_eq!(out["rotations"], Value::from(files.len() - 1));
}

#[test]
fn replay_eve_file_is_written_afresh_and_a_failing_one_fails_the_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let eve = dir.path().join("eve.json");
    std::fs::write(&eve, "left over\n").expect("write");
    let pcap = root().join("samples/sample.pcap");
    let run = |eve: &Path| {
        Command::new(env!("CARGO_BIN_EXE_tapwatch"))
            .args(["replay", "--progress", "never", "--summary-json", "--eve"])
            .arg(eve)
            .arg(&pcap)
            .output()
            .expect("run tapwatch")
    };
    let out = run(&eve);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&eve).expect("read");
    assert!(
        !text.contains("left over"),
        "`replay --eve` starts the file afresh"
    );
    if Path::new("/dev/full").exists() {
        let out = run(Path::new("/dev/full"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("EVE records could not be written"),
            "{stderr}"
        );
        let summary = last_json_line(&out.stderr);
        assert!(summary["eve_output"]["records_dropped"].as_u64() > Some(10));
        assert_eq!(summary["eve_output"]["records_written"], Value::from(0));
    }
}

/// Skips (with a message) unless root and logrotate is installed.
fn skip_logrotate(test: &str) -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let logrotate = Command::new("logrotate").arg("--version").output().is_ok();
    if !(root && logrotate) {
        println!(
            "skipped: {test}: needs root (to capture on lo) and logrotate \
             (scripts/install-deps.sh --test)"
        );
        return true;
    }
    false
}

/// `tapwatch run` on the loopback interface, its EVE file rotated by the real logrotate with
/// the bundled sample configuration: logrotate renames the file, creates a new one and sends
/// SIGHUP; the sensor keeps running and writes on into the new file.
#[test]
fn logrotate_with_the_sample_configuration_makes_run_reopen_its_file() {
    if skip_logrotate("logrotate") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).expect("logs dir");
    let eve = logs.join("eve.json");
    // Appended to: what the file held goes to the rotated file.
    std::fs::write(&eve, "{\"before\":\"rotation\"}\n").expect("write");
    let config = dir.path().join("sensor.toml");
    std::fs::write(
        &config,
        format!("[eve]\npath = {:?}\n", eve.display().to_string()),
    )
    .expect("write config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .args(["run", "--interface", "lo", "--capture", "socket"])
        .args(["--summary-json", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tapwatch run");
    let pid = child.id();
    let stderr = child.stderr.take().expect("stderr");
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("capture did not start:\n{}", seen.join("\n")));
        let started = line.contains("capture started");
        seen.push(line);
        if started {
            break;
        }
    }
    // Traffic before and after the rotation: flows on lo, logged when the run ends.
    let send = |port: u16| {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket
            .send_to(b"tapwatch", ("127.0.0.1", port))
            .expect("send");
    };
    send(9);

    let sample = std::fs::read_to_string(root().join("samples/logrotate.d/tapwatch"))
        .expect("the sample logrotate configuration");
    let mut conf = sample.clone();
    for (from, to) in [
        (
            "/var/log/tapwatch/*.json",
            format!("{}/*.json", logs.display()),
        ),
        // No `tapwatch` user here: logrotate creates the file as root.
        ("create 0640 tapwatch tapwatch", "create 0640".to_owned()),
        (
            "systemctl kill -s HUP tapwatch.service >/dev/null 2>&1 || true",
            format!("kill -HUP {pid}"),
        ),
    ] {
        assert!(conf.contains(from), "the sample still holds `{from}`");
        conf = conf.replace(from, &to);
    }
    let conf_path = dir.path().join("logrotate.conf");
    std::fs::write(&conf_path, conf).expect("write logrotate config");
    let rotate = Command::new("logrotate")
        .arg("--force")
        .arg("--state")
        .arg(dir.path().join("logrotate.state"))
        .arg(&conf_path)
        .output()
        .expect("run logrotate");
    assert!(
        rotate.status.success(),
        "logrotate: {}",
        String::from_utf8_lossy(&rotate.stderr)
    );
    // The writer thread looks at the request at least once a second.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "SIGHUP does not end the sensor"
    );
    send(7);
    std::thread::sleep(Duration::from_millis(300));
    let term = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(term.success());
    let status = child.wait().expect("wait");
    seen.extend(lines.iter());
    let stderr = seen.join("\n");
    assert!(status.success(), "{stderr}");

    let rotated = std::fs::read_to_string(logs.join("eve.json.1")).expect("logrotate's file");
    assert_eq!(
        rotated, "{\"before\":\"rotation\"}\n",
        "the old content, nothing else"
    );
    let new = std::fs::read_to_string(&eve).expect("the new file");
    let records = normalised(&new);
    let flows_to = |port: u64| {
        records
            .iter()
            .any(|r| r["event_type"] == "flow" && r["dest_port"] == port)
    };
    assert!(
        flows_to(9) && flows_to(7),
        "both flows in the new file:\n{new}"
    );
    let summary = last_json_line(stderr.as_bytes());
    assert_eq!(summary["eve_output"]["reopens"], Value::from(1), "{stderr}");
    assert_eq!(summary["eve_output"]["records_dropped"], Value::from(0));
}
