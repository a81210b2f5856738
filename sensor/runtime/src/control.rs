//! The control socket behind `tapwatch ctl`, as Suricata's unix socket behind `suricatasc`.
//!
//! **Protocol.** A unix stream socket; the client writes one JSON request per line,
//! `{"command": "iface-stat", "arguments": {"iface": "eth1"}}` (`args` is accepted for
//! `arguments`), and reads one JSON answer per line: `{"return": "OK", "message": ...}` or
//! `{"return": "NOK", "message": "why"}`. A connection may carry several requests.
//! suricatasc's opening `{"version": "..."}` line is answered `OK`, so its habits work.
//!
//! **Commands.** `version`, `uptime` (seconds), `capture-mode` (per interface and queue),
//! `iface-list`, `iface-stat` (`{"iface": NAME}`), `dump-counters` (everything the metrics
//! endpoint shows), `ruleset-stats`, `reload-rules`, `shutdown`, `command-list`. The last
//! two that act call the [`ControlActions`] given at start.
//!
//! **Bounds.** At most [`MAX_CONNECTIONS`] connections at once (one thread each; more are
//! answered `NOK` and closed), requests of at most [`MAX_REQUEST_BYTES`], and a connection
//! idle for [`IDLE_TIMEOUT`] is closed. `reload-rules` waits at most [`RELOAD_TIMEOUT`] for
//! the reload and then answers `NOK` (the reload goes on; `ruleset-stats` tells its outcome);
//! one reload runs at a time. Nothing here touches the packet path: answers are built from
//! the [`ServiceBoard`].
//!
//! **The socket file.** It is created under a temporary name, given its mode and group, then
//! renamed into place, so it is never reachable with looser permissions. A socket file left
//! by a process that died (nobody accepts on it) is replaced; one another process still
//! serves is refused ([`ControlError::InUse`]); any other kind of file is left alone and
//! refused. The file is removed when the server stops.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::board::ServiceBoard;
use crate::ruleset_status::RulesetStatus;

/// Connections served at once at most.
pub const MAX_CONNECTIONS: usize = 8;
/// Longest request line.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// A connection without a request for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `reload-rules` waits for the reload before answering `NOK` (the reload itself
/// goes on; compiling a large rule set without a cache can take minutes).
pub const RELOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// How often the accepting thread looks for a new connection or the stop flag.
const ACCEPT_POLL: Duration = Duration::from_millis(50);

/// Every command, for `command-list` and the unknown-command answer.
pub const COMMANDS: &[&str] = &[
    "capture-mode",
    "command-list",
    "dump-counters",
    "iface-list",
    "iface-stat",
    "reload-rules",
    "ruleset-stats",
    "shutdown",
    "uptime",
    "version",
];

/// What the control socket asks the service to do.
pub trait ControlActions: Send + Sync {
    /// Reloads the rules and returns the new status, or says why the running rules were
    /// kept. Called on a thread of its own; the caller waits at most [`RELOAD_TIMEOUT`].
    fn reload_rules(&self) -> Result<RulesetStatus, String>;
    /// Asks the service to stop (as SIGTERM does); returns at once.
    fn shutdown(&self);
}

/// Where and how the socket is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlOptions {
    /// The socket file.
    pub path: PathBuf,
    /// Its permission bits (e.g. `0o660`).
    pub mode: u32,
    /// Its group, by name or number (`None`: the process's group).
    pub group: Option<String>,
}

/// The control socket could not start.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Another process serves the socket.
    #[error(
        "[control] socket {0}: another process (a running tapwatch?) serves this socket; \
         stop it, or give this one another path ([control] socket, or --control-socket)"
    )]
    InUse(PathBuf),
    /// Something that is not a socket is in the way.
    #[error("[control] socket {0}: the path exists and is not a socket; remove it or choose another path")]
    NotASocket(PathBuf),
    /// The group is not known.
    #[error(
        "[control] group = \"{0}\": no such group in /etc/group (give a group name or a number)"
    )]
    UnknownGroup(String),
    /// A file system operation failed.
    #[error("[control] socket {path}: cannot {what}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What was tried.
        what: &'static str,
        /// Why it failed.
        source: std::io::Error,
    },
}

