//! The center's log messages, as `tracing` events: the subscriber `main` installs
//! (`tapwatch_service::logging`) writes them to stderr in the journal's form under systemd,
//! timestamped text on a terminal, or JSON. Kept tiny on purpose: the center logs
//! connections, refusals and failures, never per record.

/// Something worth knowing.
pub fn info(msg: &str) {
    tracing::info!("{msg}");
}

/// Something refused or suspicious.
pub fn warn(msg: &str) {
    tracing::warn!("{msg}");
}

/// Something failed.
pub fn error(msg: &str) {
    tracing::error!("{msg}");
}
