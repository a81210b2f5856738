//! The sensor as a systemd service: its log subscriber and its watchdog.
//!
//! The watchdog pings (`WATCHDOG=1`) every half `WatchdogSec` only while every worker
//! made progress since the previous look (`tapwatch_runtime::liveness`): a stuck worker
//! stops the pings, and systemd restarts the sensor. The other notifications (`READY=1`
//! once every queue captures, `STATUS=`, `STOPPING=1`, and `RELOADING=1`/`READY=1` around a
//! reload) go through the same [`Notifier`], which does nothing outside systemd.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tapwatch_runtime::liveness::{Checker, Liveness};
use tapwatch_service::{LogFormat, LoggingSection, Notifier};

/// Installs the log subscriber from the `[logging]` section of `config` (the defaults when
/// there is none, or when it does not parse: the command reports that itself).
/// Returns the form chosen, for `main`'s last word.
pub(crate) fn init_logging(config: Option<&Path>) -> LogFormat {
    let section = config
        .and_then(|p| tapwatch_pipeline::config::Config::load(p).ok())
        .map_or_else(LoggingSection::default, |c| c.logging);
    tapwatch_service::logging::init(&section).format
}

/// The notifier `NOTIFY_SOCKET` names (a no-op one outside systemd, or when the variable is
/// unusable: that is logged).
pub(crate) fn notifier() -> Arc<Notifier> {
    Arc::new(Notifier::from_env().unwrap_or_else(|e| {
        tracing::warn!("cannot notify systemd: {e}");
        Notifier::disabled()
    }))
}

