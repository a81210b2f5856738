//! Live rule reload: a new rule set parsed and compiled beside the running one, checked, then
//! swapped into every worker between two packet batches ([`crate::swap`]).
//!
//! What a reload reads again: the configuration file's `[detect]` section (rule files, rule
//! path, variables, `classification.config`, `threshold.config`, cache, prefilter, limits and
//! `reload_min_percent`), except `[detect.alert]`, and the rule files with the command line's
//! `--rules` and `--var` on top, as at start. Every other setting needs a restart: a reload
//! that finds one changed applies the rules and names the settings it left as they were.
//!
//! A reload is refused, and the running rules stay, when the configuration or a rule file
//! cannot be read, no rule loads, the new set would run fewer rules than
//! `reload_min_percent` of the running one, or the self-test fails: a worker's detector cannot
//! be built for the engine, or a throwaway worker running it panics on a few made-up packets.
//!
//! Memory: the new engine is built while the old one runs, and the old one is freed once
//! every worker swapped, its memory given back to the system; the peak is the two engines plus
//! the new rules' parse (measured by `bench/reload.sh`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use tapwatch_capture::RawPacket;
use tapwatch_common::{LinkType, Timestamp};
use tapwatch_detect::{Detector, Engine, HostState, StateNames};
use tapwatch_pipeline::config::Config;
use tapwatch_pipeline::detect_setup::{self, DetectArgs, Startup};
use tapwatch_pipeline::worker::Worker;

use crate::swap::EngineSwap;

/// How long a reload waits for every worker to take the new engine.
pub const SWAP_WAIT: Duration = Duration::from_secs(10);

/// The nice value of the thread that builds a reloaded rule set: below the workers, so that a
/// compilation on a busy sensor takes longer rather than costing packets.
const BUILD_NICE: u8 = 10;

/// The rule set a sensor runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ruleset {
    /// Lower-case hex SHA-256 over the rule files' contents (empty: no rule file).
    pub sha256: String,
    /// Rule files, in load order.
    pub files: Vec<PathBuf>,
    /// Rules the engine runs.
    pub loaded: u64,
    /// Rules named but not loaded.
    pub rejected: u64,
    /// When it was loaded.
    pub loaded_at: SystemTime,
}

impl Ruleset {
    /// The rule set `startup` loaded.
    pub fn of(startup: &Startup) -> Self {
        Self {
            sha256: startup.ruleset_sha256.clone(),
            files: startup.files.clone(),
            loaded: startup.loaded as u64,
            rejected: startup.rejected() as u64,
            loaded_at: SystemTime::now(),
        }
    }
}

/// Why a reload kept the running rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReloadError {
    /// The configuration file could not be read or is invalid.
    #[error("the configuration cannot be used: {0}")]
    Config(String),
    /// A rule, classification or threshold file could not be read, or the engine could not
    /// be built.
    #[error("the rules cannot be loaded: {0}")]
    Load(String),
    /// No rule loaded (no rule file named, or every rule rejected).
    #[error("no rule would run ({rejected} rejected): a sensor without rules detects nothing")]
    NoRules {
        /// Rules rejected.
        rejected: u64,
    },
    /// The new set is much smaller than the running one.
    #[error(
        "the new rules would run {loaded} rules, fewer than {min_percent}% of the {running} \
         running now (a truncated or partial rule file?); set [detect] reload_min_percent to \
         accept it"
    )]
    TooFewRules {
        /// Rules the new set would run.
        loaded: u64,
        /// Rules running now.
        running: u64,
        /// `[detect] reload_min_percent`.
        min_percent: u8,
    },
    /// The new engine failed its self-test.
    #[error("the new rules failed their self-test: {0}")]
    SelfTest(String),
}

