//! `tapwatch`: the sensor's command-line entry point.
//!
//! The binary only wires the library crates together: it owns the command line, the
//! configuration file and the packet pipeline's assembly.

mod bundle_cmd;
mod check;
mod ctl;
mod endpoints;
mod export_link;
mod replay;
mod rules_cmd;
mod run;
mod service;
mod session;

use tapwatch_pipeline::config;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// tapwatch: a network security sensor.
///
/// Decodes packets (Ethernet, VLAN, MPLS, GRE/VXLAN/Geneve/ERSPAN tunnels, IPv4/IPv6 with
/// defragmentation), tracks flows, reassembles TCP streams and parses HTTP, DNS and TLS, matches
/// Suricata rules (ET Open, vendor and local rules) with Suricata's semantics, and writes
/// Suricata-compatible EVE JSON that SIEM pipelines built for Suricata ingest unchanged.
#[derive(Debug, Parser)]
#[command(
    name = "tapwatch",
    version,
    propagate_version = true,
    after_help = "Examples:\n  \
        tapwatch replay --eve eve.json capture.pcap more.pcapng.gz\n  \
        tapwatch replay --config sensor.toml --eve - capture.pcap | jq .\n  \
        tapwatch replay --config sensor.toml --export --rules local.rules --eve eve.json capture.pcap\n  \
        tapwatch replay --rules emerging-all.rules --var HOME_NET=[10.0.0.0/8] --eve eve.json capture.pcap\n  \
        tapwatch run --interface eth1 --rules emerging-all.rules --eve /var/log/tapwatch/eve.json\n  \
        tapwatch ctl iface-stat eth1\n  \
        tapwatch rules check /etc/tapwatch/rules/\n  \
        tapwatch config default > sensor.toml\n  \
        tapwatch config check sensor.toml\n  \
        tapwatch check --config /etc/tapwatch/tapwatch.toml --eve /var/log/tapwatch/eve.json"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay capture files through the sensor (offline mode, like `suricata -r`).
    ///
    /// Reads classic pcap (micro- and nanosecond), pcapng and gzip-compressed captures,
    /// one after the other as one continuous stream of packets. Damaged files are read as far
    /// as possible and the damage is reported. A summary goes to stderr at the end.
    ///
    /// With rules (`--rules`, or `rule_files` in the configuration), they are loaded and
    /// compiled once before the first packet; rejected rules are reported (count and the first
    /// few; all with --verbose or in --summary-json) and the others run. The summary gives
    /// start-up time (load, compile, cache) apart from packet-processing time.
    #[command(after_help = "Examples:\n  \
        tapwatch replay --eve eve.json capture.pcap\n  \
        tapwatch replay --rules emerging-all.rules --rules local.rules --eve eve.json capture.pcap\n  \
        tapwatch replay -S /etc/tapwatch/rules/ --var HOME_NET=[10.0.0.0/8] --var HTTP_PORTS=[80,8080] --eve - capture.pcap\n  \
        tapwatch replay --config sensor.toml --no-cache --summary-json --progress never --eve /dev/null capture.pcap")]
    Replay(ReplayArgs),
    /// Capture live from network interfaces (like `suricata --af-xdp` / `--af-packet`) until
    /// SIGINT or SIGTERM.
    ///
    /// Each receive queue of each interface gets an AF_XDP socket behind tapwatch's XDP
    /// program (which can drop bypassed flows and unmonitored prefixes in the kernel) and a
    /// capture thread; packets go to the flow-affine workers (one per queue unless --workers
    /// says otherwise). With `--capture auto` the best mode the interface accepts is used:
    /// AF_XDP zero-copy in driver mode, then copy in driver mode, then generic (SKB) mode,
    /// then an AF_PACKET socket; each refusal is reported. Capture never waits on a worker or
    /// the exporter: what cannot be taken is dropped and counted.
    ///
    /// On SIGINT or SIGTERM capture stops, every flow is finished, outputs are flushed and
    /// the summary (as for `replay`, plus per-queue capture counters: mode, packets received,
    /// kernel drops by cause, dispatch drops) goes to stderr. A second signal exits at once.
    /// SIGHUP closes and reopens the EVE file (for logrotate).
    ///
    /// While it captures, Prometheus metrics are served at `[metrics] listen` (default
    /// http://127.0.0.1:9917/metrics) and the control socket for `tapwatch ctl` at
    /// `[control] socket` (default /run/tapwatch/tapwatch.sock); both can be turned off.
    ///
    /// Needs CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_NET_RAW and CAP_IPC_LOCK (or root);
    /// the socket fallback needs only CAP_NET_RAW. Never attach to the interface the
    /// machine is managed through: XDP takes its traffic away from the host.
    #[command(after_help = "Examples:\n  \
        tapwatch run --interface eth1 --eve /var/log/tapwatch/eve.json\n  \
        tapwatch run -i eth1 -i eth2 --workers 4 --rules emerging-all.rules --eve eve.json\n  \
        tapwatch run -i eth1 --capture socket --config sensor.toml --summary-json\n  \
        tapwatch run -i ens1f0 --capture xdp-drv --config sensor.toml --export\n  \
        tapwatch run -i eth1 --config sensor.toml --control-socket /tmp/tw.sock   # then: tapwatch ctl --socket /tmp/tw.sock uptime\n  \
        curl -s http://127.0.0.1:9917/metrics   # while it runs ([metrics] listen)")]
    Run(RunArgs),
    /// Check that `tapwatch run` could start with a configuration (like `suricata -T`).
    ///
    /// Loads the configuration (unknown keys and bad values refused with their line), checks
    /// the settings against each other and this machine (interfaces listed once and
    /// present, pinned CPUs available, spool and EVE directories writable, export
    /// certificates readable), then loads and compiles the rules and reports counts and
    /// rejections. Every problem is listed. Exit status 0 when the service could start
    /// (rejected rules are warnings), 1 otherwise. systemd's unit runs it before every start
    /// and reload.
    #[command(after_help = "Examples:\n  \
        tapwatch check --config /etc/tapwatch/tapwatch.toml\n  \
        tapwatch check --config tapwatch.toml --eve /var/log/tapwatch/eve.json\n  \
        tapwatch check --reload --config tapwatch.toml --running /run/tapwatch/running.toml")]
    Check(CheckArgs),
    /// Talk to a running `tapwatch run` over its control socket (like `suricatasc -c`).
    ///
    /// Commands: version, uptime, capture-mode (per interface and queue), iface-list,
    /// iface-stat IFACE, dump-counters (everything the metrics endpoint shows, as JSON),
    /// ruleset-stats, reload-rules, shutdown, command-list. Prints text for a person, or
    /// the socket's JSON answer (`{"return": "OK"|"NOK", "message": ...}`) with --json.
    ///
    /// Exit status: 0 when the service answered OK, 1 when it refused (NOK, the reason on
    /// stderr), 2 when the socket cannot be reached. Connecting needs the socket's
    /// permissions ([control] mode and group).
    #[command(after_help = "Examples:\n  \
        tapwatch ctl uptime\n  \
        tapwatch ctl capture-mode\n  \
        tapwatch ctl iface-stat eth1\n  \
        tapwatch ctl --json dump-counters | jq .message.totals\n  \
        tapwatch ctl --config /etc/tapwatch/tapwatch.toml ruleset-stats\n  \
        tapwatch ctl --socket /run/tapwatch/tapwatch.sock shutdown")]
    Ctl(CtlArgs),
    /// Check rule files and show how they compile (like `suricata -T`).
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Inspect configuration files.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Export to the national center: train a compression dictionary, drain the spool.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Signed rule and IOC bundles from the national center.
    #[command(subcommand)]
    Bundle(BundleCommand),
}

