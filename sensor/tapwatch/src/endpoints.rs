//! What `tapwatch run` serves besides capture: the Prometheus metrics endpoint (`[metrics]`)
//! and the control socket (`[control]`, for `tapwatch ctl`), both reading the run's
//! [`ServiceBoard`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use std::time::{Duration, UNIX_EPOCH};

use tapwatch_export::HealthSource as _;
use tapwatch_pipeline::config::Config;
use tapwatch_runtime::board::ServiceBoard;
use tapwatch_runtime::control::{ControlActions, ControlOptions, ControlServer};
use tapwatch_runtime::health::HealthBoard;
use tapwatch_runtime::metrics::MetricsServer;
use tapwatch_runtime::reload::Ruleset;
use tapwatch_runtime::ruleset_status::{ReloadOutcome, RulesetStatus};

/// Reloads the rules and returns the status then (the control socket's `reload-rules`).
pub type ReloadFn = Arc<dyn Fn() -> Result<RulesetStatus, String> + Send + Sync>;

/// The running endpoints.
#[derive(Debug, Default)]
pub struct Services {
    metrics: Option<MetricsServer>,
    control: Option<ControlServer>,
}

impl Services {
    /// Starts what the configuration enables; `control_socket` (`--control-socket`)
    /// replaces `[control] socket`. `stop` is the run's stop flag, which the control
    /// socket's `shutdown` sets; `reload` is what its `reload-rules` calls.
    pub fn start(
        config: &Config,
        config_dir: Option<&Path>,
        control_socket: Option<&Path>,
        board: &Arc<ServiceBoard>,
        stop: &Arc<AtomicBool>,
        reload: ReloadFn,
    ) -> anyhow::Result<Self> {
        let mut services = Services::default();
        if config.metrics.enabled {
            let server = MetricsServer::start(config.metrics.listen, Arc::clone(board))?;
            tracing::info!("metrics at http://{}/metrics", server.local_addr());
            services.metrics = Some(server);
        }
        if config.control.enabled {
            let path = control_socket
                .map_or_else(|| config.control.socket_path(config_dir), Path::to_path_buf);
            let options = ControlOptions {
                path,
                mode: config.control.mode.bits(),
                group: config.control.group.clone(),
            };
            let actions = Arc::new(RunActions {
                stop: Arc::clone(stop),
                reload,
            });
            let server = ControlServer::start(&options, Arc::clone(board), actions)?;
            tracing::info!(
                "control socket {} (tapwatch ctl --socket {0} COMMAND)",
                server.path().display()
            );
            services.control = Some(server);
        }
        Ok(services)
    }

    /// Stops the endpoints (the control socket's file is removed).
    pub fn stop(self) {
        if let Some(m) = self.metrics {
            m.stop();
        }
        if let Some(c) = self.control {
            c.stop();
        }
    }
}

/// What the control socket may ask of `tapwatch run`.
struct RunActions {
    stop: Arc<AtomicBool>,
    reload: ReloadFn,
}

impl ControlActions for RunActions {
    fn reload_rules(&self) -> Result<RulesetStatus, String> {
        (self.reload)()
    }

    fn shutdown(&self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// The status of the rule set `running`, with the last reload's outcome as published for
/// `Health` in `health`.
pub fn ruleset_status(running: &Ruleset, health: &HealthBoard) -> RulesetStatus {
    let last_reload = health
        .sensor_health()
        .ruleset
        .and_then(|r| r.last_reload)
        .map(|r| ReloadOutcome {
            at: UNIX_EPOCH + Duration::from_micros(u64::try_from(r.at_us).unwrap_or(0)),
            ok: r.ok,
            message: r.message,
            loaded: r.loaded,
            rejected: r.rejected,
        });
    RulesetStatus {
        version: running.sha256.clone(),
        loaded: running.loaded,
        rejected: running.rejected,
        last_reload,
    }
}

/// The socket `tapwatch ctl` talks to: `--socket`, else the configuration's (`--config`),
/// else the default.
pub fn ctl_socket(socket: Option<&Path>, config: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(s) = socket {
        return Ok(s.to_path_buf());
    }
    match config {
        Some(path) => {
            let c = Config::load(path)?;
            let dir = tapwatch_pipeline::detect_setup::config_dir(Some(path));
            Ok(c.control.socket_path(dir.as_deref()))
        }
        None => Ok(PathBuf::from(
            tapwatch_pipeline::config::DEFAULT_CONTROL_SOCKET,
        )),
    }
}
