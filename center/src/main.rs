//! `tapwatch-center`: serve sensors, query and export their alerts, manage certificates.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use tapwatch_center::config::{Config, DEFAULT_TOML};
use tapwatch_center::store::{self, AlertFilter};
use tapwatch_center::{ca, query, server, stix};

/// The default configuration file.
const DEFAULT_CONFIG: &str = "/etc/tapwatch-center/center.toml";

#[derive(Debug, Parser)]
#[command(
    name = "tapwatch-center",
    version,
    about = "tapwatch national center: receives, stores and shares sensor alerts"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Serve sensors (gRPC, mutual TLS) and the HTTP API until SIGTERM / ctrl-c.
    Serve {
        /// Configuration file.
        #[arg(long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Configuration: print the default, or check a file.
    Config {
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
    /// Show stored alerts.
    Alerts {
        #[command(flatten)]
        filter: FilterArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show the sensors: last seen, version, ruleset, backlog, drops.
    Sensors {
        /// Configuration file (for the storage settings).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Output as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Export alerts for sharing.
    Export {
        #[command(subcommand)]
        cmd: ExportCmd,
    },
    /// Certificates: a CA, the server's certificate, sensor client certificates.
    Ca {
        #[command(subcommand)]
        cmd: CaCmd,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCmd {
    /// Print the commented default configuration.
    Default,
    /// Check a configuration file and exit.
    Check {
        /// The file.
        #[arg(long, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum ExportCmd {
    /// A STIX 2.1 bundle (indicator per signature, sighting per signature and sensor).
    Stix {
        #[command(flatten)]
        filter: FilterArgs,
        /// Name of the center's identity in the bundle.
        #[arg(long, default_value = "tapwatch-center")]
        name: String,
    },
    /// EVE JSON lines.
    Eve {
        #[command(flatten)]
        filter: FilterArgs,
    },
}

#[derive(Debug, Subcommand)]
enum CaCmd {
    /// Create a CA and the server's certificate in DIR.
    Init {
        /// Directory for ca.pem, ca.key, server.pem, server.key.
        #[arg(long)]
        dir: PathBuf,
        /// DNS names or IP addresses sensors use to reach the center (repeatable).
        #[arg(long = "server-name", required = true)]
        server_names: Vec<String>,
        /// Common name of the CA.
        #[arg(long, default_value = "tapwatch center CA")]
        ca_name: String,
    },
    /// Issue a client certificate for sensor ID (DIR/sensors/ID.pem and .key).
    IssueSensor {
        /// The sensor's id (its certificate CN).
        id: String,
        /// The CA directory.
        #[arg(long)]
        dir: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// Aligned text.
    Table,
    /// EVE JSON lines.
    Eve,
    /// One JSON document.
    Json,
}

#[derive(Debug, Args)]
struct FilterArgs {
    /// Configuration file (for the storage settings).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Only this sensor.
    #[arg(long)]
    sensor: Option<String>,
    /// From this time: RFC 3339 or a duration before now (1h, 30m, 7d).
    #[arg(long)]
    since: Option<String>,
    /// Before this time: RFC 3339 or a duration before now.
    #[arg(long)]
    until: Option<String>,
    /// Only this signature id.
    #[arg(long)]
    sid: Option<u32>,
    /// Only this severity.
    #[arg(long)]
    severity: Option<u32>,
    /// At most this many alerts (oldest first).
    #[arg(long)]
    limit: Option<usize>,
}

fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    match path {
        Some(p) => Config::load(p),
        None if Path::new(DEFAULT_CONFIG).exists() => Config::load(Path::new(DEFAULT_CONFIG)),
        None => Config::parse("", Path::new(".")),
    }
}

fn run_query(f: &FilterArgs) -> anyhow::Result<Vec<store::StoredAlert>> {
    let cfg = load_config(f.config.as_deref())?;
    let now = store::sqlite::now_us();
    let t = |s: &Option<String>| {
        s.as_deref()
            .map(|s| query::parse_time(s, now))
            .transpose()
            .map_err(anyhow::Error::msg)
    };
    let filter = AlertFilter {
        sensor: f.sensor.clone(),
        since_us: t(&f.since)?,
        until_us: t(&f.until)?,
        sid: f.sid,
        severity: f.severity,
        limit: f.limit,
    };
    let mut s = store::open(&cfg.storage).context("opening the store")?;
    Ok(s.query_alerts(&filter)?)
}

fn print(s: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Installs the log subscriber: `serve` with its configuration's `[logging]` (the defaults
/// when it does not load: `serve` reports why itself), the other commands with the defaults.
fn init_logging(cli: &Cli) {
    let section = match &cli.cmd {
        Cmd::Serve { config } => Config::load(config).map(|c| c.logging).unwrap_or_default(),
        _ => tapwatch_service::LoggingSection::default(),
    };
    tapwatch_service::logging::init(&section);
}

fn run(cli: Cli) -> anyhow::Result<()> {
    init_logging(&cli);
    match cli.cmd {
        Cmd::Serve { config } => {
            let cfg = Config::load(&config)?;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(server::serve(cfg))
        }
        Cmd::Config {
            cmd: ConfigCmd::Default,
        } => print(DEFAULT_TOML),
        Cmd::Config {
            cmd: ConfigCmd::Check { config },
        } => {
            Config::load(&config)?;
            print(&format!("{}: OK\n", config.display()))
        }
        Cmd::Alerts { filter, format } => {
            let alerts = run_query(&filter)?;
            match format {
                Format::Table => print(&query::table(&alerts)),
                Format::Eve => print(&query::eve_lines(&alerts)),
                Format::Json => print(&format!("{:#}\n", query::json_doc(&alerts))),
            }
        }
        Cmd::Sensors { config, json } => {
            let cfg = load_config(config.as_deref())?;
            let sensors = store::open(&cfg.storage)?.sensors()?;
            if json {
                print(&format!(
                    "{:#}\n",
                    serde_json::json!({ "sensors": sensors })
                ))
            } else {
                print(&query::sensors_table(&sensors))
            }
        }
        Cmd::Export {
            cmd: ExportCmd::Stix { filter, name },
        } => {
            let alerts = run_query(&filter)?;
            print(&format!("{:#}\n", stix::bundle(&alerts, &name)))
        }
        Cmd::Export {
            cmd: ExportCmd::Eve { filter },
        } => print(&query::eve_lines(&run_query(&filter)?)),
        Cmd::Ca {
            cmd:
                CaCmd::Init {
                    dir,
                    server_names,
                    ca_name,
                },
        } => {
            let f = ca::init(&dir, &server_names, &ca_name)?;
            print(&format!(
                "CA: {} (key {})\nserver: {} (key {})\n",
                f.ca_cert.display(),
                f.ca_key.display(),
                f.server_cert.display(),
                f.server_key.display()
            ))
        }
        Cmd::Ca {
            cmd: CaCmd::IssueSensor { id, dir },
        } => {
            let (c, k) = ca::issue_sensor(&dir, &id)?;
            print(&format!(
                "sensor {id}: {} (key {})\n",
                c.display(),
                k.display()
            ))
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Under systemd, the failure that ends the service is an error-priority line.
            if tapwatch_service::logging::stderr_is_journal() {
                tracing::error!("{e:#}");
            } else {
                eprintln!("tapwatch-center: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}