#[derive(Debug, Subcommand)]
enum BundleCommand {
    /// Show what a bundle holds and whether this sensor would take it.
    ///
    /// Prints the manifest (kind, channel, version, build time, rule or entry counts, every
    /// file with its size and SHA-256), each signature with its key id and whether the key is
    /// trusted and the signature valid, the bundle in force, and the verdict of the policy
    /// the sensor applies to bundles from the center or its drop directory: refused when
    /// unsigned, signed by no trusted key, tampered (manifest, payload or any file), of
    /// another kind or channel, empty, not newer than the bundle in force, or smaller than
    /// [bundles] min_percent of it.
    ///
    /// Exit status: 0 accepted, 1 refused (the reason and its code printed), 2 when the
    /// file or the configuration cannot be read.
    #[command(after_help = "Examples:\n  \
        tapwatch bundle verify rules.twb --config /etc/tapwatch/tapwatch.toml\n  \
        tapwatch bundle verify ioc.twb --key center-2026.pub --json")]
    Verify(bundle_cmd::VerifyArgs),
}

#[derive(Debug, Subcommand)]
enum ExportCommand {
    /// Train a zstd dictionary on the alerts of an EVE file, for `export.dictionary_path`.
    ///
    /// Alerts then take fewer bytes on the wire; the center learns the dictionary from the
    /// sensor when it connects.
    #[command(after_help = "Example:\n  \
        tapwatch export train-dict --eve eve.json --out /etc/tapwatch/alerts.dict")]
    TrainDict {
        /// EVE JSON lines to learn from (only `alert` records are used).
        #[arg(long, value_name = "FILE")]
        eve: PathBuf,
        /// Where to write the dictionary.
        #[arg(long, value_name = "DICT")]
        out: PathBuf,
        /// Dictionary size in bytes.
        #[arg(long, value_name = "BYTES", default_value_t = 16384)]
        size: usize,
    },
    /// Deliver what the spool holds to the center and exit (after a crash, when there is
    /// nothing new to capture).
    ///
    /// Exit status: 0 when the spool is empty at the end, 1 when batches remain in it.
    #[command(after_help = "Example:\n  \
        tapwatch export drain --config /etc/tapwatch/sensor.toml --wait 300")]
    Drain {
        /// The sensor's configuration file (its `[export]` section).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Seconds to wait for the center's acknowledgements.
        #[arg(long, value_name = "SECS", default_value_t = 60)]
        wait: u64,
        /// Print the counters as one JSON object.
        #[arg(long)]
        summary_json: bool,
    },
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// The configuration file `tapwatch run` would be given.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// The EVE file `tapwatch run` would be given (`--eve`): its directory must be writable.
    #[arg(long, value_name = "FILE")]
    eve: Option<PathBuf>,
    /// Before a reload: also say which settings a reload applies and which need a restart.
    #[arg(long)]
    reload: bool,
    /// The configuration the sensor is running with: list each changed setting and whether
    /// a reload applies it or it needs a restart (implies --reload).
    #[arg(long, value_name = "FILE")]
    running: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct ReplayArgs {
    /// Write EVE JSON records to FILE, written afresh ("-" for stdout); overrides `[eve]
    /// path`, whose rotation settings apply.
    #[arg(long, value_name = "FILE")]
    eve: Option<PathBuf>,
    /// Read settings from this TOML file (see `tapwatch config default`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Show a progress bar: auto shows it when stderr is a terminal.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    progress: ProgressMode,
    /// Print the summary as one JSON object instead of text.
    #[arg(long)]
    summary_json: bool,
    #[command(flatten)]
    detect: DetectOpts,
    /// List every rejected rule on stderr (otherwise the count and the first few).
    #[arg(long, short)]
    verbose: bool,
    /// Send alerts to the center as configured in `[export]` of --config, even when
    /// `export.enabled` is false there.
    #[arg(long)]
    export: bool,
    /// At the end, wait this many seconds for the center to acknowledge what was sent; what
    /// is not acknowledged stays in the spool for the next start (the summary says how much).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    export_wait: u64,
    /// Packet-processing worker threads (overrides `[runtime] workers`; default 1). Every
    /// packet of a flow goes to one worker; the alerts and records are those of one worker,
    /// merged into one EVE stream (each flow's records in order).
    #[arg(long, value_name = "N")]
    workers: Option<std::num::NonZeroUsize>,
    /// Capture files to read, in order.
    #[arg(required = true, value_name = "PCAP")]
    pcaps: Vec<PathBuf>,
}

/// `--capture`: how packets are captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CaptureArg {
    /// The best that works: xdp-zc, then xdp-drv in copy mode, then xdp-skb, then socket.
    Auto,
    /// AF_XDP zero-copy with the program in driver mode, or fail.
    XdpZc,
    /// AF_XDP with the program in driver mode (zero-copy if offered, else copy), or fail.
    XdpDrv,
    /// AF_XDP copy mode with the program in generic (SKB) mode, or fail.
    XdpSkb,
    /// AF_PACKET (TPACKET_V3 through libpcap), no XDP program; filter and bypass in
    /// userspace.
    Socket,
}

