//! Every `unsafe` operation of the crate: two libc calls.
//!
//! This is the crate's only module that may use `unsafe`; the rest of the crate (and the
//! workspace) denies it. What it offers is safe to use from any thread, in any order, because:
//!
//! 1. **No pointers cross.** Each call takes and returns plain integers; no memory of ours is
//!    lent to the C library, so nothing can be read or written out of bounds or after free.
//! 2. **Thread-safe callees.** glibc's `malloc_trim` takes every arena's lock while it trims;
//!    `setpriority` and `gettid` are system calls acting on the kernel's task state only.
//! 3. **Only this thread.** `setpriority(PRIO_PROCESS, gettid(), n)` acts on the calling
//!    thread alone (Linux gives each thread its own nice value; `PRIO_PROCESS` with a thread id
//!    names that thread), never on another thread or process.
#![allow(unsafe_code)]

/// glibc's `malloc_trim(0)`: true when memory was released.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn malloc_trim() -> bool {
    // SAFETY: invariants 1 and 2 (an integer argument; glibc locks its arenas).
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Other C libraries: nothing to do.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn malloc_trim() -> bool {
    false
}

/// Sets the calling thread's nice value.
#[cfg(target_os = "linux")]
pub(crate) fn set_thread_nice(nice: i32) -> std::io::Result<()> {
    // SAFETY: invariants 1 to 3 (integers only; a system call on this thread's task).
    let rc = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Elsewhere: not supported.
#[cfg(not(target_os = "linux"))]
pub(crate) fn set_thread_nice(_nice: i32) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}