/// What a successful reload did.
#[derive(Debug, Clone)]
pub struct Reloaded {
    /// The rule set now running.
    pub ruleset: Ruleset,
    /// The rule set it replaced.
    pub previous: Ruleset,
    /// Rejections of the new set, as the operator reads them (`file:line sid reason`), at
    /// most [`Reloaded::REJECTIONS_KEPT`].
    pub rejections: Vec<String>,
    /// Reading, parsing and compiling the new rules.
    pub build_time: Duration,
    /// From the offer to the last worker's swap.
    pub swap_time: Duration,
    /// Whether every worker swapped within [`SWAP_WAIT`] (the others swap at their next
    /// batch).
    pub all_swapped: bool,
    /// Settings that changed in the configuration file but need a restart (left as they
    /// were).
    pub restart_needed: Vec<&'static str>,
}

impl Reloaded {
    /// Rejections kept in the report.
    pub const REJECTIONS_KEPT: usize = 20;
}

/// Where a sensor's rules come from: what it was started with.
#[derive(Debug, Clone)]
pub struct RuleSource {
    /// The configuration file's settings the workers were started with (without the command
    /// line's overrides, which a reload keeps: it compares the file with this).
    pub config: Config,
    /// The file it was read from (read again by each reload), if any.
    pub config_path: Option<PathBuf>,
    /// The command line's `--rules` and `--var`.
    pub args: DetectArgs,
}

/// The running state a reload starts from.
#[derive(Debug)]
struct Running {
    engine: Option<Arc<Engine>>,
    ruleset: Ruleset,
    /// The configuration the workers were started with.
    config: Config,
}

/// Reloads the rules of a running sensor. Shared by the signal handler's thread and the
/// control socket; one reload runs at a time (a second waits for the first).
#[derive(Debug)]
pub struct Reloader {
    config_path: Option<PathBuf>,
    args: DetectArgs,
    workers: usize,
    swap: Arc<EngineSwap>,
    host: Arc<HostState>,
    running: Mutex<Running>,
}

impl Reloader {
    /// A reloader for the workers of `swap`, started from `source`, running `engine` (the
    /// rules of `startup`) and sharing `host`.
    pub fn new(
        source: RuleSource,
        startup: &Startup,
        engine: Option<Arc<Engine>>,
        host: Arc<HostState>,
        swap: Arc<EngineSwap>,
    ) -> Self {
        let RuleSource {
            config,
            config_path,
            mut args,
        } = source;
        // What a start compiles, a reload compiles.
        args.eager = false;
        Self {
            config_path,
            args,
            workers: swap.workers(),
            swap,
            host,
            running: Mutex::new(Running {
                engine,
                ruleset: Ruleset::of(startup),
                config,
            }),
        }
    }

    /// The rule set running now.
    pub fn ruleset(&self) -> Ruleset {
        self.lock().ruleset.clone()
    }

    /// The engine running now (for the process's exit).
    pub fn engine(&self) -> Option<Arc<Engine>> {
        self.lock().engine.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Running> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the configuration and rules again, builds and checks the new engine off the
    /// packet path (on a thread of lowered priority, so that the workers keep the CPU), and
    /// swaps it into every worker. On error the running rules stay. Either way the memory
    /// the engine that is no longer used held goes back to the system.
    pub fn reload(&self) -> Result<Reloaded, ReloadError> {
        let mut running = self.lock();
        let started = Instant::now();
        let built = std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("tw-rules-build".into())
                .spawn_scoped(scope, || {
                    // Best effort: at worst the build competes with the workers as equals.
                    let _ = tapwatch_os::lower_thread_priority(BUILD_NICE);
                    self.build(&running)
                })
                .map_err(|e| ReloadError::Load(format!("cannot start the build thread: {e}")))?
                .join()
                .unwrap_or_else(|_| {
                    Err(ReloadError::SelfTest(
                        "building the new rules panicked".to_owned(),
                    ))
                })
        });
        let built = match built {
            Ok(b) => b,
            Err(e) => {
                tapwatch_os::release_free_memory();
                return Err(e);
            }
        };
        let build_time = started.elapsed();

