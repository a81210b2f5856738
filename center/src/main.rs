//! `tapwatch-center`: serve sensors, query and export their alerts, manage certificates.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use tapwatch_center::config::{Config, DEFAULT_TOML};
use tapwatch_center::store::{self, AlertFilter};
use tapwatch_center::{bundles, ca, query, server, stix};

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
    /// Signed rule and IOC bundles for the sensors: keygen, build, sign, publish, list, fetch.
    #[command(long_about = BUNDLE_ABOUT)]
    Bundle {
        #[command(subcommand)]
        cmd: BundleCmd,
    },
}

const BUNDLE_ABOUT: &str = "\
Signed rule and IOC bundles for the sensors.

A bundle is one file (.twb): a manifest (kind, channel, version, build time, entry counts, \
every file by size and SHA-256), Ed25519 signatures over the manifest, and the files \
compressed. Sensors accept a bundle only when it is signed by a key they trust, matches its \
manifest, is newer than the one in force, is not empty and not drastically smaller.

Workflow:
  tapwatch-center bundle keygen --out /etc/tapwatch-center/keys/center-2026
  tapwatch-center bundle build --kind rules --from /srv/rules/et-open --out rules.twb
  tapwatch-center bundle build --kind ioc --from feed.csv --from extra.jsonl --out ioc.twb
  tapwatch-center bundle sign rules.twb --key /etc/tapwatch-center/keys/center-2026.key
  tapwatch-center bundle publish rules.twb
  tapwatch-center bundle list
  tapwatch-center bundle fetch --kind rules --out rules.twb   (for air-gapped sensors)

On a sensor: tapwatch bundle verify rules.twb --config /etc/tapwatch/tapwatch.toml";

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BundleKind {
    /// A rule set: *.rules, classification.config, threshold.config, vars.conf.
    Rules,
    /// An IOC set: addresses and networks, domains, URLs, file hashes, JA3/JA4.
    Ioc,
}

