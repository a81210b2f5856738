//! Live capture end to end (privileged): the real `tapwatch run` captures on a veth end in a
//! throwaway namespace while tcpreplay sends corpus captures from the other end; its alerts
//! per signature must equal `tapwatch replay`'s on the same files, with no packet lost.
//! Variants: XDP driver mode, generic (SKB) mode, the AF_PACKET socket fallback, two queues
//! with two workers, flow bypass, and the monitored-prefix filter (in the kernel and in
//! userspace).
//!
//! Each test prints `skipped: <reason>` and returns when not root, when `ip`, `tcpreplay` or
//! `taskset` is missing, or when the shared corpus with ET Open 2024 is absent.

mod live_support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use live_support::{
    alerts_by_sid, flow_records, offline_alerts, packets_in, shared, skip_unless_privileged, Netns,
    Sensor, TempDir,
};
use serde_json::Value;

/// Ethernet captures with ET Open 2024 alerts, every frame at most 1514 bytes (the veth
/// MTU), chosen by replaying the corpus's small Ethernet captures with ET Open.
const ALERT_PCAPS: &[&str] = &[
    "markofu/NetworkForensics/evidence05.pcap/evidence05.pcap",
    "zeek/irc-basic.pcap",
    "ndpi/iec60780-5-104.pcap",
    "pcapattack/Command_and_Control/cmds_over_dns_txt_queries_and_reponses.pcap",
    "zeek/rpc-portmap-sadmind.pcap",
    "ndpi/emotet.pcap",
    "zeek/http/http-non-printable-characters.pcap",
];

struct Inputs {
    pcaps: Vec<PathBuf>,
    rules: String,
}

fn inputs(test: &str) -> Option<Inputs> {
    if skip_unless_privileged(test) {
        return None;
    }
    let Some(shared) = shared() else {
        println!(
            "skipped: {test}: ../shared/corpus (pcaps and rules/et-open-2024-04) not found \
             (set TAPWATCH_SHARED)"
        );
        return None;
    };
    let pcaps: Vec<PathBuf> = ALERT_PCAPS
        .iter()
        .map(|p| shared.join("corpus/pcaps").join(p))
        .collect();
    if let Some(missing) = pcaps.iter().find(|p| !p.exists()) {
        println!("skipped: {test}: {} not found", missing.display());
        return None;
    }
    let rules = shared
        .join("corpus/rules/et-open-2024-04")
        .display()
        .to_string();
    Some(Inputs { pcaps, rules })
}

/// `tapwatch replay`'s alerts per signature over ALERT_PCAPS, computed once.
fn offline(inputs: &Inputs) -> &'static BTreeMap<u64, u64> {
    static OFFLINE: OnceLock<BTreeMap<u64, u64>> = OnceLock::new();
    OFFLINE.get_or_init(|| {
        let alerts = offline_alerts(&inputs.pcaps, &["--rules", &inputs.rules]);
        assert!(!alerts.is_empty(), "the chosen captures alert offline");
        alerts
    })
}

fn queues(summary: &Value) -> &Vec<Value> {
    summary["capture"]["queues"]
        .as_array()
        .expect("per-queue counters in the summary")
}

/// Sends ALERT_PCAPS at top speed to a sensor in `capture` mode and compares with replay.
fn live_equals_offline(test: &str, capture: &str, expected_mode: &str) {
    let Some(inputs) = inputs(test) else {
        return;
    };
    let offline = offline(&inputs);
    let ns = Netns::new(1).expect("namespaces and veth pair");
    let dir = TempDir::new(test);
    let eve = dir.0.join("eve.json");
    let eve_arg = eve.display().to_string();
    let sensor = Sensor::start(
        &ns,
        &[
            "--capture",
            capture,
            "--rules",
            &inputs.rules,
            "--eve",
            &eve_arg,
        ],
    );
    ns.send(&inputs.pcaps, None, None);
    let (summary, stderr) = sensor.stop();
    let q = queues(&summary);
    assert_eq!(q.len(), 1, "{stderr}");
    assert_eq!(q[0]["mode"], expected_mode, "{stderr}");
    assert_eq!(summary["kernel_drops"], 0, "{stderr}");
    assert_eq!(summary["dispatch_drops"], 0, "{stderr}");
    assert_eq!(
        summary["packets"],
        packets_in(&inputs.pcaps),
        "every packet sent was inspected\n{stderr}"
    );
    assert_eq!(
        &alerts_by_sid(&eve),
        offline,
        "alerts per signature, live vs replay\n{stderr}"
    );
}

#[test]
fn live_equals_offline_in_xdp_driver_mode() {
    live_equals_offline("xdp driver mode", "xdp-drv", "xdp-driver-copy");
}

