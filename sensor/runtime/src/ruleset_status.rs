//! The rule set's status as the service reports it: what is loaded now and how the last
//! reload went. `tapwatch run` fills it at start-up from the rule loader's counts; live rule
//! reload replaces it after each attempt (successful or not). The metrics endpoint and the
//! control socket's `ruleset-stats` read it.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

/// The running rule set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RulesetStatus {
    /// What identifies the loaded rules: the lower-case hex SHA-256 of the rule files'
    /// contents in load order (empty when no rule file is loaded or it is not known).
    pub version: String,
    /// Signatures the engine runs.
    pub loaded: u64,
    /// Rules named but not loaded (syntax, unsupported keyword, duplicate, ...).
    pub rejected: u64,
    /// The last reload attempt, if any since start.
    pub last_reload: Option<ReloadOutcome>,
}

/// How one reload attempt ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReloadOutcome {
    /// When it ended (serialised as seconds since the Unix epoch, fractional).
    #[serde(serialize_with = "unix_secs")]
    pub at: SystemTime,
    /// Whether the new rules were swapped in. A failed reload keeps the running rules.
    pub ok: bool,
    /// What happened, for the operator ("swapped in 31,204 rules", or why it failed).
    pub message: String,
    /// Rules the attempt loaded (the running count after a success).
    pub loaded: u64,
    /// Rules the attempt rejected.
    pub rejected: u64,
}

impl ReloadOutcome {
    /// [`ReloadOutcome::at`] as seconds since the Unix epoch (0 before it).
    pub fn at_unix_secs(&self) -> f64 {
        unix(self.at)
    }
}

/// `t` as seconds since the Unix epoch (0 before it).
pub fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn unix_secs<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(unix(*t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_reload_time_is_written_as_unix_seconds() {
        let status = RulesetStatus {
            version: "ab".into(),
            loaded: 3,
            rejected: 1,
            last_reload: Some(ReloadOutcome {
                at: UNIX_EPOCH + Duration::from_millis(1_500),
                ok: false,
                message: "syntax error".into(),
                loaded: 0,
                rejected: 4,
            }),
        };
        let v = serde_json::to_value(&status).unwrap();
        assert_eq!(v["last_reload"]["at"], 1.5);
        assert_eq!(v["last_reload"]["ok"], false);
        assert_eq!(v["loaded"], 3);
    }
}