impl From<CaptureArg> for config::CaptureMode {
    fn from(c: CaptureArg) -> Self {
        match c {
            CaptureArg::Auto => config::CaptureMode::Auto,
            CaptureArg::XdpZc => config::CaptureMode::XdpZc,
            CaptureArg::XdpDrv => config::CaptureMode::XdpDrv,
            CaptureArg::XdpSkb => config::CaptureMode::XdpSkb,
            CaptureArg::Socket => config::CaptureMode::Socket,
        }
    }
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Capture from this interface: `--interface eth1`. Repeat for more. Replaces
    /// `[capture] interfaces` of --config.
    #[arg(long = "interface", short = 'i', value_name = "IFACE")]
    interfaces: Vec<String>,
    /// Capture mode (overrides `[capture] mode`): `--capture socket`.
    #[arg(long, value_enum, value_name = "MODE")]
    capture: Option<CaptureArg>,
    /// Packet-processing worker threads (overrides `[runtime] workers`; default: one per
    /// capture queue): `--workers 4`. Every packet of a flow goes to one worker.
    #[arg(long, value_name = "N")]
    workers: Option<std::num::NonZeroUsize>,
    /// Write EVE JSON records to FILE ("-" for stdout): `--eve /var/log/tapwatch/eve.json`.
    /// Overrides `[eve] path`; appended to, rotated and reopened as `[eve]` says.
    #[arg(long, value_name = "FILE")]
    eve: Option<PathBuf>,
    /// Read settings from this TOML file (`[capture]` and the rest; see `tapwatch config
    /// default`): `--config /etc/tapwatch/sensor.toml`.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    detect: DetectOpts,
    /// Print the summary as one JSON object instead of text (capture counters under
    /// "capture").
    #[arg(long)]
    summary_json: bool,
    /// List every rejected rule on stderr (otherwise the count and the first few).
    #[arg(long, short)]
    verbose: bool,
    /// Send alerts to the center as configured in `[export]` of --config, even when
    /// `export.enabled` is false there. A full export queue drops (counted), never waits.
    #[arg(long)]
    export: bool,
    /// At the end, wait this many seconds for the center to acknowledge what was sent.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    export_wait: u64,
    /// TEST ONLY, hidden: worker 0 hangs for good this many seconds after it starts, so that
    /// tests can see the systemd watchdog's pings stop. Never use it on a sensor.
    #[arg(long, value_name = "SECS", hide = true)]
    test_hang_worker_after_secs: Option<u64>,
    /// Serve the control socket at PATH (overrides `[control] socket`):
    /// `--control-socket /run/tapwatch/tapwatch.sock`.
    #[arg(long, value_name = "PATH")]
    control_socket: Option<PathBuf>,
}

