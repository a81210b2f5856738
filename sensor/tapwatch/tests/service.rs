//! The sensor as a service (privileged): the real `tapwatch run` on a veth end in a throwaway
//! namespace, traffic sent from the other end, operated as systemd would: as an unprivileged
//! user with only the capabilities capture needs, exporting to a `tapwatch-center` in the same
//! namespace, stopped by SIGTERM; live rule reload on SIGUSR2 under traffic.
//!
//! Each test prints `skipped: <reason>` and returns when not root or when `ip`, `tcpreplay`
//! or `taskset` is missing. The traffic is made up by the test; no corpus is needed.

mod center_support;
mod live_support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use live_support::{
    alerts_by_sid, flow_records, packets_in, skip_unless_privileged, write_pcap, Netns, Sensor,
    TcpTalk, TempDir,
};

/// `n` UDP frames between two hosts, spread over 100 source ports.
fn udp_frames(n: u32) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut frame = Vec::new();
            etherparse::PacketBuilder::ethernet2([2, 0, 0, 8, 0, 1], [2, 0, 0, 8, 0, 2])
                .ipv4([10, 8, 0, 1], [10, 8, 0, 2], 64)
                .udp(20_000 + (i % 100) as u16, 9999)
                .write(&mut frame, &i.to_be_bytes())
                .expect("frame");
            frame
        })
        .collect()
}

/// The unprivileged user the service test runs the sensor as (`nobody`).
const NOBODY: (u32, u32) = (65534, 65534);

/// Makes `path` (a directory) writable by the unprivileged sensor.
fn give_to_nobody(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    std::os::unix::fs::chown(path, Some(NOBODY.0), Some(NOBODY.1)).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o750)).unwrap();
}

const MARK: &str = "alert tcp any any -> any any (msg:\"mark\"; flow:to_server; content:\"MARK\"; flowbits:set,marked; flowbits:noalert; sid:1001;)\n";
const HELLO: &str = "alert tcp any any -> any any (msg:\"hello\"; content:\"HELLO\"; sid:1002;)\n";
/// Names a flowbit before `marked` does: numbered by the new rules alone, `marked` would get
/// another number than the one the flow holds.
const OTHER: &str = "alert tcp any any -> any any (msg:\"other\"; content:\"ZZZ\"; flowbits:set,zzz; flowbits:noalert; sid:1004;)\n";
const CHECK: &str = "alert tcp any any -> any any (msg:\"check after mark\"; flow:to_server; flowbits:isset,marked; content:\"CHECK\"; sid:1003;)\n";

#[test]
fn a_rule_reload_under_traffic_applies_the_new_rules_keeps_flowbits_and_refuses_a_broken_file() {
    let test = "a_rule_reload_under_traffic";
    if skip_unless_privileged(test) {
        return;
    }
    let ns = Netns::new(1).expect("namespaces and veth pair");
    let dir = TempDir::new(test);
    let rules = dir.0.join("local.rules");
    let config = dir.0.join("tapwatch.toml");
    std::fs::write(&rules, format!("{MARK}{HELLO}")).unwrap();
    std::fs::write(
        &config,
        format!(
            "[detect]\nrule_files = [\"local.rules\"]\ncache_dir = \"{}\"\n",
            dir.0.join("cache").display()
        ),
    )
    .unwrap();
    let eve = dir.0.join("eve.json");
    let (config_arg, eve_arg) = (config.display().to_string(), eve.display().to_string());
    let mut sensor = Sensor::start(&ns, &["--config", &config_arg, "--eve", &eve_arg]);

    // Before the reload: the flowbit is set; CHECK has no rule yet.
    let (mut talk, mut frames) = TcpTalk::open();
    frames.extend(talk.client_says(b"HELLO MARK"));
    frames.extend(talk.client_says(b"CHECK before"));
    let mut sent = Vec::new();
    let before = dir.0.join("before.pcap");
    write_pcap(&before, 1_700_000_000, &frames);
    ns.send(std::slice::from_ref(&before), None, None);
    sent.push(before);

    // The reload adds CHECK, which needs the flowbit set before the swap. It happens while
    // other traffic flows (20,000 UDP packets at 10,000 per second): none may be lost.
    let background = dir.0.join("background.pcap");
    write_pcap(&background, 1_700_000_005, &udp_frames(20_000));
    std::fs::write(&rules, format!("{OTHER}{MARK}{HELLO}{CHECK}")).unwrap();
    std::thread::scope(|scope| {
        let sending =
            scope.spawn(|| ns.send(std::slice::from_ref(&background), Some(10_000), None));
        // Well inside the two seconds of sending.
        std::thread::sleep(std::time::Duration::from_millis(300));
        sensor.signal("USR2");
        let line = sensor.wait_for("rules reloaded");
        assert!(line.contains("4 rules running (were 2)"), "{line}");
        sending.join().expect("background traffic");
    });
    sent.push(background);
    let after = dir.0.join("after.pcap");
    write_pcap(&after, 1_700_000_010, &talk.client_says(b"CHECK after"));
    ns.send(std::slice::from_ref(&after), None, None);
    sent.push(after);

    // A broken rule file is refused and the running rules go on.
    std::fs::write(
        &rules,
        "alert tcp any any -> any any (this is not a rule)\n",
    )
    .unwrap();
    sensor.signal("USR2");
    let line = sensor.wait_for("rule reload refused");
    assert!(line.contains("no rule would run"), "{line}");
    let last = dir.0.join("last.pcap");
    let mut frames = talk.client_says(b"CHECK still");
    frames.extend(talk.close());
    write_pcap(&last, 1_700_000_020, &frames);
    ns.send(std::slice::from_ref(&last), None, None);
    sent.push(last);

    let (summary, stderr) = sensor.stop();
    assert_eq!(summary["packets"], packets_in(&sent), "{stderr}");
    assert_eq!(summary["kernel_drops"], 0, "{stderr}");
    assert_eq!(summary["dispatch_drops"], 0, "{stderr}");
    let alerts = alerts_by_sid(&eve);
    assert_eq!(alerts.get(&1001), None, "noalert\n{stderr}");
    assert_eq!(alerts.get(&1002), Some(&1), "{alerts:?}\n{stderr}");
    assert_eq!(
        alerts.get(&1003),
        Some(&2),
        "CHECK alerts after the reload only, on the flowbit set before it, and keeps \
         alerting after the refused reload: {alerts:?}\n{stderr}"
    );
}

