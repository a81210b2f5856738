//! Log lines on stderr: `<RFC 3339 time> <LEVEL> <message>`. Kept tiny on purpose: the center
//! logs connections, refusals and failures, never per record.

use tapwatch_proto::time::format_rfc3339_us;

fn line(level: &str, msg: &str) {
    eprintln!(
        "{} {level} {msg}",
        format_rfc3339_us(crate::store::sqlite::now_us())
    );
}

/// Something worth knowing.
pub fn info(msg: &str) {
    line("INFO", msg);
}

/// Something refused or suspicious.
pub fn warn(msg: &str) {
    line("WARN", msg);
}

/// Something failed.
pub fn error(msg: &str) {
    line("ERROR", msg);
}
