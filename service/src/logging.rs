//! The binaries' logs: one `tracing` subscriber writing to stderr, in the form that suits
//! where stderr goes.
//!
//! - **journal**: stderr is a stream to systemd's journal (`JOURNAL_STREAM` names the
//!   device and inode of that stream, compared with stderr's own): one line per event, no
//!   timestamp (the journal adds its own), the level as a syslog priority prefix (`<3>`
//!   error, `<4>` warning, `<6>` info, `<7>` debug and trace; sd-daemon(3)), so that
//!   `journalctl -p warning` works;
//! - **text**: `2026-12-08T10:00:00.000000Z  WARN message`, coloured on a terminal;
//! - **json**: one JSON object per line (timestamp, level, fields, target), for log shippers.
//!
//! `auto` (the default) picks journal or text. The level comes from `[logging] level`;
//! the `TAPWATCH_LOG` environment variable overrides it with `RUST_LOG`-style directives
//! (`TAPWATCH_LOG=debug`, `TAPWATCH_LOG=info,tapwatch_export=debug`).
//!
//! Nothing is logged per packet: the sensor's workers never log.

use std::io::IsTerminal as _;

use serde::Deserialize;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer};

/// The environment variable that overrides `[logging] level`.
pub const LOG_ENV: &str = "TAPWATCH_LOG";

/// `[logging]`: the same section in the sensor's and the center's configuration.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingSection {
    /// Least severe level logged. Default `info`.
    pub level: LogLevel,
    /// Form of the lines. Default `auto`.
    pub format: LogFormat,
}

/// A log level.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Failures only.
    Error,
    /// Failures and what was refused, dropped or degraded.
    Warn,
    /// Also start, stop and reload (the default).
    #[default]
    Info,
    /// Also detail useful when investigating.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    fn directive(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// The form of log lines.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `journal` when stderr is connected to systemd's journal, `text` otherwise.
    #[default]
    Auto,
    /// Syslog priority prefixes, no timestamps.
    Journal,
    /// Human-readable lines with timestamps.
    Text,
    /// One JSON object per line.
    Json,
}

/// What [`init`] set up, for the caller to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// The form chosen (never `Auto`).
    pub format: LogFormat,
    /// `TAPWATCH_LOG` was set but could not be parsed: the message; the configured level
    /// is used instead.
    pub bad_env: Option<String>,
}

/// Installs the process's subscriber, writing to stderr. Call once, first thing in `main`
/// (a second call leaves the first subscriber in place).
pub fn init(section: &LoggingSection) -> Installed {
    let env = std::env::var(LOG_ENV).ok();
    let (filter, bad_env) = filter(section.level, env.as_deref());
    let format = resolve(section.format, stderr_is_journal());
    let layer = layer(format, std::io::stderr, std::io::stderr().is_terminal());
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
    let installed = Installed { format, bad_env };
    if let Some(e) = &installed.bad_env {
        tracing::warn!("{LOG_ENV}: {e}; using [logging] level instead");
    }
    installed
}

/// The filter: `env` (`TAPWATCH_LOG`) when set and valid, else `level`.
fn filter(level: LogLevel, env: Option<&str>) -> (EnvFilter, Option<String>) {
    match env.map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => match EnvFilter::try_new(e) {
            Ok(f) => (f, None),
            Err(err) => (
                EnvFilter::new(level.directive()),
                Some(format!("{e:?}: {err}")),
            ),
        },
        None => (EnvFilter::new(level.directive()), None),
    }
}

fn resolve(format: LogFormat, journal: bool) -> LogFormat {
    match format {
        LogFormat::Auto if journal => LogFormat::Journal,
        LogFormat::Auto => LogFormat::Text,
        f => f,
    }
}

/// The formatting layer for `format` (`Auto` is taken as text) writing to `writer`.
fn layer<S, W>(format: LogFormat, writer: W, ansi: bool) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let fmt = tracing_subscriber::fmt::layer().with_writer(writer);
    match format {
        LogFormat::Journal => fmt.with_ansi(false).event_format(JournalLine).boxed(),
        LogFormat::Json => fmt.with_ansi(false).json().boxed(),
        LogFormat::Auto | LogFormat::Text => fmt.with_ansi(ansi).with_target(false).boxed(),
    }
}

