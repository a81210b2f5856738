//! `tapwatch-fuzz`: runs tapwatch's fuzz targets with a deterministic mutation fuzzer.
//!
//! ```text
//! tapwatch-fuzz list [--smoke]
//! tapwatch-fuzz run TARGET [--seconds N | --iterations N] [--seed-dir DIR]... [--max-len N]
//!                          [--max-seed-files N] [--rng-seed N] [--artifacts DIR]
//! tapwatch-fuzz replay TARGET FILE...
//! ```
//!
//! Exit status: 0 when nothing was found, 1 when a target panicked (the input is written to
//! the artifacts directory and its path printed), 2 for a usage or I/O error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tapwatch_fuzz::fuzzer::{self, Options};
use tapwatch_fuzz::rng::Rng;
use tapwatch_fuzz::seed_files::load_dir;
use tapwatch_fuzz::targets::{self, SeedKind, Target, TARGETS};

const USAGE: &str = "usage:
  tapwatch-fuzz list [--smoke]
  tapwatch-fuzz run TARGET [--seconds N | --iterations N] [--seed-dir DIR]... [--max-len N]
                           [--max-seed-files N] [--rng-seed N] [--artifacts DIR]
  tapwatch-fuzz replay TARGET FILE...";

/// Default time budget of `run` when neither --seconds nor --iterations is given.
const DEFAULT_SECONDS: u64 = 10;
/// Default number of files sampled per --seed-dir.
const DEFAULT_SEED_FILES: usize = 32;

/// A command-line or I/O problem.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}\n{USAGE}")]
    Usage(String),
    #[error("unknown target {0:?} (see `tapwatch-fuzz list`)")]
    UnknownTarget(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Seeds(#[from] tapwatch_fuzz::seed_files::SeedError),
}

/// Options of `run`.
#[derive(Debug)]
struct RunArgs {
    target: &'static Target,
    seconds: Option<u64>,
    iterations: Option<u64>,
    seed_dirs: Vec<PathBuf>,
    max_len: usize,
    max_seed_files: usize,
    rng_seed: u64,
    artifacts: PathBuf,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tapwatch-fuzz: {e}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(args: &[String]) -> Result<ExitCode, CliError> {
    match args.first().map(String::as_str) {
        Some("list") => {
            let smoke_only = args.get(1).is_some_and(|a| a == "--smoke");
            for t in TARGETS.iter().filter(|t| t.smoke || !smoke_only) {
                println!("{:<10} {}", t.name, t.about);
            }
            Ok(ExitCode::SUCCESS)
        }
        Some("run") => run(parse_run(args.get(1..).unwrap_or(&[]))?),
        Some("replay") => {
            let name = args
                .get(1)
                .ok_or_else(|| CliError::Usage("replay needs a target".into()))?;
            let target = find(name)?;
            let files = args.get(2..).unwrap_or(&[]);
            if files.is_empty() {
                return Err(CliError::Usage("replay needs a file".into()));
            }
            replay(target, files)
        }
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(CliError::Usage(format!("unknown command {other:?}"))),
        None => Err(CliError::Usage("no command".into())),
    }
}

fn find(name: &str) -> Result<&'static Target, CliError> {
    targets::find(name).ok_or_else(|| CliError::UnknownTarget(name.to_string()))
}

fn parse_run(args: &[String]) -> Result<RunArgs, CliError> {
    let name = args
        .first()
        .ok_or_else(|| CliError::Usage("run needs a target".into()))?;
    let target = find(name)?;
    let mut out = RunArgs {
        target,
        seconds: None,
        iterations: None,
        seed_dirs: Vec::new(),
        max_len: target.max_len,
        max_seed_files: DEFAULT_SEED_FILES,
        rng_seed: 0,
        artifacts: Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("artifacts")
            .join(target.name),
    };
    let mut rest = args.get(1..).unwrap_or(&[]).iter();
    while let Some(flag) = rest.next() {
        let mut value = || {
            rest.next()
                .cloned()
                .ok_or_else(|| CliError::Usage(format!("{flag} needs a value")))
        };
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| CliError::Usage(format!("{flag}: {v:?} is not a number")))
        };
        match flag.as_str() {
            "--seconds" => out.seconds = Some(number(value()?)?),
            "--iterations" => out.iterations = Some(number(value()?)?),
            "--seed-dir" => out.seed_dirs.push(PathBuf::from(value()?)),
            "--max-len" => out.max_len = number(value()?)?.clamp(1, 16 << 20) as usize,
            "--max-seed-files" => out.max_seed_files = number(value()?)? as usize,
            "--rng-seed" => out.rng_seed = number(value()?)?,
            "--artifacts" => out.artifacts = PathBuf::from(value()?),
            other => return Err(CliError::Usage(format!("unknown option {other:?}"))),
        }
    }
    if out.seconds.is_some() && out.iterations.is_some() {
        return Err(CliError::Usage(
            "--seconds and --iterations exclude each other".into(),
        ));
    }
    if out.seconds.is_none() && out.iterations.is_none() {
        out.seconds = Some(DEFAULT_SECONDS);
    }
    Ok(out)
}

