//! `tapwatch ctl`, the binary, against a stand-in control socket (no capture, no root): the
//! request it sends, its text and `--json` output, and its exit statuses.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

fn ctl(socket: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .arg("ctl")
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .expect("run tapwatch ctl")
}

/// Serves one connection on `socket`: reads one request, answers `answer`, and returns the
/// request.
fn serve_once(listener: UnixListener, answer: Value) -> std::thread::JoinHandle<Value> {
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut line = String::new();
        reader.read_line(&mut line).expect("request");
        let mut out = stream;
        writeln!(out, "{answer}").expect("answer");
        serde_json::from_str(&line).expect("the request is JSON")
    })
}

#[test]
fn ctl_sends_one_request_and_prints_the_answer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("tw.sock");

    let server = serve_once(
        UnixListener::bind(&socket).expect("bind"),
        json!({"return": "OK", "message": {"iface": "eth1", "mode": "socket", "pkts": 12, "bytes": 3400,
               "drop": 1, "kernel_drops": 1, "dispatch_drops": 0, "bypassed": 0, "filtered": 0, "queues": []}}),
    );
    let out = ctl(&socket, &["iface-stat", "eth1"]);
    let request = server.join().expect("server");
    assert_eq!(
        request,
        json!({"command": "iface-stat", "arguments": {"iface": "eth1"}})
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("eth1 (socket): 12 packets, 3400 bytes, 1 dropped"),
        "{text}"
    );

    std::fs::remove_file(&socket).expect("remove");
    let answer = json!({"return": "OK", "message": 3723});
    let server = serve_once(UnixListener::bind(&socket).expect("bind"), answer.clone());
    let out = ctl(&socket, &["--json", "uptime"]);
    assert_eq!(server.join().expect("server"), json!({"command": "uptime"}));
    let printed: Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(printed, answer);

    std::fs::remove_file(&socket).expect("remove");
    let server = serve_once(
        UnixListener::bind(&socket).expect("bind"),
        json!({"return": "NOK", "message": "live rule reload failed"}),
    );
    let out = ctl(&socket, &["reload-rules"]);
    server.join().expect("server");
    assert_eq!(out.status.code(), Some(1), "NOK exits 1: {out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("reload-rules refused: live rule reload failed"),
        "{err}"
    );
}

#[test]
fn ctl_says_why_it_cannot_reach_the_service() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("none.sock");
    let out = ctl(&missing, &["version"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no control socket at"), "{err}");
    let out = ctl(&missing, &["uptime", "extra"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("takes no argument"));
}