/// Under systemd with `RuntimeDirectory=` (`$RUNTIME_DIRECTORY`, `/run/tapwatch`): keeps a
/// copy of the configuration file the sensor starts with as `running.toml` there, for
/// `tapwatch check --reload --running /run/tapwatch/running.toml` (the unit's
/// `ExecReload`) to say which edited settings a reload cannot apply. Elsewhere, nothing.
pub(crate) fn record_running_config(config: Option<&Path>) {
    let (Some(config), Some(dir)) = (config, std::env::var_os("RUNTIME_DIRECTORY")) else {
        return;
    };
    // systemd may list several directories separated by ':'; the first is ours.
    let dir = dir
        .to_string_lossy()
        .split(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    keep_copy(config, Path::new(&dir));
}

fn keep_copy(config: &Path, dir: &Path) {
    let target = dir.join(RUNNING_CONFIG);
    if let Err(e) = std::fs::copy(config, &target) {
        tracing::warn!(
            "cannot keep a copy of the configuration in {}: {e} (`tapwatch check --running` \
             will not be able to compare)",
            target.display()
        );
    }
}

/// The name of the running configuration's copy in the runtime directory.
pub(crate) const RUNNING_CONFIG: &str = "running.toml";

/// The watchdog thread; stops when dropped.
#[derive(Debug)]
pub(crate) struct Watchdog {
    done: Option<crossbeam_channel::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Starts pinging every `interval / 2` once `ready` is set, while every worker of
    /// `liveness` moves. `None` when systemd asked for no watchdog (`interval` unset).
    pub(crate) fn start(
        notifier: &Arc<Notifier>,
        liveness: &Arc<Liveness>,
        interval: Option<Duration>,
        ready: &Arc<AtomicBool>,
    ) -> std::io::Result<Option<Self>> {
        let Some(interval) = interval else {
            return Ok(None);
        };
        let period = interval / 2;
        let (done, wake) = crossbeam_channel::bounded::<()>(0);
        let (notifier, liveness, ready) = (
            Arc::clone(notifier),
            Arc::clone(liveness),
            Arc::clone(ready),
        );
        let thread = std::thread::Builder::new()
            .name("tapwatch-watchdog".into())
            .spawn(move || watch(&notifier, &liveness, period, &ready, &wake))?;
        tracing::info!(
            "watchdog: pinging systemd every {:.1} s while every worker makes progress",
            period.as_secs_f64()
        );
        Ok(Some(Self {
            done: Some(done),
            thread: Some(thread),
        }))
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn watch(
    notifier: &Notifier,
    liveness: &Liveness,
    period: Duration,
    ready: &AtomicBool,
    wake: &crossbeam_channel::Receiver<()>,
) {
    let mut checker: Option<Checker> = None;
    let mut stalled_before: Vec<usize> = Vec::new();
    while let Err(crossbeam_channel::RecvTimeoutError::Timeout) = wake.recv_timeout(period) {
        // systemd's watchdog runs from READY=1 on; before it, nothing to check.
        if !ready.load(Ordering::Acquire) {
            continue;
        }
        let Some(c) = checker.as_mut() else {
            checker = Some(Checker::new(liveness));
            notifier.watchdog();
            continue;
        };
        let stalled = c.stalled(liveness);
        if stalled.is_empty() {
            notifier.watchdog();
            if !stalled_before.is_empty() {
                tracing::warn!("watchdog: every worker makes progress again; pings resume");
            }
        } else if stalled != stalled_before {
            let names: Vec<String> = stalled
                .iter()
                .map(|w| format!("worker {w} (thread tapwatch-w{w})"))
                .collect();
            tracing::error!(
                "watchdog: {} made no progress for {:.1} s: stuck; pings to systemd stopped \
                 (it restarts the sensor when WatchdogSec passes)",
                names.join(", "),
                period.as_secs_f64()
            );
        }
        stalled_before = stalled;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    #[test]
    fn pings_while_workers_move_and_stop_when_one_is_stuck() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let rx = UnixDatagram::bind(&path).unwrap();
        rx.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let notifier = Arc::new(Notifier::to_address(path.to_str().unwrap()).unwrap());
        let liveness = Arc::new(Liveness::new(2));
        let ready = Arc::new(AtomicBool::new(false));
        let stop_beating = Arc::new(AtomicBool::new(false));
        std::thread::scope(|s| {
            // Two workers beating every 5 ms; worker 1 stops when told.
            for w in 0..2 {
                let (l, stop) = (Arc::clone(&liveness), Arc::clone(&stop_beating));
                s.spawn(move || {
                    for _ in 0..400 {
                        if !(w == 1 && stop.load(Ordering::Relaxed)) {
                            l.beat(w);
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                });
            }
            let dog = Watchdog::start(
                &notifier,
                &liveness,
                Some(Duration::from_millis(100)),
                &ready,
            )
            .unwrap()
            .unwrap();
            let mut buf = [0u8; 64];
            // Not ready: no ping.
            assert!(rx.recv(&mut buf).is_err(), "no ping before READY");
            ready.store(true, Ordering::Release);
            for _ in 0..3 {
                let n = rx.recv(&mut buf).expect("a ping while every worker moves");
                assert_eq!(&buf[..n], b"WATCHDOG=1");
            }
            stop_beating.store(true, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(120));
            // Drop what was sent before the stall was seen; then silence.
            rx.set_nonblocking(true).unwrap();
            for _ in 0..10 {
                let _ = rx.recv(&mut buf);
            }
            std::thread::sleep(Duration::from_millis(300));
            assert!(
                rx.recv(&mut buf).is_err(),
                "a stuck worker stops the pings: {:?}",
                String::from_utf8_lossy(&buf)
            );
            drop(dog);
        });
    }

    #[test]
    fn the_running_configuration_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("tapwatch.toml");
        std::fs::write(&config, "[capture]\ninterfaces = [\"eth1\"]\n").unwrap();
        let run = dir.path().join("run");
        std::fs::create_dir(&run).unwrap();
        keep_copy(&config, &run);
        assert_eq!(
            std::fs::read(run.join(RUNNING_CONFIG)).unwrap(),
            std::fs::read(&config).unwrap()
        );
        keep_copy(&config, &dir.path().join("absent")); // logged, not fatal
    }

    #[test]
    fn no_watchdog_without_interval() {
        let n = Arc::new(Notifier::disabled());
        let l = Arc::new(Liveness::new(1));
        let r = Arc::new(AtomicBool::new(true));
        assert!(Watchdog::start(&n, &l, None, &r).unwrap().is_none());
    }
}
