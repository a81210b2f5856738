//! `tapwatch rules check|stats`: rule files compiled offline, as a sensor would at start-up.

use std::process::ExitCode;

use serde_json::json;

use crate::{RulesCheckArgs, RulesStatsArgs};
use tapwatch_pipeline::config::Config;
use tapwatch_pipeline::detect_setup::{self, Startup};

/// How many rejections the text output of `replay` shows without `--verbose`.
pub const REJECTIONS_SHOWN: usize = 5;

fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<Config> {
    match path {
        Some(p) => Config::load(p),
        None => Ok(Config::default()),
    }
}

fn no_rules() -> anyhow::Error {
    anyhow::anyhow!(
        "no rule files: name them as arguments or in the configuration's [detect] rule_files"
    )
}

/// `rules check`: exit 1 when any rule was rejected (unless `--allow-rejects`).
pub fn check(args: &RulesCheckArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(args.config.as_deref())?;
    let startup = detect_setup::start(&config, args.config.as_deref(), &args.detect.to_args(true))?;
    if startup.files.is_empty() {
        return Err(no_rules());
    }
    if args.json {
        let mut j = startup.json();
        if let Some(obj) = j.as_object_mut() {
            obj.insert("ok".into(), json!(startup.rejected() == 0));
        }
        println!("{j}");
    } else {
        for r in &startup.rejections {
            println!("{r}");
        }
        println!("{}", counts_line(&startup));
        let by_kw = startup.rejected_by_keyword();
        if !by_kw.is_empty() {
            let mut v: Vec<_> = by_kw.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let parts: Vec<String> = v.iter().map(|(k, n)| format!("{k} {n}")).collect();
            println!("rejected by keyword: {}", parts.join(", "));
        }
    }
    Ok(if startup.rejected() > 0 && !args.allow_rejects {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// "N rule files: L loaded, R rejected, D disabled (commented out)".
pub fn counts_line(s: &Startup) -> String {
    format!(
        "{} rule file(s): {} rules loaded, {} rejected, {} disabled (commented out)",
        s.files.len(),
        s.loaded,
        s.rejected(),
        s.disabled
    )
}

/// `rules stats`.
pub fn stats(args: &RulesStatsArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(args.config.as_deref())?;
    let startup =
        detect_setup::start(&config, args.config.as_deref(), &args.detect.to_args(false))?;
    let Some(build) = &startup.build else {
        return Err(no_rules());
    };
    if args.json {
        let mut j = startup.json();
        if let Some(obj) = j.as_object_mut() {
            obj.remove("rejections");
            obj.insert(
                "rules_per_buffer".into(),
                build
                    .rules_per_buffer
                    .iter()
                    .map(|(b, n)| (b.clone(), json!(n)))
                    .collect::<serde_json::Map<_, _>>()
                    .into(),
            );
            obj.insert(
                "databases".into(),
                build
                    .databases
                    .iter()
                    .map(|d| {
                        json!({"buffer": d.buffer, "rules": d.rules, "patterns": d.patterns, "anchored": d.anchored, "bytes": d.bytes})
                    })
                    .collect::<Vec<_>>()
                    .into(),
            );
            obj.insert(
                "engine_compile_secs".into(),
                json!(build.compile_time.as_secs_f64()),
            );
        }
        println!("{j}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}", counts_line(&startup));
    println!(
        "start-up: {:.3} s (load {:.3} s, build {:.3} s; cache {}{})",
        startup.total_time().as_secs_f64(),
        startup.load_time.as_secs_f64(),
        startup.build_time.as_secs_f64(),
        build.cache.name(),
        match &build.cache {
            tapwatch_detect::CacheOutcome::Rebuilt { reason } => format!(": {reason}"),
            _ => String::new(),
        }
    );
    if let Some(w) = &build.cache_warning {
        println!("cache warning: {w}");
    }
    println!(
        "rules without a fast pattern (checked on every packet of their group): {}",
        build.rules_without_pattern
    );
    // Name columns as wide as their longest entry, so the numbers stay aligned.
    let names = build
        .rules_per_buffer
        .iter()
        .map(|(b, _)| b.chars().count());
    let w = names.max().unwrap_or(0).max(32);
    println!("rules per buffer:");
    for (b, n) in &build.rules_per_buffer {
        println!("  {b:<w$} {n:>7}");
    }
    let total = format!("total ({} databases)", build.databases.len());
    let names = build.databases.iter().map(|d| d.buffer.chars().count());
    let w = names.chain([total.len()]).max().unwrap_or(0).max(40);
    println!("prefilter databases:");
    println!(
        "  {:<w$} {:>7} {:>9} {:>9} {:>11}",
        "buffer", "rules", "patterns", "anchored", "bytes"
    );
    let (mut rules, mut patterns, mut anchored, mut bytes) = (0usize, 0usize, 0usize, 0usize);
    for d in &build.databases {
        println!(
            "  {:<w$} {:>7} {:>9} {:>9} {:>11}",
            d.buffer, d.rules, d.patterns, d.anchored, d.bytes
        );
        rules += d.rules;
        patterns += d.patterns;
        anchored += d.anchored;
        bytes += d.bytes;
    }
    println!("  {total:<w$} {rules:>7} {patterns:>9} {anchored:>9} {bytes:>11}");
    Ok(ExitCode::SUCCESS)
}