/// `tapwatch ctl`'s arguments.
#[derive(Debug, clap::Args)]
struct CtlArgs {
    /// The control socket (default: the one of --config, else /run/tapwatch/tapwatch.sock).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// The service's configuration file, to find its `[control] socket`.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the raw JSON answer.
    #[arg(long)]
    json: bool,
    /// The command: version, uptime, capture-mode, iface-list, iface-stat, dump-counters,
    /// ruleset-stats, reload-rules, shutdown, command-list.
    #[arg(value_name = "COMMAND")]
    command: String,
    /// The command's arguments (iface-stat: the interface).
    #[arg(value_name = "ARGS")]
    args: Vec<String>,
}

/// Rule options shared by `replay`, `run` and `rules`.
#[derive(Debug, Clone, clap::Args)]
struct DetectOpts {
    /// Load Suricata rules from PATH, after the configuration's `rule_files`: a rules file, a
    /// directory (every `*.rules` in it) or a pattern like `rules/emerging-*.rules`. Repeat for
    /// more.
    #[arg(long = "rules", short = 'S', value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Set a rule variable (address or port group), overriding the configuration and
    /// Suricata's defaults: `--var HOME_NET=[10.0.0.0/8,192.168.1.0/24]`. Repeat for more.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = config::parse_var_assignment)]
    vars: Vec<(config::VarName, String)>,
    /// Compile the rules without reading or writing the compiled-database cache.
    #[arg(long)]
    no_cache: bool,
}

