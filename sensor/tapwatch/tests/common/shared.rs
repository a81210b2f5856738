//! Where the team's shared inputs are: `$TAPWATCH_SHARED`, or `shared/` beside the
//! repository.

use std::path::{Path, PathBuf};

/// The shared directory, when `marker` (a path inside it) exists there; `None` otherwise,
/// and the caller's test prints a `skipped:` line.
pub fn shared_dir(marker: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("TAPWATCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    dir.join(marker).exists().then_some(dir)
}
