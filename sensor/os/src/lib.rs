//! The few operating-system calls tapwatch needs that `std` does not offer, as safe functions.
//!
//! All `unsafe` code is in the private [`sys`] module, whose invariants are listed at its top;
//! the rest of the workspace denies `unsafe`.

mod sys;

/// Gives the memory the allocator holds free back to the operating system (glibc's
/// `malloc_trim(0)`, which also releases free pages inside its arenas). Call it after freeing
/// something large on a long-running process, such as the detection engine a rule reload
/// replaced: glibc keeps freed memory for reuse, and an engine built on another thread sits in
/// another arena, so without this a sensor's resident memory grows by an engine per reload.
/// Returns whether memory was released; always false where the C library is not glibc.
pub fn release_free_memory() -> bool {
    sys::malloc_trim()
}

/// Lowers the calling thread's scheduling priority to `nice` (0 to 19; larger is lower), so
/// that background work (compiling a reloaded rule set) yields the CPU to packet processing.
pub fn lower_thread_priority(nice: u8) -> std::io::Result<()> {
    sys::set_thread_nice(i32::from(nice.min(19)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_lowers_its_own_priority_only() {
        let nice_of = |tid: &str| -> i64 {
            let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
            let rest = &stat[stat.rfind(')').unwrap() + 2..];
            // Field 19 of stat (the 17th after the command name and state) is the nice value.
            rest.split_whitespace().nth(16).unwrap().parse().unwrap()
        };
        let main_tid = std::fs::read_link("/proc/thread-self")
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let before = nice_of(&main_tid);
        let (tid, nice) = std::thread::spawn(|| {
            lower_thread_priority(10).unwrap();
            let tid = std::fs::read_link("/proc/thread-self")
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
            let rest = &stat[stat.rfind(')').unwrap() + 2..];
            (
                tid,
                rest.split_whitespace()
                    .nth(16)
                    .unwrap()
                    .parse::<i64>()
                    .unwrap(),
            )
        })
        .join()
        .unwrap();
        assert_ne!(tid, main_tid);
        assert_eq!(nice, before.max(10));
        assert_eq!(nice_of(&main_tid), before);
    }

    #[test]
    fn free_memory_is_released() {
        // Allocate and free many blocks; the call must not fail or crash. Whether pages were
        // returned depends on the allocator's state; on glibc it reports so.
        let blocks: Vec<Vec<u8>> = (0..1000).map(|_| vec![1u8; 64 * 1024]).collect();
        drop(blocks);
        let released = release_free_memory();
        if cfg!(target_env = "gnu") {
            assert!(released);
        }
    }
}
