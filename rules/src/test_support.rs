//! Helpers for tests that read the team's shared corpus.

use std::path::PathBuf;

/// `$TAPWATCH_SHARED`, else `../shared` beside the repository; `None` (after printing a
/// `skipped:` line) when absent.
pub(crate) fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TAPWATCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: shared corpus {} not found", dir.display());
        None
    }
}
