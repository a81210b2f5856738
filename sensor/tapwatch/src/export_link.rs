//! Starting the exporter for a replay, and the `tapwatch export` commands.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tapwatch_export::{ExportConfig, ExportStats, Exporter, HealthSource, NoHealth, SensorInfo};
use tapwatch_pipeline::config::Config;

/// The `[export]` settings of `config` with relative paths resolved against `config_dir`
/// (the configuration file's directory), as for rule files.
pub fn resolved(config: &Config, config_dir: Option<&Path>) -> ExportConfig {
    let mut e = config.export.clone();
    let fix = |p: &mut PathBuf| {
        if let Some(d) = config_dir {
            if p.is_relative() {
                *p = d.join(&*p);
            }
        }
    };
    for p in [
        &mut e.ca_cert,
        &mut e.client_cert,
        &mut e.client_key,
        &mut e.dictionary_path,
    ]
    .into_iter()
    .flatten()
    {
        fix(p);
    }
    fix(&mut e.spool_dir);
    e
}

/// A ruleset name from the rule files: their names, comma-separated (bounded).
pub fn ruleset_name(files: &[PathBuf]) -> String {
    let mut s = String::new();
    for f in files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        if !s.is_empty() {
            s.push(',');
        }
        s.push_str(&name);
        if s.len() > 200 {
            s.truncate(200);
            s.push_str(",...");
            break;
        }
    }
    s
}

/// What the exporter's handles do when its queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    /// Wait for room (a replay of files loses nothing by waiting).
    Wait,
    /// Drop the record, counted (live capture never waits on export).
    Drop,
}

/// Starts the exporter with `export`, filling in the ruleset of `rule_files` (whose contents
/// hash to `ruleset_sha256`) unless the configuration names one.
pub fn start(
    mut export: ExportConfig,
    rule_files: &[PathBuf],
    ruleset_sha256: &str,
    health: Arc<dyn HealthSource>,
    when_full: WhenFull,
) -> anyhow::Result<Exporter> {
    if export.ruleset_sha256.is_empty() && !rule_files.is_empty() {
        ruleset_sha256.clone_into(&mut export.ruleset_sha256);
    }
    if export.ruleset_id.is_empty() {
        export.ruleset_id = ruleset_name(rule_files);
    }
    let mut exporter =
        Exporter::start(&export, SensorInfo::default(), health).context("cannot start export")?;
    // A replay reads a file: when the exporter falls behind, the replay waits for it rather
    // than dropping alerts at the (still bounded) queue. Live capture cannot wait.
    if when_full == WhenFull::Wait {
        exporter.wait_when_full();
    }
    let r = exporter.open_report();
    eprintln!(
        "tapwatch: export to {} as {:?}; spool {}: {} unacknowledged batch(es) recovered{}",
        export.center_url,
        export.sensor_id,
        export.spool_dir.display(),
        r.recovered_batches,
        if r.corrupt_regions > 0 || r.torn_tail_bytes > 0 {
            format!(
                ", {} damaged region(s) and {} torn tail byte(s) skipped",
                r.corrupt_regions, r.torn_tail_bytes
            )
        } else {
            String::new()
        }
    );
    Ok(exporter)
}

/// One line (text summary) about the export's outcome.
pub fn summary_line(s: &ExportStats) -> String {
    let mut line = format!(
        "  export: {} alerts, {} flows queued ({} alerts, {} flows dropped for a full queue, {} \
         unconvertible); {} batches spooled, {} acknowledged by the center; still spooled: {} \
         batches ({} bytes)",
        s.queued[0],
        s.queued[1],
        s.dropped_queue_full[0],
        s.dropped_queue_full[1],
        s.dropped_encode[0] + s.dropped_encode[1],
        s.batches_spooled,
        s.batches_acked,
        s.spool_backlog_batches,
        s.spool_backlog_bytes
    );
    let spool_drops = s.dropped_spool_full[0] + s.dropped_spool_full[1];
    if spool_drops > 0 {
        line.push_str(&format!(
            "; DROPPED for a full spool: {} alerts, {} flows",
            s.dropped_spool_full[0], s.dropped_spool_full[1]
        ));
    }
    if let Some(e) = &s.last_error {
        line.push_str(&format!("; last error: {e}"));
    }
    line.push('\n');
    line
}

/// `tapwatch export train-dict`.
pub fn train_dict(eve: &Path, out: &Path, size: usize) -> anyhow::Result<ExitCode> {
    let (alerts, skipped) = tapwatch_export::alerts_from_eve_file(eve)?;
    let n = alerts.len();
    let dict = tapwatch_export::train_dictionary(alerts.into_iter(), size)?;
    let id = tapwatch_export::dictionary_id(&dict)?;
    std::fs::write(out, &dict).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "tapwatch: trained a {} byte dictionary (id {id}) on {n} alerts ({skipped} unreadable \
         lines skipped): {}",
        dict.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `tapwatch export drain`: delivers what the spool holds and exits. Exit status 0 when the
/// spool is empty at the end, 1 when batches remain in it.
pub fn drain(config_path: &Path, wait: Duration, summary_json: bool) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let dir = tapwatch_pipeline::detect_setup::config_dir(Some(config_path));
    let mut export = resolved(&config, dir.as_deref());
    export.enabled = true;
    let exporter = start(export, &[], "", Arc::new(NoHealth), WhenFull::Wait)?;
    let stats = exporter.shutdown(wait);
    if summary_json {
        eprintln!("{}", serde_json::json!({ "export": stats }));
    } else {
        eprint!("tapwatch export drain:\n{}", summary_line(&stats));
    }
    Ok(if stats.spool_backlog_batches == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_follow_the_config_file() {
        let mut c = Config::default();
        c.export.ca_cert = Some("pki/ca.pem".into());
        c.export.client_key = Some("/abs/k.pem".into());
        c.export.spool_dir = "spool".into();
        let e = resolved(&c, Some(Path::new("/etc/tw")));
        assert_eq!(e.ca_cert, Some(PathBuf::from("/etc/tw/pki/ca.pem")));
        assert_eq!(e.client_key, Some(PathBuf::from("/abs/k.pem")));
        assert_eq!(e.spool_dir, PathBuf::from("/etc/tw/spool"));
    }

    #[test]
    fn ruleset_name_lists_the_files() {
        assert_eq!(
            ruleset_name(&[PathBuf::from("/r/a.rules"), PathBuf::from("b.rules")]),
            "a.rules,b.rules"
        );
    }
}