#[test]
fn live_equals_offline_in_xdp_generic_mode() {
    live_equals_offline("xdp generic mode", "xdp-skb", "xdp-skb");
}

#[test]
fn live_equals_offline_with_the_socket_fallback() {
    live_equals_offline("socket fallback", "socket", "socket");
}

#[test]
fn auto_mode_takes_driver_mode_on_veth_and_says_why_not_zero_copy() {
    let Some(inputs) = inputs("auto mode") else {
        return;
    };
    let ns = Netns::new(1).expect("namespaces and veth pair");
    let sensor = Sensor::start(&ns, &["--capture", "auto", "--rules", &inputs.rules]);
    let (summary, stderr) = sensor.stop();
    let iface = &summary["capture"]["interfaces"][0];
    assert_eq!(iface["mode"], "xdp-driver-copy", "{stderr}");
    let refusals = iface["refusals"].to_string();
    assert!(
        refusals.contains("zero-copy") && refusals.contains("os error 95"),
        "veth refuses zero-copy with EOPNOTSUPP: {refusals}"
    );
}

#[test]
fn two_queues_feed_two_workers() {
    let Some(inputs) = inputs("two queues") else {
        return;
    };
    let offline = offline(&inputs);
    let ns = Netns::new(2).expect("namespaces and veth pair with two queues");
    let dir = TempDir::new("two-queues");
    let eve = dir.0.join("eve.json");
    let eve_arg = eve.display().to_string();
    let sensor = Sensor::start(
        &ns,
        &[
            "--capture",
            "xdp-drv",
            "--rules",
            &inputs.rules,
            "--eve",
            &eve_arg,
        ],
    );
    // On veth a packet's queue is its sender's CPU modulo the queues: two senders pinned to
    // CPUs 0 and 1 fill both queues, each with whole captures (a flow stays on one queue).
    let (first, second) = inputs.pcaps.split_at(inputs.pcaps.len() / 2);
    std::thread::scope(|s| {
        s.spawn(|| ns.send(first, None, Some(0)));
        s.spawn(|| ns.send(second, None, Some(1)));
    });
    let (summary, stderr) = sensor.stop();
    let q = queues(&summary);
    assert_eq!(q.len(), 2, "{stderr}");
    assert!(
        q.iter().all(|q| q["packets"].as_u64() > Some(0)),
        "both queues received\n{stderr}"
    );
    assert_eq!(summary["workers"].as_array().map(Vec::len), Some(2));
    assert_eq!(summary["kernel_drops"], 0, "{stderr}");
    assert_eq!(summary["dispatch_drops"], 0, "{stderr}");
    assert_eq!(summary["packets"], packets_in(&inputs.pcaps), "{stderr}");
    assert_eq!(&alerts_by_sid(&eve), offline, "{stderr}");
}

/// The monitored-prefix filter: only the IEC 104 capture's hosts (172.27.248.0/24) are
/// monitored; the IRC capture's packets are left to the host's stack (XDP) or skipped
/// (socket), counted, and the alerts are those of the IEC capture alone.
#[test]
fn monitored_prefixes_leave_other_traffic_out() {
    let Some(inputs) = inputs("monitored prefixes") else {
        return;
    };
    let iec: Vec<PathBuf> = inputs
        .pcaps
        .iter()
        .filter(|p| p.ends_with("ndpi/iec60780-5-104.pcap"))
        .cloned()
        .collect();
    let irc: Vec<PathBuf> = inputs
        .pcaps
        .iter()
        .filter(|p| p.ends_with("zeek/irc-basic.pcap"))
        .cloned()
        .collect();
    let both: Vec<PathBuf> = iec.iter().chain(&irc).cloned().collect();
    let expected = offline_alerts(&iec, &["--rules", &inputs.rules]);
    assert!(!expected.is_empty());
    let dir = TempDir::new("prefixes");
    let config = dir.0.join("sensor.toml");
    std::fs::write(
        &config,
        "[capture]\nmonitored_prefixes = [\"172.27.248.0/24\"]\n",
    )
    .expect("write config");
    let config_arg = config.display().to_string();
    for (capture, in_kernel) in [("xdp-drv", true), ("socket", false)] {
        let ns = Netns::new(1).expect("namespaces and veth pair");
        let eve = dir.0.join(format!("{capture}.json"));
        let eve_arg = eve.display().to_string();
        let sensor = Sensor::start(
            &ns,
            &[
                "--capture",
                capture,
                "--config",
                &config_arg,
                "--rules",
                &inputs.rules,
                "--eve",
                &eve_arg,
            ],
        );
        ns.send(&both, None, None);
        let (summary, stderr) = sensor.stop();
        let q = &queues(&summary)[0];
        let (n_iec, n_irc) = (packets_in(&iec), packets_in(&irc));
        assert_eq!(summary["packets"], n_iec, "{capture}: inspected\n{stderr}");
        if in_kernel {
            let xdp = &summary["capture"]["interfaces"][0]["xdp"];
            assert_eq!(xdp["filtered"], n_irc, "{capture}\n{stderr}");
            assert_eq!(q["packets"], n_iec, "{capture}\n{stderr}");
        } else {
            assert_eq!(q["filtered"], n_irc, "{capture}\n{stderr}");
            assert_eq!(q["packets"], n_iec + n_irc, "{capture}\n{stderr}");
        }
        assert_eq!(alerts_by_sid(&eve), expected, "{capture}\n{stderr}");
    }
}

