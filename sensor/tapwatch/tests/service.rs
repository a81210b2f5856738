//! The sensor as a service (privileged): the real `tapwatch run` on a veth end in a throwaway
//! namespace, traffic sent from the other end, operated as systemd would: live rule reload on
//! SIGUSR2 under traffic.
//!
//! Each test prints `skipped: <reason>` and returns when not root or when `ip`, `tcpreplay`
//! or `taskset` is missing. The traffic is made up by the test; no corpus is needed.

mod live_support;

use live_support::{
    alerts_by_sid, packets_in, skip_unless_privileged, write_pcap, Netns, Sensor, TcpTalk, TempDir,
};

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

    // The reload adds CHECK, which needs the flowbit set before the swap.
    std::fs::write(&rules, format!("{OTHER}{MARK}{HELLO}{CHECK}")).unwrap();
    sensor.signal("USR2");
    let line = sensor.wait_for("rules reloaded");
    assert!(line.contains("4 rules running (were 2)"), "{line}");
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
