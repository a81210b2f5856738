//! The spool directory's lock: one exporter per directory.
//!
//! An advisory `flock(2)` on the file `LOCK`, taken without waiting and held for as long as the
//! [`Spool`](super::Spool) is open. The kernel releases it when its holder exits in any way
//! (`kill -9` and power loss included), so a lock is never stale: a sensor restarted after a
//! crash or a reboot takes it at once, whatever process now has the old process id. The file
//! holds the holder's process id, for the error message of a second sensor; it is left in
//! place on release (removing it would let a process that opened the old file and one that
//! creates a new one both hold "the" lock).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::Path;

use super::SpoolError;

/// The lock file's name in the spool directory.
pub(super) const LOCK_FILE: &str = "LOCK";

/// Held while a [`Spool`](super::Spool) is open: the lock lasts as long as this file handle.
#[derive(Debug)]
pub(super) struct DirLock {
    _file: File,
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
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_err("open lock", e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let pid = file
                    .read_to_string(&mut text)
                    .ok()
                    .and_then(|_| text.trim().parse::<u32>().ok());
                return Err(SpoolError::Locked { path, pid });
            }
            Err(TryLockError::Error(e)) => return Err(io_err("lock", e)),
        }
        file.set_len(0).map_err(|e| io_err("truncate lock", e))?;
        file.rewind().map_err(|e| io_err("rewind lock", e))?;
        file.write_all(std::process::id().to_string().as_bytes())
            .map_err(|e| io_err("write lock", e))?;
        Ok(DirLock { _file: file })
    }
}

/// `process N` or `another process`, for [`SpoolError::Locked`]'s message.
pub(super) fn holder(pid: &Option<u32>) -> String {
    match pid {
        Some(pid) => format!("process {pid}"),
        None => "another process".into(),
    }
}