/// Flow bypass: with `[capture] bypass` and a small reassembly depth, flows past the depth
/// both ways and encrypted TLS flows are bypassed; their later packets are dropped in the
/// kernel (XDP) or skipped before dispatch (socket), counted; the alerts are a subset of
/// the offline ones with the same settings, the alerts raised before the bypass kept, and
/// every flow still has its flow record.
#[test]
fn bypassed_flows_are_dropped_early_and_counted() {
    let Some(inputs) = inputs("bypass") else {
        return;
    };
    let Some(shared) = shared() else {
        return;
    };
    let pcaps = vec![shared.join("corpus/pcaps").join(BYPASS_PCAP)];
    if !pcaps[0].exists() {
        println!("skipped: bypass: {} not found", pcaps[0].display());
        return;
    }
    let dir = TempDir::new("bypass");
    let settings = "[stream]\ndepth_bytes = 4096\n";
    let plain = dir.0.join("plain.toml");
    std::fs::write(&plain, settings).expect("write config");
    let config = dir.0.join("bypass.toml");
    std::fs::write(&config, format!("{settings}[capture]\nbypass = true\n")).expect("write config");
    let plain_arg = plain.display().to_string();
    let offline = offline_alerts(&pcaps, &["--config", &plain_arg, "--rules", &inputs.rules]);
    let config_arg = config.display().to_string();
    for (capture, in_kernel) in [("xdp-drv", true), ("socket", false)] {
        let ns = Netns::new(1).expect("namespaces and veth pair");
        let eve = dir.0.join(format!("{capture}.json"));
        let eve_arg = eve.display().to_string();
        let sensor = Sensor::start(
            &ns,
            &[
                "--capture",
                capture,
                "--config",
                &config_arg,
                "--rules",
                &inputs.rules,
                "--eve",
                &eve_arg,
            ],
        );
        // Slowly enough that a bypass is in place before the flow's next packets: the
        // control loop inserts within about 100 ms of the worker's report.
        ns.send(&pcaps, Some(BYPASS_PPS), None);
        let (summary, stderr) = sensor.stop();
        let bypass = &summary["capture"]["bypass"];
        assert!(
            bypass["flows_bypassed"].as_u64() > Some(0),
            "{capture}: flows bypassed\n{stderr}"
        );
        let q = &queues(&summary)[0];
        let skipped = if in_kernel {
            assert_eq!(bypass["userspace"], false);
            let dropped = summary["capture"]["interfaces"][0]["xdp"]["bypassed"]
                .as_u64()
                .unwrap_or(0);
            // Every packet dropped in the kernel is in some flow's entry, and vice versa.
            assert_eq!(
                bypass["kernel_packets"].as_u64(),
                Some(dropped),
                "{capture}\n{stderr}"
            );
            dropped
        } else {
            assert_eq!(bypass["userspace"], true);
            q["bypassed_packets"].as_u64().unwrap_or(0)
        };
        assert!(skipped > 0, "{capture}: later packets skipped\n{stderr}");
        let total = packets_in(&pcaps);
        assert_eq!(
            summary["packets"].as_u64(),
            Some(total - skipped),
            "{capture}: every packet inspected or bypassed\n{stderr}"
        );
        let live = alerts_by_sid(&eve);
        println!(
            "{capture}: bypass {bypass}; skipped {skipped} of {total} packets; alerts live \
             {live:?}, offline {offline:?}"
        );
        for (sid, n) in &live {
            assert!(
                offline.get(sid).is_some_and(|o| o >= n),
                "{capture}: sid {sid}: {n} live alerts, offline {:?}\n{stderr}",
                offline.get(sid)
            );
        }
        for sid in BYPASS_ALERTS_BEFORE {
            assert_eq!(
                live.get(sid),
                offline.get(sid),
                "{capture}: sid {sid} alerts before its flow's bypass are kept\n{stderr}"
            );
        }
        assert!(
            !flow_records(&eve).is_empty(),
            "{capture}: flow records still written\n{stderr}"
        );
    }
}

