//! The exporter against the real `tapwatch-center` binary (its own CA commands, mutual TLS,
//! SQLite), with the center killed (SIGKILL) mid-stream and restarted: every alert is stored
//! once. Skipped when the binary is not built: `cargo build -p tapwatch-center` in the same
//! target directory, or set `TAPWATCH_CENTER_BIN`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{free_addr, synthetic_alert, wait_until};
use tapwatch_export::{ExportConfig, Exporter, NoHealth, SensorInfo};

const LIMIT: Duration = Duration::from_secs(120);
const SENSOR: &str = "sensor-e2e-01";

fn center_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TAPWATCH_CENTER_BIN") {
        return Some(PathBuf::from(p));
    }
    // The test executable lives in <target>/debug/deps/.
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.parent()?.join("tapwatch-center");
    p.exists().then_some(p)
}

fn run(bin: &Path, args: &[&str]) -> String {
    let out = Command::new(bin).args(args).output().expect("run center");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn serve(bin: &Path, config: &Path, addr: std::net::SocketAddr) -> Child {
    let child = Command::new(bin)
        .args(["serve", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn center");
    wait_until(LIMIT, "the center listening", || {
        std::net::TcpStream::connect(addr).is_ok()
    });
    child
}

#[test]
fn real_center_killed_mid_stream_stores_everything_once() {
    let Some(bin) = center_bin() else {
        eprintln!("skipped: tapwatch-center binary not found (cargo build -p tapwatch-center)");
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let pki = dir.path().join("pki");
    let pki_s = pki.to_str().expect("utf-8 path");
    run(
        &bin,
        &["ca", "init", "--dir", pki_s, "--server-name", "localhost"],
    );
    run(&bin, &["ca", "issue-sensor", SENSOR, "--dir", pki_s]);
    let addr = free_addr();
    let config = dir.path().join("center.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"{addr}\"\nca_cert = \"pki/ca.pem\"\n\
             server_cert = \"pki/server.pem\"\nserver_key = \"pki/server.key\"\n\
             [storage]\nkind = \"sqlite\"\npath = \"center.db\"\nsqlite_synchronous = \"normal\"\n\
             [api]\nenabled = false\n"
        ),
    )
    .expect("config");
    let mut center = serve(&bin, &config, addr);
    let cfg = ExportConfig {
        enabled: true,
        sensor_id: SENSOR.into(),
        center_url: format!("https://localhost:{}", addr.port()),
        ca_cert: Some(pki.join("ca.pem")),
        client_cert: Some(pki.join("sensors").join(format!("{SENSOR}.pem"))),
        client_key: Some(pki.join("sensors").join(format!("{SENSOR}.key"))),
        spool_dir: dir.path().join("spool"),
        max_batch_records: 200,
        max_batch_delay_ms: 20,
        fsync: false,
        reconnect_base_ms: 20,
        reconnect_max_ms: 300,
        ..ExportConfig::default()
    };
    let ex = Exporter::start(&cfg, SensorInfo::default(), Arc::new(NoHealth)).expect("exporter");
    let h = ex.handle();
    let n = 20_000u64;
    for i in 0..n {
        while !h.try_send_alert(synthetic_alert(i)) {
            std::thread::sleep(Duration::from_millis(1));
        }
        if i == n / 2 {
            wait_until(LIMIT, "some batches acknowledged", || {
                ex.stats().batches_acked > 5
            });
            center.kill().expect("kill -9");
            let _ = center.wait();
            center = serve(&bin, &config, addr);
        }
    }
    let stats = ex.shutdown(LIMIT);
    assert_eq!(stats.spool_backlog_batches, 0, "{stats:?}");
    let limit = (2 * n).to_string();
    let cfg_s = config.to_str().expect("utf-8 path");
    let eve = run(
        &bin,
        &[
            "alerts", "--config", cfg_s, "--format", "eve", "--limit", &limit,
        ],
    );
    let _ = center.kill();
    let _ = center.wait();
    let mut seen = vec![0u32; n as usize];
    for line in eve.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("EVE line");
        let id = v["flow_id"].as_u64().expect("flow_id");
        seen[id as usize] += 1;
    }
    let lost = seen.iter().filter(|&&c| c == 0).count();
    let dup = seen.iter().filter(|&&c| c > 1).count();
    assert_eq!((lost, dup), (0, 0), "lost, duplicated");
    assert!(stats.reconnects >= 1);
}