fn io_err<'a>(
    path: &'a Path,
    what: &'static str,
) -> impl FnOnce(std::io::Error) -> ControlError + 'a {
    move |source| ControlError::Io {
        path: path.to_path_buf(),
        what,
        source,
    }
}

/// The running control socket; [`ControlServer::stop`] (or dropping it) ends it and removes
/// the socket file.
#[derive(Debug)]
pub struct ControlServer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ControlServer {
    /// Makes the socket as `options` say and serves it from a thread of its own.
    pub fn start(
        options: &ControlOptions,
        board: Arc<ServiceBoard>,
        actions: Arc<dyn ControlActions>,
    ) -> Result<Self, ControlError> {
        let path = options.path.clone();
        let gid = options.group.as_deref().map(group_id).transpose()?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io_err(dir, "create its directory"))?;
        }
        clear_stale(&path)?;
        let mut tmp = path.clone().into_os_string();
        tmp.push(format!(".{}.tmp", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let _ = std::fs::remove_file(&tmp);
        let listener = UnixListener::bind(&tmp).map_err(io_err(&path, "listen"))?;
        let placed = (|| {
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(options.mode))
                .map_err(io_err(&path, "set its mode"))?;
            if gid.is_some() {
                std::os::unix::fs::chown(&tmp, None, gid)
                    .map_err(io_err(&path, "set its group"))?;
            }
            std::fs::rename(&tmp, &path).map_err(io_err(&path, "put it in place"))
        })();
        if let Err(e) = placed {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        // Polled, so that stopping never depends on reaching the socket file again.
        listener
            .set_nonblocking(true)
            .map_err(io_err(&path, "listen"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("tw-control".into())
            .spawn(move || serve(&listener, &board, &actions, &flag))
            .map_err(io_err(&path, "start its thread"))?;
        Ok(Self {
            path,
            stop,
            thread: Some(thread),
        })
    }

    /// The socket file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops accepting, waits for the accepting thread (at most 50 ms) and
    /// removes the socket file (connections still open end at their next request or their
    /// idle timeout).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.shutdown();
        }
    }
}

/// Removes a stale socket at `path`; refuses a live one or another kind of file.
fn clear_stale(path: &Path) -> Result<(), ControlError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(path, "look at it")(e)),
    };
    if !meta.file_type().is_socket() {
        return Err(ControlError::NotASocket(path.to_path_buf()));
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(ControlError::InUse(path.to_path_buf())),
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
            std::fs::remove_file(path).map_err(io_err(path, "remove the stale socket"))
        }
        Err(e) => Err(io_err(path, "check whether it is in use")(e)),
    }
}

/// A group's id from its name (in /etc/group) or number.
fn group_id(group: &str) -> Result<u32, ControlError> {
    if let Ok(n) = group.parse::<u32>() {
        return Ok(n);
    }
    let text = std::fs::read_to_string("/etc/group").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let gid = f.nth(1)?.parse::<u32>().ok()?;
            (name == group).then_some(gid)
        })
        .next()
        .ok_or_else(|| ControlError::UnknownGroup(group.to_owned()))
}