/// A capture of TLS sessions (Tor) that go encrypted, with an ET Open alert on the
/// handshake: 7 flows become bypassable, about half the packets come after.
const BYPASS_PCAP: &str = "ndpi/tor.pcap";
/// Its packets per second when sent (514 packets: under 3 s).
const BYPASS_PPS: u32 = 200;
/// Signatures that fire before their flow is bypassed (ET INFO on the TLS handshake).
const BYPASS_ALERTS_BEFORE: &[u64] = &[2012648];

/// Scrapes the metrics endpoint inside namespace `ns` (bash's /dev/tcp: no HTTP client
/// needed) and returns each sample's value by its name and labels.
fn scrape(ns: &str) -> BTreeMap<String, f64> {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", ns, "bash", "-c"])
        .arg(
            "exec 3<>/dev/tcp/127.0.0.1/9917 && printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3 \
             && cat <&3",
        )
        .output()
        .expect("run bash in the namespace");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/1.1 200"), "scrape: {text}");
    text.lines()
        .filter(|l| l.starts_with("tapwatch_"))
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}

fn ctl(socket: &std::path::Path, args: &[&str]) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .arg("ctl")
        .arg("--socket")
        .arg(socket)
        .arg("--json")
        .args(args)
        .output()
        .expect("run tapwatch ctl");
    assert!(out.status.success(), "tapwatch ctl {args:?}: {out:?}");
    let answer: Value = serde_json::from_slice(&out.stdout).expect("JSON answer");
    assert_eq!(answer["return"], "OK", "{answer}");
    answer["message"].clone()
}

/// While `tapwatch run` captures, the metrics endpoint and `tapwatch ctl dump-counters`
/// show every packet tcpreplay sent (capture threads and workers publish once a second),
/// and `tapwatch ctl shutdown` ends the run as SIGTERM does.
#[test]
fn metrics_and_the_control_socket_report_a_live_run() {
    let Some(inputs) = inputs("metrics and control socket") else {
        return;
    };
    let ns = Netns::new(1).expect("namespaces and veth pair");
    let dir = TempDir::new("metrics");
    let eve = dir.0.join("eve.json");
    let eve_arg = eve.display().to_string();
    let sensor = Sensor::start(&ns, &["--rules", &inputs.rules, "--eve", &eve_arg]);
    ns.send(&inputs.pcaps, None, None);
    let sent = packets_in(&inputs.pcaps);
    let socket = sensor.control.clone();
    // Published about once a second: wait (bounded) until the figures cover the traffic.
    let mut metrics = BTreeMap::new();
    let mut counters = Value::Null;
    for _ in 0..40 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        metrics = scrape(&ns.a);
        counters = ctl(&socket, &["dump-counters"]);
        if counters["totals"]["packets"] == sent
            && metrics.get("tapwatch_packets_total") == Some(&(sent as f64))
        {
            break;
        }
    }
    let captured: f64 = metrics
        .iter()
        .filter(|(k, _)| k.starts_with("tapwatch_capture_packets_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(captured, sent as f64, "{metrics:#?}");
    assert_eq!(
        metrics["tapwatch_packets_total"], sent as f64,
        "{metrics:#?}"
    );
    let alerts: f64 = metrics
        .iter()
        .filter(|(k, _)| k.starts_with("tapwatch_alerts_total{"))
        .map(|(_, v)| v)
        .sum();
    assert!(alerts > 0.0, "alerts by severity: {metrics:#?}");
    assert!(metrics["tapwatch_rules_loaded"] > 1000.0);
    assert_eq!(counters["totals"]["packets"], sent, "{counters:#}");
    let queued: u64 = counters["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .filter_map(|q| q["packets"].as_u64())
        .sum();
    assert_eq!(queued, sent, "{counters:#}");
    let stat = ctl(&socket, &["iface-stat", live_support::IFACE_A]);
    assert_eq!(stat["pkts"], sent, "{stat:#}");
    assert_eq!(stat["drop"], 0, "{stat:#}");
    let modes = ctl(&socket, &["capture-mode"]);
    assert_eq!(
        modes["interfaces"][0]["iface"],
        live_support::IFACE_A,
        "{modes:#}"
    );
    assert_eq!(ctl(&socket, &["shutdown"]), "Closing tapwatch");
    let (summary, stderr) = sensor.exited();
    assert_eq!(summary["packets"], sent, "{stderr}");
    assert!(!socket.exists(), "the socket file is removed at exit");
}