#[test]
fn the_service_runs_unprivileged_exports_every_alert_and_ends_cleanly_on_sigterm() {
    let test = "the_service_runs_unprivileged";
    if skip_unless_privileged(test) {
        return;
    }
    let ns = Netns::new(1).expect("namespaces and veth pair");
    let dir = TempDir::new(test);
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let pki = center_support::make_pki(&dir.0, &["sensor-svc"]);
    for f in [
        "sensors",
        "sensors/sensor-svc.key",
        "sensors/sensor-svc.pem",
    ] {
        std::os::unix::fs::chown(pki.join(f), Some(NOBODY.0), Some(NOBODY.1)).unwrap();
    }
    let mut center = center_support::Center::configure(
        &dir.0,
        &pki,
        &format!("path = \"{}\"", dir.0.join("center.db").display()),
    );
    center.start_in_netns(&ns.a);
    let config = center_support::sensor_config(&dir.0, &pki, "sensor-svc", &center, "");
    let (out, cache) = (dir.0.join("out"), dir.0.join("cache"));
    for d in [&out, &cache, &dir.0.join("spool-sensor-svc")] {
        give_to_nobody(d);
    }
    std::fs::write(dir.0.join("local.rules"), format!("{MARK}{HELLO}{CHECK}")).unwrap();
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "[detect]\nrule_files = [\"local.rules\"]\ncache_dir = \"{}\"\n\
         [eve]\npath = \"{}\"\n",
        cache.display(),
        out.join("eve.json").display()
    ));
    std::fs::write(&config, text).unwrap();
    let config_arg = config.display().to_string();
    let sensor = Sensor::start_as(&ns, &["--config", &config_arg], &[], Some(NOBODY));

    // Flows left open when the signal comes must be logged too.
    let mut frames = Vec::new();
    let mut talks = Vec::new();
    for _ in 0..3 {
        let (mut talk, open) = TcpTalk::open();
        frames.extend(open);
        frames.extend(talk.client_says(b"HELLO MARK"));
        frames.extend(talk.client_says(b"CHECK"));
        talks.push(talk);
    }
    let pcap = dir.0.join("traffic.pcap");
    write_pcap(&pcap, 1_700_000_000, &frames);
    ns.send(std::slice::from_ref(&pcap), None, None);

    let (summary, stderr) = sensor.stop();
    assert_eq!(summary["packets"], packets_in(&[pcap]), "{stderr}");
    let eve = out.join("eve.json");
    use std::os::unix::fs::MetadataExt as _;
    assert_eq!(
        std::fs::metadata(&eve).unwrap().uid(),
        NOBODY.0,
        "written by the unprivileged sensor"
    );
    let alerts = alerts_by_sid(&eve);
    // The three talks share their 5-tuple: one flow, which ends open at the signal.
    assert_eq!(alerts.get(&1002), Some(&3), "{alerts:?}\n{stderr}");
    assert_eq!(alerts.get(&1003), Some(&3), "{alerts:?}\n{stderr}");
    let flows = flow_records(&eve);
    assert!(
        flows
            .iter()
            .any(|f| f["proto"] == "TCP" && f["dest_port"] == 8080),
        "the open flow is logged at the end\n{stderr}"
    );
    // Every alert reached the center (or waits in the spool, which would show here).
    assert_eq!(summary["export"]["spool_backlog_batches"], 0, "{summary}");
    assert_eq!(summary["export"]["dropped_queue_full"][0], 0, "{summary}");
    let stored = center.alerts();
    assert_eq!(stored.len(), 6, "{}", center.log_text());
    let sensors = center.sensors();
    assert_eq!(
        sensors["sensors"][0]["sensor_id"], "sensor-svc",
        "{sensors}"
    );
    drop(talks);
}