impl BundleKind {
    fn kind(self) -> tapwatch_bundle::Kind {
        match self {
            BundleKind::Rules => tapwatch_bundle::Kind::Rules,
            BundleKind::Ioc => tapwatch_bundle::Kind::Ioc,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum IocFormatArg {
    /// CSV with the header type,value,source,confidence,first_seen,expires.
    Csv,
    /// One JSON object a line: {"type","value","source","confidence","first_seen","expires"}.
    Jsonl,
}

#[derive(Debug, Subcommand)]
enum BundleCmd {
    /// Make an Ed25519 signing key pair: PREFIX.key and PREFIX.pub.
    ///
    /// PREFIX.key is created with mode 0600: keep it on the center (or offline), never on a
    /// sensor. PREFIX.pub goes to the sensors' [bundles] trusted_keys.
    Keygen {
        /// Path prefix of the two files.
        #[arg(long)]
        out: PathBuf,
    },
    /// Build an unsigned bundle from a rule directory or from IOC files.
    ///
    /// Rules: from a directory of *.rules files (searched
    /// recursively) with optional classification.config, threshold.config and vars.conf
    /// (NAME=VALUE lines); other files are left out and listed. IOCs: from CSV or JSON-lines
    /// files (by extension, or --input-format), one entry per line with its type (ip, domain,
    /// url, md5, sha1, sha256, ja3, ja3s, ja4), value, source, confidence (0-100), first_seen
    /// and expires (RFC 3339 UTC; empty: never); expired entries are left out.
    Build {
        /// What the bundle carries.
        #[arg(long, value_enum)]
        kind: BundleKind,
        /// The rule directory, or the IOC files (repeatable).
        #[arg(long = "from", required = true)]
        from: Vec<PathBuf>,
        /// The channel sensors follow (a-z 0-9 . _ -).
        #[arg(long, default_value = "national")]
        channel: String,
        /// The version, above every one published on the channel. Default: the build time in
        /// seconds since the Unix epoch.
        #[arg(long)]
        version: Option<u64>,
        /// Format of the IOC files (default: by extension, .csv or .jsonl).
        #[arg(long, value_enum)]
        input_format: Option<IocFormatArg>,
        /// The bundle file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a bundle with one or more secret keys.
    ///
    /// Repeat --key to sign with an old and a new key during a key rotation; signing again
    /// with a key replaces its signature.
    Sign {
        /// The bundle file.
        file: PathBuf,
        /// A secret key file (repeatable).
        #[arg(long = "key", required = true)]
        keys: Vec<PathBuf>,
        /// Write the signed bundle here instead of over FILE.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Store a signed bundle in the center's database for distribution.
    ///
    /// Refused when it is unsigned, a signature does not verify, its content does not match its manifest, it is
    /// empty, its version is not above the latest published on its kind and channel, or it
    /// has fewer entries than --min-percent of the latest.
    Publish {
        /// The signed bundle file.
        file: PathBuf,
        /// Configuration file (for the storage settings).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Require a signature by this public key (repeatable).
        #[arg(long = "trusted-key")]
        trusted_keys: Vec<PathBuf>,
        /// Refuse a bundle with fewer entries than this percentage of the latest published.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u8).range(0..=100))]
        min_percent: u8,
        /// Publish even when under --min-percent (the feed really shrank).
        #[arg(long)]
        allow_shrink: bool,
    },
    /// List the published bundles.
    List {
        /// Configuration file (for the storage settings).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Only this kind.
        #[arg(long, value_enum)]
        kind: Option<BundleKind>,
        /// Only this channel.
        #[arg(long)]
        channel: Option<String>,
        /// Output as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Write a published bundle to a file (for air-gapped sensors' drop directories).
    Fetch {
        /// Configuration file (for the storage settings).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The kind.
        #[arg(long, value_enum)]
        kind: BundleKind,
        /// The channel.
        #[arg(long, default_value = "national")]
        channel: String,
        /// The version (default: the latest).
        #[arg(long)]
        version: Option<u64>,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
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
        Cmd::Bundle { cmd } => run_bundle(cmd),
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

fn run_bundle(cmd: BundleCmd) -> anyhow::Result<()> {
    use tapwatch_bundle::{Limits, RawBundle, Timestamp};
    let limits = Limits::default();
    match cmd {
        BundleCmd::Keygen { out } => {
            let (secret, public, id) = bundles::keygen(&out)?;
            print(&format!(
                "key {id}\nsecret key: {} (mode 0600: keep it on the center)\npublic key: {} \
                 (for the sensors' [bundles] trusted_keys)\n",
                secret.display(),
                public.display()
            ))
        }
        BundleCmd::Build {
            kind,
            from,
            channel,
            version,
            input_format,
            out,
        } => {
            let created = Timestamp::now();
            let params = tapwatch_bundle::build::BuildParams {
                kind: kind.kind(),
                channel,
                version: version.unwrap_or(u64::try_from(created.0).unwrap_or(1).max(1)),
                created,
            };
            let format = input_format.map(|f| match f {
                IocFormatArg::Csv => tapwatch_bundle::ioc::IocInputFormat::Csv,
                IocFormatArg::Jsonl => tapwatch_bundle::ioc::IocInputFormat::JsonLines,
            });
            let (raw, notes) = bundles::build(&params, &from, format, &limits)?;
            bundles::write_atomic(&out, &raw.to_bytes())?;
            let mut s = format!("{}: ", out.display());
            s.push_str(&bundles::describe(&raw));
            for f in &notes.skipped {
                s.push_str(&format!("left out (not a rule set's file): {f}\n"));
            }
            if notes.expired > 0 {
                s.push_str(&format!(
                    "left out: {} expired IOC entries\n",
                    notes.expired
                ));
            }
            print(&s)
        }
        BundleCmd::Sign { file, keys, out } => {
            let out = out.unwrap_or_else(|| file.clone());
            bundles::sign(&file, &keys, &out, &limits)?;
            let raw = RawBundle::read_file(&out, &limits)?;
            print(&format!("{}: {}", out.display(), bundles::describe(&raw)))
        }
        BundleCmd::Publish {
            file,
            config,
            trusted_keys,
            min_percent,
            allow_shrink,
        } => {
            let cfg = load_config(config.as_deref())?;
            let policy = bundles::PublishPolicy {
                trusted: bundles::keyring(&trusted_keys)?,
                min_percent,
                allow_shrink,
                limits,
            };
            let mut s = store::open(&cfg.storage).context("opening the store")?;
            let b = bundles::publish(s.as_mut(), &file, &policy, store::sqlite::now_us())?;
            print(&format!(
                "published {} bundle version {} on channel {}: {} entries, manifest sha256 {}\n",
                b.kind, b.version, b.channel, b.entries, b.manifest_sha256
            ))
        }
        BundleCmd::List {
            config,
            kind,
            channel,
            json,
        } => {
            let cfg = load_config(config.as_deref())?;
            let list = store::open(&cfg.storage)?
                .bundles(kind.map(|k| k.kind().as_str()), channel.as_deref())?;
            if json {
                print(&format!("{:#}\n", serde_json::json!({ "bundles": list })))
            } else {
                print(&bundles::table(&list))
            }
        }
        BundleCmd::Fetch {
            config,
            kind,
            channel,
            version,
            out,
        } => {
            let cfg = load_config(config.as_deref())?;
            let mut s = store::open(&cfg.storage)?;
            let kind = kind.kind().as_str();
            let version = match version {
                Some(v) => v,
                None => {
                    s.latest_bundle(kind, &channel)?
                        .with_context(|| {
                            format!("no {kind} bundle published on channel {channel}")
                        })?
                        .version
                }
            };
            let data = s.bundle_data(kind, &channel, version)?.with_context(|| {
                format!("no {kind} bundle version {version} on channel {channel}")
            })?;
            bundles::write_atomic(&out, &data)?;
            print(&format!(
                "{}: {kind} bundle version {version} on channel {channel}, {} bytes\n",
                out.display(),
                data.len()
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
