//! `tapwatch`: the sensor's command-line entry point.
//!
//! The binary only wires the library crates together: it owns the command line, the
//! configuration file and the packet pipeline's assembly.

mod replay;

use tapwatch::config;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// tapwatch: a network security sensor.
///
/// Decodes packets (Ethernet, VLAN, MPLS, GRE/VXLAN/Geneve/ERSPAN tunnels, IPv4/IPv6 with
/// defragmentation), tracks flows, reassembles TCP streams and parses HTTP, DNS and TLS, writing
/// Suricata-compatible EVE JSON that SIEM pipelines built for Suricata ingest unchanged.
#[derive(Debug, Parser)]
#[command(
    name = "tapwatch",
    version,
    propagate_version = true,
    after_help = "Examples:\n  \
        tapwatch replay --eve eve.json capture.pcap more.pcapng.gz\n  \
        tapwatch replay --config sensor.toml --eve - capture.pcap | jq .\n  \
        tapwatch config default > sensor.toml\n  \
        tapwatch config check sensor.toml"
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
    Replay(ReplayArgs),
    /// Inspect configuration files.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, clap::Args)]
struct ReplayArgs {
    /// Write EVE JSON records to FILE ("-" for stdout).
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
    /// Capture files to read, in order.
    #[arg(required = true, value_name = "PCAP")]
    pcaps: Vec<PathBuf>,
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
    let result = match cli.command {
        Command::Replay(args) => replay::run(&args),
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
            eprintln!("tapwatch: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
