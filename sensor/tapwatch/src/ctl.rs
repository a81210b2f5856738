//! `tapwatch ctl`: one command to a running `tapwatch run` over its control socket, as
//! `suricatasc -c` does for Suricata. Human-readable text by default, the raw JSON answer
//! with `--json`.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{json, Value};
use tapwatch_runtime::control::{self, RELOAD_TIMEOUT};

use crate::{endpoints, CtlArgs};

/// How long to wait for an answer (a rule reload gets the server's own limit and a margin).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `tapwatch ctl`. Exit status 0 on `OK`, 1 on `NOK`, 2 when the socket cannot be
/// reached or the arguments are wrong.
pub fn run(args: &CtlArgs) -> anyhow::Result<ExitCode> {
    let socket = endpoints::ctl_socket(args.socket.as_deref(), args.config.as_deref())?;
    let arguments = arguments(&args.command, &args.args)?;
    let timeout = if args.command == "reload-rules" {
        RELOAD_TIMEOUT + Duration::from_secs(10)
    } else {
        ANSWER_TIMEOUT
    };
    let answer = control::request(&socket, &args.command, arguments, timeout)
        .with_context(|| format!("tapwatch ctl {}", args.command))?;
    let ok = answer["return"] == "OK";
    if args.json {
        println!("{answer}");
    } else if ok {
        print!("{}", human(&args.command, &answer["message"]));
    } else {
        eprintln!(
            "tapwatch ctl: {} refused: {}",
            args.command,
            answer["message"].as_str().unwrap_or("(no reason given)")
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The request's arguments from the command line's.
fn arguments(command: &str, args: &[String]) -> anyhow::Result<Option<Value>> {
    match (command, args) {
        ("iface-stat", [iface]) => Ok(Some(json!({ "iface": iface }))),
        ("iface-stat", _) => {
            anyhow::bail!("iface-stat takes one interface: tapwatch ctl iface-stat eth1")
        }
        (_, []) => Ok(None),
        (c, _) => anyhow::bail!("{c} takes no argument"),
    }
}

/// An `OK` answer's message as text for a person.
fn human(command: &str, m: &Value) -> String {
    let mut out = String::new();
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    match command {
        "version" => {
            let _ = writeln!(out, "tapwatch {}", m.as_str().unwrap_or("?"));
        }
        "uptime" => {
            let s = n(m);
            let _ = writeln!(
                out,
                "up {}d {:02}h {:02}m {:02}s ({s} s)",
                s / 86400,
                s / 3600 % 24,
                s / 60 % 60,
                s % 60
            );
        }
        "iface-list" => {
            for i in m["ifaces"].as_array().into_iter().flatten() {
                let _ = writeln!(out, "{}", i.as_str().unwrap_or("?"));
            }
        }
        "capture-mode" => {
            for i in m["interfaces"].as_array().into_iter().flatten() {
                let name = i["iface"].as_str().unwrap_or("?");
                for q in i["queues"].as_array().into_iter().flatten() {
                    let queue = q["queue"]
                        .as_u64()
                        .map_or_else(|| "all".to_owned(), |q| q.to_string());
                    let _ = writeln!(
                        out,
                        "{name} queue {queue}: {}",
                        q["mode"].as_str().unwrap_or("?")
                    );
                }
                for r in i["refusals"].as_array().into_iter().flatten() {
                    let _ = writeln!(out, "{name}: refused: {}", r.as_str().unwrap_or("?"));
                }
            }
        }
        "iface-stat" => {
            let _ = writeln!(
                out,
                "{} ({}): {} packets, {} bytes, {} dropped ({} by the kernel, {} at full worker queues), {} bypassed, {} filtered",
                m["iface"].as_str().unwrap_or("?"),
                m["mode"].as_str().unwrap_or("?"),
                n(&m["pkts"]),
                n(&m["bytes"]),
                n(&m["drop"]),
                n(&m["kernel_drops"]),
                n(&m["dispatch_drops"]),
                n(&m["bypassed"]),
                n(&m["filtered"]),
            );
            for q in m["queues"].as_array().into_iter().flatten() {
                let queue = q["queue"]
                    .as_u64()
                    .map_or_else(|| "all".to_owned(), |q| q.to_string());
                let causes: Vec<String> = q["kernel"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(_, v)| n(v) > 0)
                    .map(|(k, v)| format!("{k} {}", n(v)))
                    .collect();
                let _ = writeln!(
                    out,
                    "  queue {queue}: {} packets, {} bytes, {} dispatch drops, kernel: {}",
                    n(&q["packets"]),
                    n(&q["bytes"]),
                    n(&q["dispatch_drops"]),
                    if causes.is_empty() {
                        "no drops".to_owned()
                    } else {
                        causes.join(", ")
                    }
                );
            }
        }
        "ruleset-stats" | "reload-rules" => {
            let _ = writeln!(
                out,
                "rules: {} loaded, {} rejected; version {}",
                n(&m["loaded"]),
                n(&m["rejected"]),
                m["version"]
                    .as_str()
                    .filter(|v| !v.is_empty())
                    .unwrap_or("(none)")
            );
            match m.get("last_reload").filter(|r| !r.is_null()) {
                Some(r) => {
                    let _ = writeln!(
                        out,
                        "last reload: {} at {} (unix): {}",
                        if r["ok"] == true {
                            "succeeded"
                        } else {
                            "failed, running rules kept"
                        },
                        r["at"].as_f64().map_or(0, |t| t as u64),
                        r["message"].as_str().unwrap_or("")
                    );
                }
                None => {
                    let _ = writeln!(out, "no reload since start");
                }
            }
        }
        "shutdown" => {
            let _ = writeln!(out, "{}", m.as_str().unwrap_or("shutting down"));
        }
        // dump-counters, command-list and commands this client does not know: the
        // message as indented JSON.
        _ => {
            let text = serde_json::to_string_pretty(m).unwrap_or_default();
            let _ = writeln!(out, "{text}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_and_text() {
        assert_eq!(
            arguments("iface-stat", &["eth1".into()]).unwrap(),
            Some(json!({"iface": "eth1"}))
        );
        assert!(arguments("iface-stat", &[]).is_err());
        assert!(arguments("uptime", &["x".into()]).is_err());
        assert_eq!(arguments("dump-counters", &[]).unwrap(), None);
        assert_eq!(
            human("uptime", &json!(90061)),
            "up 1d 01h 01m 01s (90061 s)\n"
        );
        let text = human(
            "ruleset-stats",
            &json!({"version": "", "loaded": 3, "rejected": 1, "last_reload": {"at": 1.8e9, "ok": false, "message": "bad", "loaded": 0, "rejected": 9}}),
        );
        assert!(
            text.contains("3 loaded, 1 rejected; version (none)"),
            "{text}"
        );
        assert!(
            text.contains("failed, running rules kept at 1800000000 (unix): bad"),
            "{text}"
        );
        let text = human(
            "capture-mode",
            &json!({"interfaces": [{"iface": "eth1", "mode": "socket", "refusals": ["xdp: no"], "queues": [{"queue": null, "mode": "socket"}]}]}),
        );
        assert_eq!(text, "eth1 queue all: socket\neth1: refused: xdp: no\n");
        let text = human(
            "iface-stat",
            &json!({"iface": "eth1", "mode": "xdp-skb", "pkts": 5, "bytes": 9, "drop": 2, "kernel_drops": 2,
                    "dispatch_drops": 0, "bypassed": 0, "filtered": 0,
                    "queues": [{"queue": 0, "packets": 5, "bytes": 9, "dispatch_drops": 0,
                                "kernel": {"rx_dropped": 0, "rx_ring_full": 2}}]}),
        );
        assert!(
            text.starts_with("eth1 (xdp-skb): 5 packets, 9 bytes, 2 dropped"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "  queue 0: 5 packets, 9 bytes, 0 dispatch drops, kernel: rx_ring_full 2\n"
            ),
            "{text}"
        );
    }
}
