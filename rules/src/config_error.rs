//! Located errors of the configuration files (`classification.config`, `threshold.config`).

use std::fmt;

/// A problem in a configuration file, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, as given.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column of the offending text.
    pub column: u32,
    /// What is wrong or what was expected.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

impl std::error::Error for ConfigError {}

/// Lines of a configuration file with their 1-based numbers, comments and blank lines
/// dropped, continuation lines (`\`) joined; each with the column its text starts at.
pub(crate) fn config_lines(text: &str) -> Vec<(u32, u32, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(u32, u32, String)> = None;
    for (idx, raw) in text.lines().enumerate() {
        let line = u32::try_from(idx + 1).unwrap_or(u32::MAX);
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let lead = raw.len() - raw.trim_start().len();
        let col = u32::try_from(lead + 1).unwrap_or(u32::MAX);
        let body = raw.trim();
        if pending.is_none() && (body.is_empty() || body.starts_with('#')) {
            continue;
        }
        let (cont, body) = match body.strip_suffix('\\') {
            Some(b) => (true, b),
            None => (false, body),
        };
        let entry = pending.get_or_insert_with(|| (line, col, String::new()));
        entry.2.push_str(body);
        if !cont {
            if let Some(e) = pending.take() {
                out.push(e);
            }
        }
    }
    out.extend(pending);
    out
}