fn serve(
    listener: &UnixListener,
    board: &Arc<ServiceBoard>,
    actions: &Arc<dyn ControlActions>,
    stop: &AtomicBool,
) {
    let open = Arc::new(AtomicUsize::new(0));
    let reloading = Arc::new(AtomicBool::new(false));
    while !stop.load(Ordering::Acquire) {
        let mut stream = match listener.accept() {
            Ok((s, _)) => s,
            // Nobody waiting (or out of descriptors): look again soon.
            Err(_) => {
                std::thread::sleep(ACCEPT_POLL);
                continue;
            }
        };
        // The listener is non-blocking; a connection is served blocking, with timeouts.
        if stream.set_nonblocking(false).is_err() {
            continue;
        }
        if open.load(Ordering::Acquire) >= MAX_CONNECTIONS {
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = write_answer(&mut stream, &nok("too many control connections; try again"));
            continue;
        }
        open.fetch_add(1, Ordering::AcqRel);
        let conn = Connection {
            board: Arc::clone(board),
            actions: Arc::clone(actions),
            reloading: Arc::clone(&reloading),
        };
        let open_c = Arc::clone(&open);
        let spawned = std::thread::Builder::new()
            .name("tw-control-c".into())
            .spawn(move || {
                let _ = conn.serve(stream);
                open_c.fetch_sub(1, Ordering::AcqRel);
            });
        if spawned.is_err() {
            open.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

struct Connection {
    board: Arc<ServiceBoard>,
    actions: Arc<dyn ControlActions>,
    reloading: Arc<AtomicBool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    command: Option<String>,
    #[serde(default, alias = "args")]
    arguments: Option<Value>,
    /// suricatasc's handshake.
    #[serde(default)]
    version: Option<Value>,
}

fn ok(message: impl Into<Value>) -> Value {
    json!({"return": "OK", "message": message.into()})
}

fn nok(message: impl Into<String>) -> Value {
    json!({"return": "NOK", "message": message.into()})
}

fn write_answer(stream: &mut UnixStream, answer: &Value) -> std::io::Result<()> {
    let mut line = answer.to_string();
    line.push('\n');
    stream.write_all(line.as_bytes())?;
    stream.flush()
}

impl Connection {
    fn serve(&self, stream: UnixStream) -> std::io::Result<()> {
        stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
        stream.set_write_timeout(Some(Duration::from_secs(10)))?;
        let mut out = stream.try_clone()?;
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = (&mut reader)
                .take(MAX_REQUEST_BYTES as u64 + 1)
                .read_until(b'\n', &mut line)?;
            if n == 0 {
                return Ok(());
            }
            if line.len() > MAX_REQUEST_BYTES {
                write_answer(&mut out, &nok("request too long"))?;
                return Ok(());
            }
            let text = String::from_utf8_lossy(&line);
            if text.trim().is_empty() {
                continue;
            }
            let (answer, stop) = self.answer(text.trim());
            // Stopping takes the service a while (capture drains, workers finish) and the
            // socket is served until the end, so the answer still goes out.
            if stop {
                self.actions.shutdown();
            }
            write_answer(&mut out, &answer)?;
        }
    }

    /// The answer to one request line, and whether to stop the service.
    fn answer(&self, line: &str) -> (Value, bool) {
        let request: Request = match serde_json::from_str(line) {
            Ok(r) => r,
            Err(e) => {
                return (
                    nok(format!(
                        "malformed request ({e}); send one JSON object per line: \
                         {{\"command\": \"version\"}}"
                    )),
                    false,
                )
            }
        };
        let Some(command) = request.command else {
            return if request.version.is_some() {
                (ok("tapwatch"), false)
            } else {
                (nok("missing \"command\""), false)
            };
        };
        let args = request.arguments.unwrap_or(Value::Null);
        match command.as_str() {
            "shutdown" => (ok("Closing tapwatch"), true),
            other => (self.command(other, &args), false),
        }
    }

    fn command(&self, command: &str, args: &Value) -> Value {
        let board = &self.board;
        match command {
            "version" => ok(board.version()),
            "uptime" => ok(board.uptime().as_secs()),
            "command-list" => ok(json!({"count": COMMANDS.len(), "commands": COMMANDS})),
            "capture-mode" => {
                let s = board.snapshot();
                let interfaces: Vec<Value> = s
                    .interfaces
                    .iter()
                    .map(|i| {
                        let queues: Vec<Value> = s
                            .queues
                            .iter()
                            .filter(|q| q.interface == i.name)
                            .map(|q| json!({"queue": q.queue, "mode": q.mode.name()}))
                            .collect();
                        json!({
                            "iface": i.name,
                            "mode": i.mode.name(),
                            "refusals": i.refusals,
                            "queues": queues,
                        })
                    })
                    .collect();
                ok(json!({ "interfaces": interfaces }))
            }
            "iface-list" => {
                let names: Vec<String> = board
                    .snapshot()
                    .interfaces
                    .into_iter()
                    .map(|i| i.name)
                    .collect();
                ok(json!({"count": names.len(), "ifaces": names}))
            }
            "iface-stat" => {
                let Some(name) = args.get("iface").and_then(Value::as_str) else {
                    return nok("iface-stat needs {\"iface\": NAME}");
                };
                iface_stat(board, name)
            }
            "dump-counters" => match serde_json::to_value(board.snapshot()) {
                Ok(v) => ok(v),
                Err(e) => nok(format!("cannot encode the counters: {e}")),
            },
            "ruleset-stats" => match serde_json::to_value(board.ruleset()) {
                Ok(v) => ok(v),
                Err(e) => nok(format!("cannot encode the rule set's status: {e}")),
            },
            "reload-rules" => self.reload(),
            other => nok(format!(
                "unknown command \"{other}\"; commands: {}",
                COMMANDS.join(", ")
            )),
        }
    }

    fn reload(&self) -> Value {
        if self.reloading.swap(true, Ordering::AcqRel) {
            return nok("a rule reload is already running");
        }
        let (tx, rx) = mpsc::sync_channel(1);
        let actions = Arc::clone(&self.actions);
        let reloading = Arc::clone(&self.reloading);
        let spawned = std::thread::Builder::new()
            .name("tw-reload".into())
            .spawn(move || {
                let result = actions.reload_rules();
                reloading.store(false, Ordering::Release);
                let _ = tx.send(result);
            });
        if let Err(e) = spawned {
            self.reloading.store(false, Ordering::Release);
            return nok(format!("cannot start the reload: {e}"));
        }
        match rx.recv_timeout(RELOAD_TIMEOUT) {
            Ok(Ok(status)) => match serde_json::to_value(status) {
                Ok(v) => ok(v),
                Err(e) => nok(format!("reloaded, but cannot encode the status: {e}")),
            },
            Ok(Err(why)) => nok(why),
            Err(_) => nok(format!(
                "the reload is still running after {} s; `tapwatch ctl ruleset-stats` will tell \
                 its outcome",
                RELOAD_TIMEOUT.as_secs()
            )),
        }
    }
}

fn iface_stat(board: &ServiceBoard, name: &str) -> Value {
    let s = board.snapshot();
    let Some(iface) = s.interfaces.iter().find(|i| i.name == name) else {
        let names: Vec<&str> = s.interfaces.iter().map(|i| i.name.as_str()).collect();
        return nok(format!(
            "no interface \"{name}\" is captured; interfaces: {}",
            names.join(", ")
        ));
    };
    let queues: Vec<&crate::live::QueueReport> =
        s.queues.iter().filter(|q| q.interface == name).collect();
    let sum =
        |f: &dyn Fn(&crate::live::QueueReport) -> u64| -> u64 { queues.iter().map(|q| f(q)).sum() };
    ok(json!({
        "iface": name,
        "mode": iface.mode.name(),
        "pkts": sum(&|q| q.packets),
        "bytes": sum(&|q| q.bytes),
        "kernel_drops": sum(&|q| q.kernel.drops()),
        "dispatch_drops": sum(&|q| q.dispatch_drops),
        "drop": sum(&|q| q.kernel.drops() + q.dispatch_drops),
        "bypassed": sum(&|q| q.bypassed_packets) + iface.xdp.map_or(0, |x| x.bypassed),
        "filtered": sum(&|q| q.filtered) + iface.xdp.map_or(0, |x| x.filtered),
        "xdp": iface.xdp,
        "queues": queues,
    }))
}

/// The client's side: why a request could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No socket file.
    #[error(
        "no control socket at {0}: is `tapwatch run` running with [control] enabled? (give the \
         socket with --socket PATH, or the service's configuration with --config FILE)"
    )]
    Missing(PathBuf),
    /// Not allowed.
    #[error(
        "permission denied on {0}: run as root or as a member of the socket's group ([control] \
         group and mode)"
    )]
    Denied(PathBuf),
    /// A socket file nobody serves.
    #[error("nothing answers on {0}: tapwatch is not running (the socket is stale)")]
    Refused(PathBuf),
    /// Anything else.
    #[error("control socket {path}: {source}")]
    Io {
        /// The socket.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The answer was not JSON.
    #[error("control socket {0}: the answer is not JSON: {1}")]
    BadAnswer(PathBuf, String),
}