        let offered = Instant::now();
        let generation = self.swap.offer(Arc::clone(&built.engine), built.detectors);
        let all_swapped = self.swap.wait_applied(generation, SWAP_WAIT);
        let swap_time = offered.elapsed();
        let previous = std::mem::replace(&mut running.ruleset, built.ruleset.clone());
        // The last reference to the old engine (when every worker swapped).
        running.engine = Some(built.engine);
        drop(running);
        tapwatch_os::release_free_memory();
        Ok(Reloaded {
            ruleset: built.ruleset,
            previous,
            rejections: built.rejections,
            build_time,
            swap_time,
            all_swapped,
            restart_needed: built.restart_needed,
        })
    }

    /// Everything of a reload before the swap: read, compile, check.
    fn build(&self, running: &Running) -> Result<Built, ReloadError> {
        let config = match &self.config_path {
            Some(path) => Config::load(path).map_err(|e| ReloadError::Config(format!("{e:#}")))?,
            None => running.config.clone(),
        };
        let restart_needed = restart_needed(&running.config, &config);
        let names = running
            .engine
            .as_ref()
            .map_or_else(StateNames::default, |e| e.state_names());
        let datasets = running.engine.as_ref().map(|e| e.datasets());
        let mut startup = detect_setup::start_after(
            &config,
            self.config_path.as_deref(),
            &self.args,
            names,
            datasets,
        )
        .map_err(|e| ReloadError::Load(format!("{e:#}")))?;
        let loaded = startup.loaded as u64;
        let Some(engine) = startup.engine.take().filter(|_| loaded > 0) else {
            return Err(ReloadError::NoRules {
                rejected: startup.rejected() as u64,
            });
        };
        let min_percent = config.detect.reload_min_percent.get();
        let running_rules = running.ruleset.loaded;
        if loaded * 100 < running_rules * u64::from(min_percent) {
            return Err(ReloadError::TooFewRules {
                loaded,
                running: running_rules,
                min_percent,
            });
        }
        let engine = Arc::new(engine);
        let detectors = (0..self.workers)
            .map(|_| Detector::with_host_state(&engine, Arc::clone(&self.host)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ReloadError::SelfTest(format!("a worker's detector: {e}")))?;
        self_test(&running.config, &engine)?;
        Ok(Built {
            engine,
            detectors,
            ruleset: Ruleset::of(&startup),
            rejections: startup
                .rejections
                .iter()
                .take(Reloaded::REJECTIONS_KEPT)
                .map(ToString::to_string)
                .collect(),
            restart_needed,
        })
    }
}

/// A new engine, ready to be offered.
struct Built {
    engine: Arc<Engine>,
    detectors: Vec<Detector>,
    ruleset: Ruleset,
    rejections: Vec<String>,
    restart_needed: Vec<&'static str>,
}

/// The settings of `new` that differ from `running` and that a reload does not apply.
pub fn restart_needed(running: &Config, new: &Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut check = |name: &'static str, same: bool| {
        if !same {
            changed.push(name);
        }
    };
    check("[decode]", running.decode == new.decode);
    check("[defrag]", running.defrag == new.defrag);
    check("[flow]", running.flow == new.flow);
    check("[stream]", running.stream == new.stream);
    check("[app]", running.app == new.app);
    check("[eve]", running.eve == new.eve);
    check("[detect.alert]", running.detect.alert == new.detect.alert);
    check("[export]", running.export == new.export);
    check("[runtime]", running.runtime == new.runtime);
    check("[capture]", running.capture == new.capture);
    check("[metrics]", running.metrics == new.metrics);
    check("[control]", running.control == new.control);
    check("[bundles]", running.bundles == new.bundles);
    // The running sets are kept, with what rules set in them, across a reload: a changed
    // definition applies at the next start.
    check("[datasets]", running.datasets == new.datasets);
    changed
}

