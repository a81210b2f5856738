//! Entering a network namespace: the tests' one `unsafe` call.
#![allow(
    unsafe_code,
    reason = "setns(2) has no safe wrapper in std; one call, below"
)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Moves the calling thread into the network namespace pinned at `path`.
pub fn enter(path: &str) -> io::Result<()> {
    let file = File::open(path)?;
    // SAFETY: `file` is an open namespace descriptor alive for the call; setns only changes
    // the calling thread's network namespace and touches no memory of ours.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