fn run(args: RunArgs) -> Result<ExitCode, CliError> {
    let t = args.target;
    let mut seeds = tapwatch_fuzz::seeds::builtin(t.name);
    let builtin = seeds.len();
    // Stored seeds (crash reproducers) are inputs as they are.
    let stored = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(t.name);
    let mut rng = Rng::new(args.rng_seed ^ 0x5eed);
    if stored.is_dir() {
        seeds.extend(load_dir(
            &stored,
            SeedKind::Raw,
            &mut rng,
            usize::MAX,
            args.max_len,
        )?);
    }
    for dir in &args.seed_dirs {
        seeds.extend(load_dir(
            dir,
            t.seed_kind,
            &mut rng,
            args.max_seed_files,
            args.max_len,
        )?);
    }
    eprintln!(
        "{}: {} seeds ({} built in), max length {}, rng seed {}",
        t.name,
        seeds.len(),
        builtin,
        args.max_len,
        args.rng_seed
    );
    let opts = Options {
        iterations: args.iterations,
        seconds: args.seconds,
        max_len: args.max_len,
        rng_seed: args.rng_seed,
    };
    let report = fuzzer::fuzz(t, seeds, &opts);
    let secs = report.elapsed.as_secs_f64();
    eprintln!(
        "{}: {} executions in {:.1} s ({:.0}/s), pool {}, slowest {:.1} ms ({} bytes)",
        t.name,
        report.executions,
        secs,
        report.executions as f64 / secs.max(1e-9),
        report.pool,
        report.slowest.0.as_secs_f64() * 1e3,
        report.slowest.1
    );
    let Some(crash) = report.crash else {
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(&args.artifacts).map_err(|source| CliError::Write {
        path: args.artifacts.clone(),
        source,
    })?;
    let path = args
        .artifacts
        .join(format!("crash-{}", fuzzer::input_hash(&crash.input)));
    std::fs::write(&path, &crash.input).map_err(|source| CliError::Write {
        path: path.clone(),
        source,
    })?;
    eprintln!("{}: CRASH: {}", t.name, crash.message);
    eprintln!(
        "{}: input written to {} (rerun: tapwatch-fuzz replay {} {})",
        t.name,
        path.display(),
        t.name,
        path.display()
    );
    Ok(ExitCode::from(1))
}

fn replay(target: &Target, files: &[String]) -> Result<ExitCode, CliError> {
    let mut failed = false;
    for f in files {
        let path = PathBuf::from(f);
        let data = std::fs::read(&path).map_err(|source| CliError::Read {
            path: path.clone(),
            source,
        })?;
        match fuzzer::run_one(target, &data) {
            Ok(()) => println!("{}: {}: ok", target.name, path.display()),
            Err(message) => {
                failed = true;
                println!("{}: {}: CRASH: {message}", target.name, path.display());
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