/// Whether stderr is the stream systemd connected to the journal: `JOURNAL_STREAM` is
/// `device:inode` of that stream, and a child that inherited the variable but not the
/// stream (stderr redirected) must not take it for the journal.
pub fn stderr_is_journal() -> bool {
    use std::os::fd::AsFd as _;
    use std::os::unix::fs::MetadataExt as _;
    let Ok(stream) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() else {
        return false;
    };
    match std::fs::File::from(fd).metadata() {
        Ok(m) => journal_stream_is(&stream, m.dev(), m.ino()),
        Err(_) => false,
    }
}

fn journal_stream_is(value: &str, dev: u64, ino: u64) -> bool {
    let Some((d, i)) = value.trim().split_once(':') else {
        return false;
    };
    d.parse() == Ok(dev) && i.parse() == Ok(ino)
}

/// The syslog priority of a level (sd-daemon(3)).
fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// `<4>message key=value`: one journal line per event.
#[derive(Debug, Clone, Copy)]
struct JournalLine;

impl<S, N> FormatEvent<S, N> for JournalLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        write!(writer, "<{}>", priority(event.metadata().level()))?;
        // A multi-line message would reach the journal as several entries, the later ones
        // at the default priority: keep one event on one line.
        let mut text = String::new();
        ctx.field_format()
            .format_fields(Writer::new(&mut text), event)?;
        writeln!(writer, "{}", text.replace('\n', " | "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A `MakeWriter` into a shared buffer.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'w self) -> Buffer {
            self.clone()
        }
    }

    fn capture(format: LogFormat, level: LogLevel, env: Option<&str>) -> String {
        let buf = Buffer::default();
        let (filter, _) = filter(level, env);
        let subscriber = tracing_subscriber::registry()
            .with(layer(format, buf.clone(), false).with_filter(filter));
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!("disk full");
            tracing::warn!(queue = 3, "center refused\nthe batch");
            tracing::info!("capture started");
            tracing::debug!("detail");
        });
        let bytes = buf.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn journal_lines_carry_priorities_and_no_time() {
        let out = capture(LogFormat::Journal, LogLevel::Info, None);
        assert_eq!(
            out,
            "<3>disk full\n<4>center refused | the batch queue=3\n<6>capture started\n"
        );
    }

    #[test]
    fn text_lines_carry_time_and_level() {
        let out = capture(LogFormat::Text, LogLevel::Warn, None);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}"); // the warning spans two lines
        assert!(lines[0].starts_with("20"), "a timestamp first: {out}");
        assert!(
            lines[0].contains("ERROR") && lines[0].ends_with("disk full"),
            "{out}"
        );
        assert!(lines[1].contains("WARN"), "{out}");
        assert!(
            !out.contains("capture started"),
            "info is below warn: {out}"
        );
    }

    #[test]
    fn json_lines_parse() {
        let out = capture(LogFormat::Json, LogLevel::Error, None);
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.contains("\"level\":\"ERROR\""), "{out}");
        assert!(out.contains("\"message\":\"disk full\""), "{out}");
    }

    #[test]
    fn env_overrides_level_and_bad_env_falls_back() {
        let out = capture(LogFormat::Journal, LogLevel::Error, Some("debug"));
        assert!(out.contains("<7>detail"), "{out}");
        let (_, bad) = filter(LogLevel::Warn, Some("tapwatch=loud"));
        assert!(bad.is_some());
        let (_, ok) = filter(LogLevel::Warn, Some("  "));
        assert!(ok.is_none());
    }

    #[test]
    fn journal_stream_matches_device_and_inode() {
        assert!(journal_stream_is("8:12345", 8, 12345));
        assert!(!journal_stream_is("8:12345", 8, 12346));
        assert!(!journal_stream_is("8-12345", 8, 12345));
        assert!(!journal_stream_is("", 8, 12345));
        assert_eq!(resolve(LogFormat::Auto, true), LogFormat::Journal);
        assert_eq!(resolve(LogFormat::Auto, false), LogFormat::Text);
        assert_eq!(resolve(LogFormat::Json, true), LogFormat::Json);
    }

    #[test]
    fn stderr_redirected_is_not_the_journal() {
        // Whatever JOURNAL_STREAM says in this environment, 0:0 is no stream's identity.
        assert!(!journal_stream_is("0:0", 1, 1));
    }

    #[test]
    fn section_parses_and_refuses_unknown_keys() {
        let s: LoggingSection = toml::from_str("level = \"debug\"\nformat = \"json\"\n").unwrap();
        assert_eq!(s.level, LogLevel::Debug);
        assert_eq!(s.format, LogFormat::Json);
        assert!(toml::from_str::<LoggingSection>("colour = true\n").is_err());
        assert!(toml::from_str::<LoggingSection>("level = \"loud\"\n").is_err());
    }
}
