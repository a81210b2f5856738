//! The EVE output as a log file named by its path: opened with `O_APPEND`, rotated by size
//! and time, reopened on request, and kept writing through errors.
//!
//! What an operator of Suricata's `eve-log` expects, and how logrotate works with it:
//! - **Append.** The file is opened with `O_APPEND` (created with `mode` when missing, the
//!   process's umask applying as for any `open(2)`); `append = false` empties an existing
//!   file once, at start, never on a reopen or rotation.
//! - **Rotation by size and time.** Before a chunk that would take a non-empty file past
//!   `rotate_size_bytes`, and at the first chunk or idle tick after a multiple of
//!   `rotate_interval_secs` since the Unix epoch (UTC: 3600 rotates at every full hour, 86400
//!   at midnight UTC), the file is renamed to `<name>.<YYYYMMDD>T<HHMMSS>` (the UTC time it
//!   was rotated, `-1`, `-2` ... appended when that name is taken within the same second) and
//!   a new file is created at the path. Then only the `max_files` newest rotated files of
//!   that exact form are kept (0 keeps all); other files (logrotate's `.1`, `.gz`) are never
//!   touched. Rotation happens only between chunks of whole records, so no record is split
//!   or lost; a file may pass `rotate_size_bytes` only when one chunk alone is bigger.
//!   Files that are not regular files (`/dev/null`, a FIFO) are never rotated.
//! - **logrotate `create` + `postrotate` SIGHUP**: logrotate renames the file; the sensor
//!   keeps writing into the renamed file (same inode) until the [`super::Reopen`] request,
//!   then opens the path again, creating it. Nothing is lost in between.
//! - **logrotate `copytruncate`**: logrotate copies the file and truncates it to 0; with
//!   `O_APPEND` the next write goes to the new end of the file (no hole of zeros). Records
//!   written between the copy and the truncation are lost: that is copytruncate's own race,
//!   which the `create` scheme does not have.
//! - **Errors.** A failed write (disk full, I/O error) or a failed open drops the chunk (its
//!   records are counted as dropped), the file is cut back to its length before the chunk
//!   when it can be (otherwise the next write starts a new line, so only the cut record is
//!   damaged), one warning goes to stderr, and the chunks that come while it fails are
//!   dropped and counted; the path is reopened every `retry_interval` until a write works,
//!   and a second message says so. The workers never see the error and never wait for it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{Counters, Output, Reopen};

/// The interval between two attempts to reopen a file that failed.
pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(5);

/// The wall clock the rotation reads (injectable for tests).
pub type Clock = Box<dyn Fn() -> SystemTime + Send>;

/// The system's wall clock.
pub fn system_clock() -> Clock {
    Box::new(SystemTime::now)
}

/// How the EVE log file is written (`[eve]` in the configuration; see the module's
/// documentation for the behaviour).
#[derive(Debug, Clone)]
pub struct EveFileOptions {
    /// The file's path.
    pub path: PathBuf,
    /// Keep an existing file's content (`O_APPEND`); `false` empties it once, at start.
    pub append: bool,
    /// Permission bits of a file created (the umask applies).
    pub mode: u32,
    /// Rotate before a chunk would take the file past this size; 0: never by size.
    pub rotate_size_bytes: u64,
    /// Rotate at every multiple of this many seconds since the epoch; 0: never by time.
    pub rotate_interval_secs: u64,
    /// Rotated files kept (the oldest beyond are deleted); 0: all.
    pub max_files: usize,
    /// Time between two attempts to reopen the file after an error.
    pub retry_interval: Duration,
    /// Requests to reopen the file (SIGHUP).
    pub reopen: Reopen,
}

impl EveFileOptions {
    /// Appending to `path`, mode 0640, no rotation, 10 rotated files kept, retrying every
    /// [`DEFAULT_RETRY_INTERVAL`].
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            append: true,
            mode: 0o640,
            rotate_size_bytes: 0,
            rotate_interval_secs: 0,
            max_files: 10,
            retry_interval: DEFAULT_RETRY_INTERVAL,
            reopen: Reopen::default(),
        }
    }
}