impl DetectOpts {
    fn to_args(&self, eager: bool) -> tapwatch_pipeline::detect_setup::DetectArgs {
        tapwatch_pipeline::detect_setup::DetectArgs {
            rules: self.rules.clone(),
            vars: self.vars.clone(),
            no_cache: self.no_cache,
            eager,
        }
    }
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Load and compile rules eagerly (pcre included) and report every rule that cannot be
    /// used, with file, line, sid, keyword and reason.
    ///
    /// Exit status: 0 when every rule loaded, 1 when any was rejected (0 with
    /// --allow-rejects), 2 when a file or the configuration cannot be read.
    #[command(after_help = "Examples:\n  \
        tapwatch rules check emerging-all.rules local.rules\n  \
        tapwatch rules check --config sensor.toml --json | jq '.rejected_by_keyword'\n  \
        tapwatch rules check --allow-rejects --var HOME_NET=[10.0.0.0/8] /etc/tapwatch/rules/")]
    Check(RulesCheckArgs),
    /// Compile rules and show the engine they make: rules per inspection buffer, prefilter
    /// databases (patterns, bytes), rules without a fast pattern, compile time, cache outcome.
    #[command(after_help = "Examples:\n  \
        tapwatch rules stats emerging-all.rules\n  \
        tapwatch rules stats --json --no-cache /etc/tapwatch/rules/")]
    Stats(RulesStatsArgs),
}

#[derive(Debug, clap::Args)]
struct RulesCheckArgs {
    /// Print one JSON object: loaded, rejected, disabled, rejections [{file, line, sid,
    /// keyword, reason}], rejected_by_keyword.
    #[arg(long)]
    json: bool,
    /// Exit with status 0 even when rules were rejected.
    #[arg(long)]
    allow_rejects: bool,
    /// Read `[detect]` settings (rule_files, vars, classification and threshold files) from
    /// this TOML file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    detect: RulePathOpts,
}

#[derive(Debug, clap::Args)]
struct RulesStatsArgs {
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Read `[detect]` settings from this TOML file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    detect: RulePathOpts,
}

/// Rule files as positional arguments, for the `rules` commands.
#[derive(Debug, Clone, clap::Args)]
struct RulePathOpts {
    /// Set a rule variable: `--var HOME_NET=[10.0.0.0/8]`. Repeat for more.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = config::parse_var_assignment)]
    vars: Vec<(config::VarName, String)>,
    /// Neither read nor write the compiled-database cache.
    #[arg(long)]
    no_cache: bool,
    /// Rule files, directories (every `*.rules` in them) or patterns, after the
    /// configuration's `rule_files`.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
}

impl RulePathOpts {
    fn to_args(&self, eager: bool) -> tapwatch_pipeline::detect_setup::DetectArgs {
        tapwatch_pipeline::detect_setup::DetectArgs {
            rules: self.paths.clone(),
            vars: self.vars.clone(),
            no_cache: self.no_cache,
            eager,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ProgressMode {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the default configuration as TOML.
    Default,
    /// Check a configuration file and report every problem with its line.
    Check {
        /// The file to check.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log_format = service::init_logging(match &cli.command {
        Command::Run(a) => a.config.as_deref(),
        Command::Replay(a) => a.config.as_deref(),
        Command::Check(a) => Some(a.config.as_path()),
        Command::Export(ExportCommand::Drain { config, .. }) => Some(config.as_path()),
        _ => None,
    });
    let result = match cli.command {
        Command::Replay(args) => replay::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Check(args) => check::check(&args),
        Command::Ctl(args) => ctl::run(&args),
        Command::Rules(RulesCommand::Check(args)) => rules_cmd::check(&args),
        Command::Rules(RulesCommand::Stats(args)) => rules_cmd::stats(&args),
        Command::Export(ExportCommand::TrainDict { eve, out, size }) => {
            export_link::train_dict(&eve, &out, size)
        }
        Command::Export(ExportCommand::Drain {
            config,
            wait,
            summary_json,
        }) => export_link::drain(&config, std::time::Duration::from_secs(wait), summary_json),
        Command::Bundle(BundleCommand::Verify(args)) => bundle_cmd::verify(&args),
        Command::Config(ConfigCommand::Default) => {
            print!("{}", config::Config::default_toml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::Check { file }) => config::Config::load(&file).map(|_| {
            println!("{}: configuration is valid", file.display());
            ExitCode::SUCCESS
        }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // In the journal (or JSON logs) the failure that ends a service is an error
            // event like the others, so that `journalctl -p err` shows it.
            match log_format {
                tapwatch_service::LogFormat::Journal | tapwatch_service::LogFormat::Json => {
                    tracing::error!("{e:#}")
                }
                _ => eprintln!("tapwatch: error: {e:#}"),
            }
            ExitCode::from(2)
        }
    }
}
