//! The spool directory's lock file: one exporter per directory.
//!
//! `LOCK` holds the owner's process id. It is created exclusively; one left by a process that
//! no longer runs (killed with `kill -9`) is taken over. Removed when the spool is dropped.

use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use super::SpoolError;

/// The lock file's name in the spool directory.
pub(super) const LOCK_FILE: &str = "LOCK";

/// Held while a [`Spool`](super::Spool) is open.
#[derive(Debug)]
pub(super) struct DirLock {
    path: PathBuf,
}

/// Whether process `pid` runs (Linux: `/proc/PID` exists).
fn alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

impl DirLock {
    /// Takes the lock of `dir`, or says which process holds it.
    pub(super) fn acquire(dir: &Path) -> Result<DirLock, SpoolError> {
        let path = dir.join(LOCK_FILE);
        let io_err = |op, source| SpoolError::Io {
            op,
            path: path.clone(),
            source,
        };
        // A few rounds: another process may take over a stale lock at the same time.
        for _ in 0..3 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    f.write_all(std::process::id().to_string().as_bytes())
                        .map_err(|e| io_err("write", e))?;
                    return Ok(DirLock { path });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let owner = fs::read_to_string(&path)
                        .ok()
                        .and_then(|s| s.trim().parse::<u32>().ok());
                    match owner {
                        Some(pid) if alive(pid) => {
                            return Err(SpoolError::Locked {
                                path: path.clone(),
                                pid,
                            })
                        }
                        // Stale (its process is gone) or unreadable: take it over.
                        _ => match fs::remove_file(&path) {
                            Ok(()) => {}
                            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                            Err(e) => return Err(io_err("remove stale lock", e)),
                        },
                    }
                }
                Err(e) => return Err(io_err("create lock", e)),
            }
        }
        Err(io_err(
            "take lock",
            io::Error::new(io::ErrorKind::WouldBlock, "lock taken over concurrently"),
        ))
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}