/// Sends one request to the socket at `path` and returns its answer (the whole JSON object),
/// waiting at most `timeout` for it.
pub fn request(
    path: &Path,
    command: &str,
    arguments: Option<Value>,
    timeout: Duration,
) -> Result<Value, ClientError> {
    let mut stream = UnixStream::connect(path).map_err(|e| match e.kind() {
        ErrorKind::NotFound => ClientError::Missing(path.to_path_buf()),
        ErrorKind::PermissionDenied => ClientError::Denied(path.to_path_buf()),
        ErrorKind::ConnectionRefused => ClientError::Refused(path.to_path_buf()),
        _ => ClientError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    })?;
    let io = |source| ClientError::Io {
        path: path.to_path_buf(),
        source,
    };
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .map_err(io)?;
    let mut req = json!({ "command": command });
    if let Some(a) = arguments {
        req["arguments"] = a;
    }
    let answer = write_answer(&mut stream, &req).and_then(|()| {
        let mut line = String::new();
        BufReader::new(&stream).read_line(&mut line).map(|_| line)
    });
    let line = answer.map_err(io)?;
    serde_json::from_str(&line)
        .map_err(|e| ClientError::BadAnswer(path.to_path_buf(), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::tests::sample_board;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Actions {
        stopped: AtomicBool,
        reload: Mutex<Option<Result<RulesetStatus, String>>>,
    }

    impl ControlActions for Actions {
        fn reload_rules(&self) -> Result<RulesetStatus, String> {
            self.reload
                .lock()
                .unwrap()
                .clone()
                .unwrap_or_else(|| Err("not available".into()))
        }
        fn shutdown(&self) {
            self.stopped.store(true, Ordering::Release);
        }
    }

    fn start(dir: &Path) -> (ControlServer, Arc<Actions>, PathBuf) {
        let actions = Arc::new(Actions::default());
        let path = dir.join("run").join("tapwatch.sock");
        let server = ControlServer::start(
            &ControlOptions {
                path: path.clone(),
                mode: 0o660,
                group: None,
            },
            sample_board(),
            Arc::clone(&actions) as Arc<dyn ControlActions>,
        )
        .unwrap();
        (server, actions, path)
    }

    const T: Duration = Duration::from_secs(10);

    fn message(path: &Path, command: &str, args: Option<Value>) -> Value {
        let a = request(path, command, args, T).unwrap();
        assert_eq!(a["return"], "OK", "{command}: {a}");
        a["message"].clone()
    }

    #[test]
    fn every_command_answers_over_a_real_socket() {
        let dir = tempfile::tempdir().unwrap();
        let (server, actions, path) = start(dir.path());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o660);
        assert_eq!(message(&path, "version", None), "9.9.9");
        assert!(message(&path, "uptime", None).as_u64().is_some());
        let m = message(&path, "command-list", None);
        assert_eq!(m["count"], COMMANDS.len());
        let m = message(&path, "capture-mode", None);
        assert_eq!(m["interfaces"][0]["iface"], "eth1");
        assert_eq!(m["interfaces"][0]["queues"][0]["mode"], "xdp-driver-copy");
        assert_eq!(
            message(&path, "iface-list", None)["ifaces"],
            json!(["eth1"])
        );
        let m = message(&path, "iface-stat", Some(json!({"iface": "eth1"})));
        assert_eq!(
            (m["pkts"].as_u64(), m["kernel_drops"].as_u64()),
            (Some(1300), Some(9))
        );
        assert_eq!(m["drop"], 9 + 66);
        let a = request(&path, "iface-stat", Some(json!({"iface": "eth9"})), T).unwrap();
        assert_eq!(a["return"], "NOK");
        assert!(a["message"].as_str().unwrap().contains("eth1"), "{a}");
        let a = request(&path, "iface-stat", None, T).unwrap();
        assert_eq!(a["return"], "NOK");
        let m = message(&path, "dump-counters", None);
        assert_eq!(m["totals"]["packets"], 1234);
        assert_eq!(m["queues"][0]["dispatch_drops"], 66);
        assert_eq!(m["ruleset"]["loaded"], 100);
        let m = message(&path, "ruleset-stats", None);
        assert_eq!(
            (m["version"].as_str(), m["rejected"].as_u64()),
            (Some("abc123"), Some(2))
        );
        let a = request(&path, "reload-rules", None, T).unwrap();
        assert_eq!(a, json!({"return": "NOK", "message": "not available"}));
        *actions.reload.lock().unwrap() = Some(Ok(RulesetStatus {
            version: "v2".into(),
            loaded: 5,
            ..RulesetStatus::default()
        }));
        assert_eq!(message(&path, "reload-rules", None)["version"], "v2");
        let a = request(&path, "no-such-thing", None, T).unwrap();
        assert_eq!(a["return"], "NOK");
        assert!(
            a["message"].as_str().unwrap().contains("dump-counters"),
            "{a}"
        );
        assert!(!actions.stopped.load(Ordering::Acquire));
        assert_eq!(message(&path, "shutdown", None), "Closing tapwatch");
        assert!(actions.stopped.load(Ordering::Acquire));
        server.stop();
        assert!(!path.exists(), "the socket file is removed at the end");
    }

    #[test]
    fn malformed_requests_get_nok_and_the_connection_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let (_server, _actions, path) = start(dir.path());
        let mut s = UnixStream::connect(&path).unwrap();
        s.set_read_timeout(Some(T)).unwrap();
        s.write_all(b"{\"version\": \"0.2\"}\nnot json\n{\"cmd\": 1}\n{}\n{\"command\": \"iface-stat\", \"args\": {\"iface\": \"eth1\"}}\n")
            .unwrap();
        let mut lines = BufReader::new(s).lines();
        let mut next =
            || -> Value { serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap() };
        assert_eq!(next()["return"], "OK", "suricatasc's handshake");
        let a = next();
        assert_eq!(a["return"], "NOK");
        assert!(a["message"].as_str().unwrap().contains("malformed"), "{a}");
        assert_eq!(next()["return"], "NOK", "unknown field");
        assert_eq!(next()["return"], "NOK", "no command");
        assert_eq!(
            next()["message"]["pkts"],
            1300,
            "args is taken for arguments"
        );
    }

    #[test]
    fn a_stale_socket_is_replaced_and_a_live_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run").join("tapwatch.sock");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // A socket whose listener is gone: stale.
        drop(UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let (server, _actions, path) = start(dir.path());
        assert_eq!(message(&path, "version", None), "9.9.9");
        // A second service on the same path is refused, and the first keeps its socket.
        let err = ControlServer::start(
            &ControlOptions {
                path: path.clone(),
                mode: 0o600,
                group: None,
            },
            sample_board(),
            Arc::new(Actions::default()),
        )
        .unwrap_err();
        assert!(matches!(err, ControlError::InUse(_)), "{err}");
        assert!(err.to_string().contains("another process"), "{err}");
        assert_eq!(message(&path, "version", None), "9.9.9");
        drop(server);
        assert!(!path.exists());
        // A regular file in the way is left alone.
        std::fs::write(&path, b"x").unwrap();
        let err = ControlServer::start(
            &ControlOptions {
                path: path.clone(),
                mode: 0o600,
                group: None,
            },
            sample_board(),
            Arc::new(Actions::default()),
        )
        .unwrap_err();
        assert!(matches!(err, ControlError::NotASocket(_)), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"x");
    }

    #[test]
    fn the_client_says_why_it_cannot_connect() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.sock");
        let err = request(&missing, "version", None, T).unwrap_err();
        assert!(matches!(err, ClientError::Missing(_)), "{err}");
        let stale = dir.path().join("stale.sock");
        drop(UnixListener::bind(&stale).unwrap());
        let err = request(&stale, "version", None, T).unwrap_err();
        assert!(matches!(err, ClientError::Refused(_)), "{err}");
        assert!(group_id("0").is_ok());
        assert!(group_id("root").is_ok_and(|g| g == 0));
        assert!(matches!(
            group_id("no-such-group-here"),
            Err(ControlError::UnknownGroup(_))
        ));
    }
}