/// Runs a throwaway worker with `engine` over a few made-up packets (a TCP handshake, an HTTP
/// request and response, a DNS query, a fragment): the new engine must not panic or fail
/// where the running one would run it.
fn self_test(config: &Config, engine: &Arc<Engine>) -> Result<(), ReloadError> {
    let frames = crate::selftest::frames();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let host = Arc::new(HostState::new());
        let mut worker: Worker<std::io::Sink> =
            Worker::with_shared_engine(config.clone(), None, Arc::clone(engine), host)
                .map_err(|e| e.to_string())?;
        for (number, frame) in frames.iter().enumerate() {
            let packet = RawPacket {
                ts: Timestamp::new(1_700_000_000, (number as u32) * 1000),
                link: LinkType::Ethernet,
                data: frame,
                orig_len: u32::try_from(frame.len()).unwrap_or(u32::MAX),
                interface: 0,
            };
            worker.process(number as u64 + 1, &packet);
        }
        worker.finish().map_err(|e| e.to_string())
    }));
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(ReloadError::SelfTest(e)),
        Err(_) => Err(ReloadError::SelfTest(
            "detection panicked on a made-up packet".to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapwatch_testkit::TempDir;

    const SET: &str = "alert tcp any any -> any any (msg:\"set\"; content:\"S\"; flowbits:set,seen; noalert; sid:1;)\n";

    #[test]
    fn dataset_definitions_need_a_restart_and_reputation_does_not() {
        let running = Config::default();
        let mut new = Config::default();
        new.reputation.categories_file = Some("categories.txt".into());
        assert!(restart_needed(&running, &new).is_empty());
        new.datasets.data_dir = Some("/var/lib/tapwatch/data".into());
        assert_eq!(restart_needed(&running, &new), vec!["[datasets]"]);
    }

    fn rule(sid: u32) -> String {
        format!("alert tcp any any -> any any (msg:\"r{sid}\"; content:\"R{sid}\"; sid:{sid};)\n")
    }

    /// A configuration file loading `local.rules` from `dir`, with `extra` appended.
    fn write_config(dir: &TempDir, extra: &str) -> PathBuf {
        let path = dir.path().join("tapwatch.toml");
        std::fs::write(
            &path,
            format!("[detect]\nrule_files = [\"local.rules\"]\ncache = false\n{extra}"),
        )
        .unwrap();
        path
    }

    fn write_rules(dir: &TempDir, text: &str) {
        std::fs::write(dir.path().join("local.rules"), text).unwrap();
    }

    /// A reloader over one worker that a thread keeps applying offers to.
    struct Sensor {
        reloader: Reloader,
        swap: Arc<EngineSwap>,
        stop: Arc<std::sync::atomic::AtomicBool>,
        worker: Option<std::thread::JoinHandle<Worker<std::io::Sink>>>,
    }

    impl Sensor {
        fn start(path: &std::path::Path) -> Self {
            let config = Config::load(path).unwrap();
            let args = DetectArgs::default();
            let mut startup = detect_setup::start(&config, Some(path), &args).unwrap();
            let engine = startup.engine.take().map(Arc::new);
            let host = Arc::new(HostState::new());
            let swap = Arc::new(EngineSwap::new(1));
            let mut worker = Worker::with_shared_engine(
                config.clone(),
                None,
                Arc::clone(engine.as_ref().unwrap()),
                Arc::clone(&host),
            )
            .unwrap();
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let (s, st) = (Arc::clone(&swap), Arc::clone(&stop));
            let thread = std::thread::spawn(move || {
                let mut seen = 0;
                while !st.load(std::sync::atomic::Ordering::Relaxed) {
                    s.apply(0, &mut seen, &mut worker);
                    std::thread::sleep(Duration::from_millis(1));
                }
                worker
            });
            let source = RuleSource {
                config,
                config_path: Some(path.to_owned()),
                args,
            };
            let reloader = Reloader::new(source, &startup, engine, host, Arc::clone(&swap));
            Self {
                reloader,
                swap,
                stop,
                worker: Some(thread),
            }
        }

        fn worker(&mut self) -> Worker<std::io::Sink> {
            self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
            self.worker.take().unwrap().join().unwrap()
        }
    }

    #[test]
    fn a_reload_swaps_in_the_new_rules_and_names_what_needs_a_restart() {
        let dir = TempDir::new("reload-ok");
        let path = write_config(&dir, "");
        write_rules(&dir, &format!("{SET}{}", rule(2)));
        let mut sensor = Sensor::start(&path);
        let before = sensor.reloader.ruleset();
        assert_eq!(before.loaded, 2);
        write_rules(&dir, &format!("{SET}{}{}", rule(2), rule(3)));
        std::fs::write(
            &path,
            "[detect]\nrule_files = [\"local.rules\"]\ncache = false\n[flow]\nmax_flows = 1000\n",
        )
        .unwrap();
        let done = sensor.reloader.reload().expect("reload");
        assert!(done.all_swapped);
        assert_eq!((done.previous.loaded, done.ruleset.loaded), (2, 3));
        assert_ne!(done.previous.sha256, done.ruleset.sha256);
        assert_eq!(done.restart_needed, vec!["[flow]"]);
        assert_eq!(sensor.reloader.ruleset(), done.ruleset);
        let worker = sensor.worker();
        let running = worker.engine().unwrap();
        assert_eq!(running.len(), 3);
        assert!(Arc::ptr_eq(running, &sensor.reloader.engine().unwrap()));
        let _ = sensor.swap;
    }

    #[test]
    fn a_bad_reload_keeps_the_running_rules() {
        let dir = TempDir::new("reload-bad");
        let path = write_config(&dir, "");
        let four: String = (2..6).map(rule).collect();
        write_rules(&dir, &four);
        let mut sensor = Sensor::start(&path);
        let running = sensor.reloader.ruleset();

        // Every rule broken.
        write_rules(
            &dir,
            "alert tcp any any -> any any (msg:\"x\"; nonsense; sid:9;)\n",
        );
        let e = sensor.reloader.reload().unwrap_err();
        assert_eq!(e, ReloadError::NoRules { rejected: 1 });
        // Half of the rules gone: below the default 50 %? 1 of 4 is.
        write_rules(&dir, &rule(2));
        let e = sensor.reloader.reload().unwrap_err();
        assert!(
            matches!(
                e,
                ReloadError::TooFewRules {
                    loaded: 1,
                    running: 4,
                    min_percent: 50
                }
            ),
            "{e}"
        );
        // A configuration that does not parse.
        std::fs::write(
            &path,
            "[detect]\nrule_files = [\"local.rules\"]\nbogus = 1\n",
        )
        .unwrap();
        let e = sensor.reloader.reload().unwrap_err();
        assert!(
            matches!(e, ReloadError::Config(ref m) if m.contains("bogus")),
            "{e}"
        );
        // A rule file gone.
        write_config(&dir, "");
        std::fs::remove_file(dir.path().join("local.rules")).unwrap();
        assert!(matches!(
            sensor.reloader.reload(),
            Err(ReloadError::Load(_))
        ));

        assert_eq!(sensor.reloader.ruleset(), running);
        assert_eq!(sensor.worker().engine().unwrap().len(), 4);

        // The check can be turned off.
        let dir = TempDir::new("reload-small");
        let path = write_config(&dir, "reload_min_percent = 0\n");
        write_rules(&dir, &four);
        let mut sensor = Sensor::start(&path);
        write_rules(&dir, &rule(2));
        assert_eq!(sensor.reloader.reload().expect("reload").ruleset.loaded, 1);
        assert_eq!(sensor.worker().engine().unwrap().len(), 1);
    }
}
