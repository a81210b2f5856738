//! Test support shared by the integration tests of `tapwatch-center`, `tapwatch` (the
//! end-to-end tests that run both binaries) and `tapwatch-xdp`: a temporary directory removed
//! on drop, a free loopback port, a throwaway PostgreSQL server started by the test itself,
//! and throwaway network namespaces joined by a veth pair ([`netns`]).
//!
//! Only tests depend on this crate (as a dev-dependency); it panics with a clear message where
//! a test cannot go on, which is what a test wants.

pub mod netns;
mod pg;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub use pg::Postgres;

/// A fresh temporary directory, removed on drop (kept when the `KEEP` environment variable is
/// set, to look at a failed test's files).
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new empty directory `tapwatch-test-TAG-PID-N` under the system's temporary
    /// directory; unique within this process and across processes.
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let p =
            std::env::temp_dir().join(format!("tapwatch-test-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p)
            .unwrap_or_else(|e| panic!("creating temp dir {}: {e}", p.display()));
        TempDir(p)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A loopback TCP port free right now (bound and released; the caller binds it next).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free loopback port")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_dirs_are_distinct_and_removed_on_drop() {
        let a = TempDir::new("unit");
        let b = TempDir::new("unit");
        assert_ne!(a.path(), b.path());
        assert!(a.path().is_dir());
        let p = a.path().to_path_buf();
        drop(a);
        if std::env::var_os("KEEP").is_none() {
            assert!(!p.exists());
        }
    }

    #[test]
    fn free_port_is_bindable() {
        let port = free_port();
        assert_ne!(port, 0);
        TcpListener::bind(("127.0.0.1", port)).expect("bind the free port");
    }
}