/// The log file and its state, owned by the writer thread.
pub(super) struct LogFile {
    options: EveFileOptions,
    clock: Clock,
    counters: Arc<Counters>,
    /// `None` while failing.
    file: Option<File>,
    /// A regular file: sizes mean something and it may be renamed.
    regular: bool,
    /// The next time boundary (seconds since the epoch) for rotation by time.
    next_boundary: Option<u64>,
    /// Writing failed and has not worked since (warned once on stderr).
    failing: bool,
    /// When the path is to be reopened next, while the file is closed after an error.
    retry_at: Option<Instant>,
    /// Records dropped since the failure began, for the message when it ends.
    dropped_while_failing: u64,
    /// A failed write left part of a record at the file's end: start with a new line.
    torn: bool,
    /// A rotation failed and was reported: report the next failure only after a success.
    rotation_warned: bool,
}

impl LogFile {
    /// Opens the file (an error here is the caller's: nothing is running yet).
    pub(super) fn open(
        options: EveFileOptions,
        clock: Clock,
        counters: Arc<Counters>,
    ) -> io::Result<Self> {
        let file = open_append(&options.path, options.mode)?;
        let regular = file.metadata()?.file_type().is_file();
        if !options.append && regular {
            file.set_len(0)?;
        }
        let mut log = Self {
            options,
            clock,
            counters,
            file: Some(file),
            regular,
            next_boundary: None,
            failing: false,
            retry_at: None,
            dropped_while_failing: 0,
            torn: false,
            rotation_warned: false,
        };
        log.next_boundary = log.boundary_after_now();
        Ok(log)
    }

    fn now_secs(&self) -> u64 {
        (self.clock)()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// The first multiple of the rotation interval after now, when rotating by time.
    fn boundary_after_now(&self) -> Option<u64> {
        let period = self.options.rotate_interval_secs;
        (period > 0 && self.regular).then(|| (self.now_secs() / period + 1) * period)
    }

    fn path(&self) -> &Path {
        &self.options.path
    }

    fn drop_records(&mut self, records: u64) {
        Counters::add(&self.counters.records_dropped, records);
        self.dropped_while_failing += records;
    }

    /// Enters (or stays in) the failing state after `what` failed with `e`.
    fn fail(&mut self, what: &str, e: &io::Error) {
        let text = format!("{what} {}: {e}", self.path().display());
        if !self.failing {
            self.failing = true;
            tracing::error!(
                "EVE output: {text}; EVE records are dropped (and counted) until the file can \
                 be written again, reopened every {} s",
                self.options.retry_interval.as_secs_f64()
            );
            self.dropped_while_failing = 0;
        }
        self.counters.error(text);
        self.file = None;
        self.retry_at = Some(Instant::now() + self.options.retry_interval);
    }

    /// Opens the path again (creating the file), appending; on failure, enters the failing
    /// state.
    fn open_again(&mut self, what: &str) -> bool {
        self.file = None;
        match open_append(&self.options.path, self.options.mode) {
            Ok(file) => {
                self.regular = file.metadata().is_ok_and(|m| m.file_type().is_file());
                self.file = Some(file);
                self.retry_at = None;
                true
            }
            Err(e) => {
                self.fail(what, &e);
                false
            }
        }
    }

    /// The file's size now, or 0 when it is not a regular file or cannot be read.
    fn size(&self) -> u64 {
        match &self.file {
            Some(f) if self.regular => f.metadata().map_or(0, |m| m.len()),
            _ => 0,
        }
    }

    /// Renames the file to its rotated name, creates a new one, prunes old ones.
    fn rotate(&mut self) {
        let now = (self.clock)();
        self.file = None;
        let target = rotated_name(&self.options.path, now);
        match fs::rename(&self.options.path, &target) {
            Ok(()) => {
                Counters::add(&self.counters.rotations, 1);
                self.torn = false;
                self.rotation_warned = false;
            }
            // Moved away by someone else: the new file is created below.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                let text = format!(
                    "rotating {} to {}: {e}",
                    self.path().display(),
                    target.display()
                );
                if !self.rotation_warned {
                    tracing::warn!("EVE output: {text}; writing on into the same file");
                    self.rotation_warned = true;
                }
                self.counters.error(text);
            }
        }
        self.next_boundary = self.boundary_after_now();
        if self.open_again("reopening after rotation") {
            self.prune();
        }
    }

    /// Deletes the oldest rotated files beyond `max_files`.
    fn prune(&mut self) {
        let keep = self.options.max_files;
        if keep == 0 {
            return;
        }
        let Some(base) = self.path().file_name().and_then(|n| n.to_str()) else {
            return;
        };
        let base = base.to_owned();
        let dir = match self.path().parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let Ok(entries) = fs::read_dir(&dir) else {
            return;
        };
        let mut rotated: Vec<((String, u64), PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name();
                let key = rotated_key(&base, name.to_str()?)?;
                Some((key, entry.path()))
            })
            .collect();
        if rotated.len() <= keep {
            return;
        }
        rotated.sort();
        let excess = rotated.len() - keep;
        for (_, path) in rotated.into_iter().take(excess) {
            match fs::remove_file(&path) {
                Ok(()) => Counters::add(&self.counters.files_removed, 1),
                Err(e) => self
                    .counters
                    .error(format!("removing old EVE file {}: {e}", path.display())),
            }
        }
    }

    /// Writes all of `bytes`, cutting the file back to `before` bytes when that fails.
    fn write_or_cut(&mut self, bytes: &[u8], before: u64) -> io::Result<()> {
        let Some(file) = self.file.as_mut() else {
            return Err(io::Error::other("the file is closed"));
        };
        let mut before = before;
        if self.torn {
            file.write_all(b"\n")?;
            self.torn = false;
            // The new line stays even if the chunk is cut off.
            before += 1;
        }
        let mut written = 0;
        while written < bytes.len() {
            match file.write(bytes.get(written..).unwrap_or_default()) {
                Ok(0) => {
                    let e = io::Error::new(io::ErrorKind::WriteZero, "wrote nothing");
                    self.cut(before, written);
                    return Err(e);
                }
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.cut(before, written);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// After `written` bytes of a chunk went in before an error: cut them off again, or
    /// remember that the file ends inside a record.
    fn cut(&mut self, before: u64, written: usize) {
        if written == 0 {
            return;
        }
        let cut = self.regular
            && self
                .file
                .as_ref()
                .is_some_and(|f| f.set_len(before).is_ok());
        if !cut {
            self.torn = true;
        }
    }
}

impl Output for LogFile {
    fn write_chunk(&mut self, bytes: &[u8], records: u64) {
        if self.file.is_none() {
            self.drop_records(records);
            return;
        }
        let mut size = self.size();
        let limit = self.options.rotate_size_bytes;
        if limit > 0 && self.regular && size > 0 && size + bytes.len() as u64 > limit {
            self.rotate();
            if self.file.is_none() {
                self.drop_records(records);
                return;
            }
            size = self.size();
        }
        match self.write_or_cut(bytes, size) {
            Ok(()) => {
                Counters::add(&self.counters.records_written, records);
                Counters::add(&self.counters.bytes_written, bytes.len() as u64);
                if self.failing {
                    self.failing = false;
                    tracing::warn!(
                        "EVE output {}: writing again ({} records were dropped)",
                        self.path().display(),
                        self.dropped_while_failing
                    );
                }
            }
            Err(e) => {
                // The chunk is lost; the failing state begins (or goes on), retried later.
                self.fail("writing", &e);
                self.drop_records(records);
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        // Unbuffered: every chunk went to the kernel with its own write.
        Ok(())
    }

    fn between_chunks(&mut self) {
        if self.file.is_none() && self.retry_at.is_some_and(|at| Instant::now() >= at) {
            // On success writing is "again" only when a write works (`write_chunk`).
            if self.open_again("reopening") {
                Counters::add(&self.counters.reopens, 1);
            }
        }
        if let Some(boundary) = self.next_boundary {
            if self.file.is_some() && self.now_secs() >= boundary {
                if self.size() > 0 {
                    self.rotate();
                } else {
                    self.next_boundary = self.boundary_after_now();
                }
            }
        }
    }

    fn reopen(&mut self) {
        if self.open_again("reopening") {
            Counters::add(&self.counters.reopens, 1);
        }
        self.next_boundary = self.boundary_after_now();
    }
}

fn open_append(path: &Path, mode: u32) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(mode)
        .open(path)
}

/// `path` with `.YYYYMMDDTHHMMSS` (UTC `at`) appended, and `-N` for the first N that makes
/// it a name not taken.
fn rotated_name(path: &Path, at: SystemTime) -> PathBuf {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut text = String::new();
    tapwatch_eve::format_timestamp(
        tapwatch_common::Timestamp::new(i64::try_from(secs).unwrap_or(i64::MAX), 0),
        &mut text,
    );
    // "2026-12-08T01:30:00.000000+0000" -> "20261208T013000"
    let stamp: String = text
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(&stamp);
    let first = PathBuf::from(&name);
    if !first.exists() {
        return first;
    }
    (1u64..)
        .map(|n| {
            let mut taken = name.clone();
            taken.push(format!("-{n}"));
            PathBuf::from(taken)
        })
        .find(|p| !p.exists())
        .unwrap_or(first)
}

/// The order of a rotated file of `base` by its name: (stamp, sequence), or `None` when
/// `name` is not one.
fn rotated_key(base: &str, name: &str) -> Option<(String, u64)> {
    let rest = name.strip_prefix(base)?.strip_prefix('.')?;
    let (stamp, seq) = match rest.split_once('-') {
        Some((stamp, seq)) => {
            if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (stamp, seq.parse().ok()?)
        }
        None => (rest, 0),
    };
    let b = stamp.as_bytes();
    let ok = b.len() == 15
        && b.get(8) == Some(&b'T')
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 8 || c.is_ascii_digit());
    ok.then(|| (stamp.to_owned(), seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_names_sort_by_time_then_sequence() {
        assert_eq!(
            rotated_key("eve.json", "eve.json.20261208T013000"),
            Some(("20261208T013000".into(), 0))
        );
        assert_eq!(
            rotated_key("eve.json", "eve.json.20261208T013000-12"),
            Some(("20261208T013000".into(), 12))
        );
        for not_ours in [
            "eve.json",
            "eve.json.1",
            "eve.json.20261208T013000.gz",
            "eve.json.20261208T01300",
            "eve.json.20261208X013000",
            "eve.json.20261208T013000-",
            "eve.json.20261208T013000-x",
            "other.json.20261208T013000",
        ] {
            assert_eq!(rotated_key("eve.json", not_ours), None, "{not_ours}");
        }
        let at = UNIX_EPOCH + Duration::from_secs(1_796_693_400); // 2026-12-08T01:30:00Z
        let dir = std::env::temp_dir().join(format!("tapwatch-rotname-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("eve.json");
        let first = rotated_name(&path, at);
        assert_eq!(first, dir.join("eve.json.20261208T013000"));
        fs::write(&first, b"").unwrap();
        assert_eq!(
            rotated_name(&path, at),
            dir.join("eve.json.20261208T013000-1")
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    use crate::eve_file::{EveFile, EveProducer};
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A clock the test sets, in seconds since the epoch.
    fn test_clock(secs: u64) -> (Arc<AtomicU64>, Clock) {
        let now = Arc::new(AtomicU64::new(secs));
        let read = Arc::clone(&now);
        let clock = Box::new(move || UNIX_EPOCH + Duration::from_secs(read.load(Ordering::SeqCst)));
        (now, clock)
    }

    fn line(i: usize) -> String {
        format!("{{\"event_type\":\"test\",\"i\":{i}}}\n")
    }

    /// Writes `lines` through `producer`, one record each, then flushes.
    fn write_lines(producer: &mut EveProducer, lines: std::ops::Range<usize>) -> String {
        let mut all = String::new();
        for i in lines {
            let l = line(i);
            producer.write_all(l.as_bytes()).unwrap();
            all.push_str(&l);
        }
        producer.flush().unwrap();
        all
    }

    /// The rotated files of `path`, oldest first, then `path` itself.
    fn files_in_order(path: &Path) -> Vec<PathBuf> {
        let base = path.file_name().unwrap().to_str().unwrap();
        let mut rotated: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap())
            .filter_map(|e| Some((rotated_key(base, e.file_name().to_str()?)?, e.path())))
            .collect();
        rotated.sort();
        let mut files: Vec<PathBuf> = rotated.into_iter().map(|(_, p)| p).collect();
        files.push(path.to_path_buf());
        files
    }

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap()
    }

    #[test]
    fn rotation_by_size_keeps_every_record_in_order_at_record_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eve.json");
        let options = EveFileOptions {
            rotate_size_bytes: 1000,
            max_files: 0,
            ..EveFileOptions::new(&path)
        };
        // A fixed clock: every rotated name is taken within "one second", so the sequence
        // numbers order them.
        let (_, clock) = test_clock(1_796_693_400);
        let file = EveFile::open_with(options, 1, 100, clock).unwrap();
        let mut producer = file.producer();
        let expected = write_lines(&mut producer, 0..2_000);
        drop(producer);
        let stats = file.stats_handle();
        file.finish().unwrap();
        let files = files_in_order(&path);
        assert!(files.len() > 20, "rotated often: {}", files.len());
        let mut joined = String::new();
        for f in &files {
            let text = read(f);
            // A chunk is 100 bytes and a line under 40: a file passes the limit only by
            // what a chunk holds past its 100th byte.
            assert!(text.len() <= 1000, "{}: {} bytes", f.display(), text.len());
            assert!(
                text.ends_with('\n'),
                "{} ends with a whole record",
                f.display()
            );
            joined.push_str(&text);
        }
        assert!(joined == expected, "every record, once, in order");
        let stats = stats.snapshot();
        assert_eq!(stats.rotations, files.len() as u64 - 1);
        assert_eq!(stats.reopens, 0, "a rotation is not a reopen");
        assert_eq!(stats.records_written, 2_000);
        assert_eq!(stats.bytes_written, expected.len() as u64);
        assert_eq!((stats.records_dropped, stats.write_errors), (0, 0));
    }

    #[test]
    fn rotation_by_time_follows_the_clock_at_interval_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eve.json");
        let options = EveFileOptions {
            rotate_interval_secs: 60,
            ..EveFileOptions::new(&path)
        };
        // 2026-12-08T01:30:10Z; the next boundary is 01:31:00.
        let (now, clock) = test_clock(1_796_693_410);
        let file = EveFile::open_with(options, 1, 1 << 20, clock).unwrap();
        let mut producer = file.producer();
        let first = write_lines(&mut producer, 0..3);
        now.store(1_796_693_459, Ordering::SeqCst);
        let first = first + &write_lines(&mut producer, 3..5);
        assert_eq!(file.stats().rotations, 0, "01:30:59 is before the boundary");
        now.store(1_796_693_461, Ordering::SeqCst);
        let second = write_lines(&mut producer, 5..8);
        // Past two boundaries at once (01:32, 01:33): one rotation.
        now.store(1_796_693_585, Ordering::SeqCst);
        let third = write_lines(&mut producer, 8..9);
        drop(producer);
        file.finish().unwrap();
        assert_eq!(read(&dir.path().join("eve.json.20261208T013101")), first);
        assert_eq!(read(&dir.path().join("eve.json.20261208T013305")), second);
        assert_eq!(read(&path), third);
        assert_eq!(files_in_order(&path).len(), 3);
    }

    #[test]
    fn max_files_keeps_the_newest_rotated_files_and_nothing_else_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eve.json");
        // logrotate's and the operator's files are not ours to delete.
        for other in ["eve.json.1", "eve.json.20261208T013000.gz", "notes.txt"] {
            fs::write(dir.path().join(other), b"keep").unwrap();
        }
        let options = EveFileOptions {
            rotate_size_bytes: 500,
            max_files: 3,
            ..EveFileOptions::new(&path)
        };
        let (now, clock) = test_clock(1_796_693_400);
        let file = EveFile::open_with(options, 1, 100, clock).unwrap();
        let mut producer = file.producer();
        let mut expected = String::new();
        for step in 0..10 {
            // Another second each time: the names differ by their stamps too.
            now.fetch_add(1, Ordering::SeqCst);
            expected += &write_lines(&mut producer, step * 50..(step + 1) * 50);
        }
        drop(producer);
        let stats = file.stats_handle();
        file.finish().unwrap();
        let files = files_in_order(&path);
        assert_eq!(
            files.len(),
            4,
            "3 rotated files and the current one: {files:?}"
        );
        let kept: String = files.iter().map(|f| read(f)).collect();
        assert!(
            expected.ends_with(&kept),
            "the newest records are kept, in order"
        );
        let stats = stats.snapshot();
        assert!(stats.rotations > 3);
        assert_eq!(stats.files_removed, stats.rotations - 3);
        for other in ["eve.json.1", "eve.json.20261208T013000.gz", "notes.txt"] {
            assert_eq!(read(&dir.path().join(other)), "keep", "{other}");
        }
    }

    #[test]
    fn a_reopen_request_after_a_rename_creates_the_file_again() {
        // logrotate's `create` scheme: rename, then SIGHUP.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eve.json");
        let moved = dir.path().join("eve.json.1");
        let file = EveFile::open(EveFileOptions::new(&path), 1).unwrap();
        let reopen = file.reopener();
        let mut producer = file.producer();
        let before = write_lines(&mut producer, 0..10);
        fs::rename(&path, &moved).unwrap();
        // Until the request, records go on into the renamed file: none is lost.
        let between = write_lines(&mut producer, 10..20);
        reopen.request();
        let after = write_lines(&mut producer, 20..30);
        drop(producer);
        let stats = file.stats_handle();
        file.finish().unwrap();
        assert_eq!(read(&moved), before + &between);
        assert_eq!(read(&path), after);
        assert_eq!(stats.snapshot().reopens, 1);
    }

    #[test]
    fn append_keeps_an_existing_file_and_append_false_empties_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eve.json");
        fs::write(&path, "old\n").unwrap();
        let file = EveFile::open(EveFileOptions::new(&path), 1).unwrap();
        let new = write_lines(&mut file.producer(), 0..2);
        file.finish().unwrap();
        assert_eq!(read(&path), format!("old\n{new}"));

        let options = EveFileOptions {
            append: false,
            ..EveFileOptions::new(&path)
        };
        let file = EveFile::open(options, 1).unwrap();
        let new = write_lines(&mut file.producer(), 5..6);
        file.finish().unwrap();
        assert_eq!(read(&path), new);

        // A file created takes the mode asked for (the umask can only take bits away).
        use std::os::unix::fs::PermissionsExt as _;
        let created = dir.path().join("created.json");
        let options = EveFileOptions {
            mode: 0o600,
            ..EveFileOptions::new(&created)
        };
        EveFile::open(options, 1).unwrap().finish().unwrap();
        let mode = fs::metadata(&created).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn copytruncate_is_written_from_the_new_end_without_a_hole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eve.json");
        let file = EveFile::open(EveFileOptions::new(&path), 1).unwrap();
        let mut producer = file.producer();
        write_lines(&mut producer, 0..100);
        // logrotate copytruncate: copy, then truncate in place.
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        let after = write_lines(&mut producer, 100..101);
        drop(producer);
        file.finish().unwrap();
        assert_eq!(read(&path), after, "no zeros before the record");
    }

    #[test]
    fn a_failing_device_is_counted_never_returned_to_the_workers() {
        let full = Path::new("/dev/full");
        if !full.exists() {
            eprintln!("skipped: no /dev/full");
            return;
        }
        let file = EveFile::open(EveFileOptions::new(full), 1).unwrap();
        let mut producer = file.producer();
        for _ in 0..3 {
            write_lines(&mut producer, 0..40);
        }
        drop(producer);
        let stats = file.stats_handle();
        file.finish()
            .expect("a log file's errors are counted, not returned");
        let stats = stats.snapshot();
        assert_eq!(stats.records_dropped, 120);
        assert_eq!(stats.records_written, 0);
        assert!(stats.write_errors >= 1);
        assert_eq!(stats.rotations, 0);
        let last = stats.last_error.expect("the error is kept");
        assert!(last.contains("/dev/full"), "{last}");
    }

    #[test]
    fn a_removed_directory_drops_and_counts_until_it_is_back() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        fs::create_dir(&logs).unwrap();
        let path = logs.join("eve.json");
        let options = EveFileOptions {
            retry_interval: Duration::ZERO,
            ..EveFileOptions::new(&path)
        };
        let file = EveFile::open(options, 1).unwrap();
        let reopen = file.reopener();
        let mut producer = file.producer();
        write_lines(&mut producer, 0..5);
        fs::remove_dir_all(&logs).unwrap();
        reopen.request();
        // The reopen fails: these are dropped and counted, the producer sees no error.
        write_lines(&mut producer, 5..12);
        assert_eq!(file.stats().records_dropped, 7);
        fs::create_dir(&logs).unwrap();
        let back = write_lines(&mut producer, 12..15);
        drop(producer);
        let stats = file.stats_handle();
        file.finish().unwrap();
        assert_eq!(read(&path), back);
        let stats = stats.snapshot();
        assert_eq!(stats.records_written, 8);
        assert_eq!(stats.records_dropped, 7);
        assert!(stats.write_errors >= 1);
        assert!(stats.last_error.unwrap().contains("logs"));
    }
}
