//! The on-disk cache of compiled databases.
//!
//! Compiling the Hyperscan databases of a full rule set takes seconds; loading them back takes
//! milliseconds. The engine keys each compiled blob by a 32-byte key (SHA-256 of the rules, the
//! configuration that shapes compilation and the engine and libhs versions, computed by the
//! caller) and keeps it in a [`DiskCache`], a directory of entry files.
//!
//! # Entry files
//!
//! One file per key, named by the key in lower-case hex plus `.twdb`
//! (`0a1b…ff.twdb`, 64 hex digits). Its content, integers little-endian:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `TWDC` |
//! | 4 | 4 | format version, [`FORMAT_VERSION`] |
//! | 8 | 32 | the full key |
//! | 40 | 8 | blob length `n` |
//! | 48 | n | the blob |
//! | 48 + n | 32 | SHA-256 of every byte before it |
//!
//! # Guarantees
//!
//! - An entry is never trusted unless all of it checks out: a truncated, damaged,
//!   other-version or other-key file is reported as [`CacheError::Corrupt`]; the caller
//!   rebuilds and [`DiskCache::store`] overwrites it.
//! - Stores are atomic: the entry is written to a temporary file in the same directory
//!   (`.<hex>.<pid>.<n>.tmp`), flushed to disk, then renamed over the final name. A crash
//!   leaves either the old entry, the new one, or a stray temporary file that
//!   [`DiskCache::prune`] removes later; never a half entry under the final name.
//! - Disk use is bounded: an entry holds at most [`MAX_BLOB_BYTES`], and
//!   [`DiskCache::prune`] keeps only the most recently used entries (a load refreshes an
//!   entry's modification time).
//! - The cache touches only files whose names it could have written; anything else in the
//!   directory is left alone.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

/// The entry format version written and accepted.
pub const FORMAT_VERSION: u32 = 1;
/// The largest blob stored or loaded (1 GiB); a larger entry file is reported as corrupt.
pub const MAX_BLOB_BYTES: u64 = 1 << 30;

const MAGIC: &[u8; 4] = b"TWDC";
const HEADER_LEN: usize = 4 + 4 + 32 + 8;
const DIGEST_LEN: usize = 32;
const ENTRY_SUFFIX: &str = ".twdb";
const TEMP_SUFFIX: &str = ".tmp";
/// A temporary file older than this is a leftover of a crashed store, not one in progress.
const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// Distinguishes the temporary files of concurrent stores within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// What can go wrong with the cache.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// A file system operation failed.
    #[error("cache: {op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// An entry exists but cannot be trusted; rebuild and store over it.
    #[error("cache: corrupt entry {}: {reason}", path.display())]
    Corrupt {
        /// The entry file.
        path: PathBuf,
        /// What did not check out.
        reason: String,
    },
    /// A blob larger than [`MAX_BLOB_BYTES`] was offered to [`DiskCache::store`].
    #[error("cache: blob of {len} bytes is larger than the {MAX_BLOB_BYTES}-byte limit")]
    TooLarge {
        /// The blob's length.
        len: usize,
    },
}

impl CacheError {
    fn io(op: &'static str, path: &Path, source: io::Error) -> Self {
        Self::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }

    fn corrupt(path: &Path, reason: impl Into<String>) -> Self {
        Self::Corrupt {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

/// A directory of cache entries, each a blob keyed by a 32-byte key (SHA-256 of rules +
/// config + engine version, computed by the caller).
#[derive(Debug, Clone)]
pub struct DiskCache {
    dir: PathBuf,
}

impl DiskCache {
    /// Opens the cache in `dir`, creating it (mode 0700, parents included) if missing.
    pub fn open(dir: &Path) -> Result<Self, CacheError> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(dir)
            .map_err(|e| CacheError::io("create directory", dir, e))?;
        let meta = fs::metadata(dir).map_err(|e| CacheError::io("inspect directory", dir, e))?;
        if !meta.is_dir() {
            return Err(CacheError::io(
                "open",
                dir,
                io::Error::new(io::ErrorKind::InvalidInput, "not a directory"),
            ));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory this cache lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The default directory: `$TAPWATCH_CACHE_DIR` if set, else `$XDG_CACHE_HOME/tapwatch`,
    /// else `$HOME/.cache/tapwatch`, else `/var/cache/tapwatch`. Empty variables count as
    /// unset, and so does a relative `XDG_CACHE_HOME` (the XDG specification says to ignore it).
    pub fn default_dir() -> PathBuf {
        default_dir_from(|name| std::env::var_os(name))
    }

    /// The path of the entry for `key`.
    pub fn entry_path(&self, key: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}{ENTRY_SUFFIX}", hex(key)))
    }

    /// The blob stored under `key`, or `None` if absent. A corrupt, truncated, wrong-version or
    /// wrong-key entry is reported as [`CacheError::Corrupt`], never trusted. A successful
    /// load marks the entry as recently used for [`DiskCache::prune`].
    pub fn load(&self, key: &[u8; 32]) -> Result<Option<Vec<u8>>, CacheError> {
        let path = self.entry_path(key);
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(CacheError::io("open", &path, e)),
        };
        let len = file
            .metadata()
            .map_err(|e| CacheError::io("inspect", &path, e))?
            .len();
        let max = MAX_BLOB_BYTES + (HEADER_LEN + DIGEST_LEN) as u64;
        if len > max {
            return Err(CacheError::corrupt(
                &path,
                format!("{len} bytes, more than an entry can hold"),
            ));
        }
        // Read at most `max + 1` bytes whatever the metadata said, so a file growing under us
        // cannot make this unbounded.
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        (&mut file)
            .take(max + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| CacheError::io("read", &path, e))?;
        let blob_len = decode_entry(&bytes, key)
            .map_err(|reason| CacheError::corrupt(&path, reason))?
            .len();
        // Best effort: a read-only cache still loads, it just prunes by age of writing.
        let _ = file.set_modified(SystemTime::now());
        bytes.truncate(HEADER_LEN + blob_len);
        bytes.drain(..HEADER_LEN);
        Ok(Some(bytes))
    }

    /// Stores `blob` under `key` atomically (temporary file in the same directory, fsync,
    /// rename), replacing any existing entry.
    pub fn store(&self, key: &[u8; 32], blob: &[u8]) -> Result<(), CacheError> {
        if blob.len() as u64 > MAX_BLOB_BYTES {
            return Err(CacheError::TooLarge { len: blob.len() });
        }
        let final_path = self.entry_path(key);
        let temp_path = self.dir.join(format!(
            ".{}.{}.{}{TEMP_SUFFIX}",
            hex(key),
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let result = write_entry(&temp_path, key, blob).and_then(|()| {
            fs::rename(&temp_path, &final_path)
                .map_err(|e| CacheError::io("rename into place", &final_path, e))
        });
        if result.is_err() {
            let _ = fs::remove_file(&temp_path);
            return result;
        }
        // Make the rename itself durable; the entry is already complete either way.
        if let Ok(dir) = File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// Keeps the `keep` most recently used entries and removes the others, along with
    /// temporary files left by crashed stores (older than an hour). Returns how many files
    /// were removed. Files the cache did not name are never touched.
    pub fn prune(&self, keep: usize) -> Result<usize, CacheError> {
        let entries = fs::read_dir(&self.dir).map_err(|e| CacheError::io("list", &self.dir, e))?;
        let now = SystemTime::now();
        let mut live: Vec<(SystemTime, PathBuf)> = Vec::new();
        let mut removed = 0;
        for entry in entries {
            let entry = entry.map_err(|e| CacheError::io("list", &self.dir, e))?;
            let name = entry.file_name();
            let kind = classify(&name);
            if kind == FileKind::Other {
                continue;
            }
            let Ok(meta) = entry.metadata() else {
                continue; // vanished meanwhile (another process pruning)
            };
            if !meta.is_file() {
                continue;
            }
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            match kind {
                FileKind::Entry => live.push((modified, entry.path())),
                FileKind::Temp => {
                    let age = now.duration_since(modified).unwrap_or(Duration::ZERO);
                    if age > STALE_TEMP_AGE && remove(&entry.path())? {
                        removed += 1;
                    }
                }
                FileKind::Other => {}
            }
        }
        // Newest first; ties broken by name so the choice is deterministic.
        live.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        for (_, path) in live.iter().skip(keep) {
            if remove(path)? {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// Removes `path`; `Ok(false)` if it was already gone.
fn remove(path: &Path) -> Result<bool, CacheError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(CacheError::io("remove", path, e)),
    }
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum FileKind {
    Entry,
    Temp,
    Other,
}

/// Recognises the names the cache writes: `<64 hex>.twdb` and `.<64 hex>.<pid>.<n>.tmp`.
fn classify(name: &std::ffi::OsStr) -> FileKind {
    let Some(name) = name.to_str() else {
        return FileKind::Other;
    };
    let is_hex_key = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(stem) = name.strip_suffix(ENTRY_SUFFIX) {
        if is_hex_key(stem) {
            return FileKind::Entry;
        }
    }
    if let Some(rest) = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
    {
        let mut parts = rest.split('.');
        let key_ok = parts.next().is_some_and(is_hex_key);
        let nums: Vec<&str> = parts.collect();
        let nums_ok = nums.len() == 2
            && nums
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if key_ok && nums_ok {
            return FileKind::Temp;
        }
    }
    FileKind::Other
}

fn write_entry(path: &Path, key: &[u8; 32], blob: &[u8]) -> Result<(), CacheError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| CacheError::io("create", path, e))?;
    let header = encode_header(key, blob.len() as u64);
    let mut hasher = Sha256::new();
    hasher.update(header);
    hasher.update(blob);
    let digest = hasher.finalize();
    let write = |file: &mut File| -> io::Result<()> {
        file.write_all(&header)?;
        file.write_all(blob)?;
        file.write_all(&digest)?;
        file.sync_all()
    };
    write(&mut file).map_err(|e| CacheError::io("write", path, e))
}

fn encode_header(key: &[u8; 32], blob_len: u64) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[..4].copy_from_slice(MAGIC);
    header[4..8].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[8..40].copy_from_slice(key);
    header[40..48].copy_from_slice(&blob_len.to_le_bytes());
    header
}

/// Checks a whole entry file against `key` and returns its blob.
fn decode_entry<'a>(bytes: &'a [u8], key: &[u8; 32]) -> Result<&'a [u8], String> {
    if bytes.len() < HEADER_LEN + DIGEST_LEN {
        return Err(format!(
            "{} bytes, shorter than an empty entry",
            bytes.len()
        ));
    }
    let (body, digest) = bytes.split_at(bytes.len() - DIGEST_LEN);
    let (header, blob) = body.split_at(HEADER_LEN);
    if &header[..4] != MAGIC {
        return Err("bad magic".into());
    }
    let version = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if version != FORMAT_VERSION {
        return Err(format!(
            "format version {version}, expected {FORMAT_VERSION}"
        ));
    }
    if &header[8..40] != key.as_slice() {
        return Err("entry belongs to another key".into());
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&header[40..48]);
    let declared = u64::from_le_bytes(len);
    if declared != blob.len() as u64 {
        return Err(format!(
            "blob length {declared} in the header, {} in the file (truncated?)",
            blob.len()
        ));
    }
    if Sha256::digest(body).as_slice() != digest {
        return Err("checksum mismatch".into());
    }
    Ok(blob)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// [`DiskCache::default_dir`] with the environment given as a function, for tests.
fn default_dir_from(var: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    let set = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(dir) = set("TAPWATCH_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(xdg) = set("XDG_CACHE_HOME").map(PathBuf::from) {
        if xdg.is_absolute() {
            return xdg.join("tapwatch");
        }
    }
    if let Some(home) = set("HOME") {
        return PathBuf::from(home).join(".cache").join("tapwatch");
    }
    PathBuf::from("/var/cache/tapwatch")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory under the system temp dir, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            static N: AtomicU64 = AtomicU64::new(0);
            let dir = std::env::temp_dir().join(format!(
                "tapwatch-cache-test-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&dir);
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn key(n: u8) -> [u8; 32] {
        let mut k = [0u8; 32];
        k[0] = n;
        k[31] = 0xa5;
        k
    }

    fn cache(tag: &str) -> (TempDir, DiskCache) {
        let tmp = TempDir::new(tag);
        // A nested path shows that parents are created too.
        let cache = DiskCache::open(&tmp.0.join("nested").join("cache")).expect("open");
        (tmp, cache)
    }

    fn assert_corrupt(cache: &DiskCache, key: &[u8; 32], what: &str) {
        match cache.load(key) {
            Err(CacheError::Corrupt { .. }) => {}
            other => panic!("{what}: expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn round_trip_and_absent() {
        let (_tmp, cache) = cache("roundtrip");
        assert!(cache.load(&key(1)).expect("load").is_none());
        let blob: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        cache.store(&key(1), &blob).expect("store");
        assert_eq!(cache.load(&key(1)).expect("load"), Some(blob));
        assert!(cache.load(&key(2)).expect("other key").is_none());
        cache.store(&key(3), b"").expect("empty blob");
        assert_eq!(cache.load(&key(3)).expect("load"), Some(Vec::new()));
        let name = cache.entry_path(&key(1));
        let name = name.file_name().and_then(|n| n.to_str()).expect("name");
        assert_eq!(name.len(), 64 + ".twdb".len());
        assert!(
            name.starts_with("01000000") && name.ends_with("a5.twdb"),
            "{name}"
        );
    }

    #[test]
    fn entry_layout_is_as_documented() {
        let (_tmp, cache) = cache("layout");
        cache.store(&key(9), b"xyz").expect("store");
        let bytes = fs::read(cache.entry_path(&key(9))).expect("read");
        assert_eq!(&bytes[..4], b"TWDC");
        assert_eq!(&bytes[4..8], &1u32.to_le_bytes());
        assert_eq!(&bytes[8..40], &key(9));
        assert_eq!(&bytes[40..48], &3u64.to_le_bytes());
        assert_eq!(&bytes[48..51], b"xyz");
        assert_eq!(&bytes[51..], Sha256::digest(&bytes[..51]).as_slice());
        assert_eq!(bytes.len(), 51 + 32);
    }

    #[test]
    fn a_flipped_byte_anywhere_is_corrupt() {
        let (_tmp, cache) = cache("flip");
        let blob = b"compiled database bytes".to_vec();
        cache.store(&key(1), &blob).expect("store");
        let path = cache.entry_path(&key(1));
        let good = fs::read(&path).expect("read");
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x01;
            fs::write(&path, &bad).expect("write");
            assert_corrupt(&cache, &key(1), &format!("byte {at} flipped"));
        }
        fs::write(&path, &good).expect("restore");
        assert_eq!(cache.load(&key(1)).expect("load"), Some(blob));
    }

    #[test]
    fn truncated_or_extended_is_corrupt() {
        let (_tmp, cache) = cache("trunc");
        cache.store(&key(1), b"0123456789").expect("store");
        let path = cache.entry_path(&key(1));
        let good = fs::read(&path).expect("read");
        for len in 0..good.len() {
            fs::write(&path, &good[..len]).expect("write");
            assert_corrupt(&cache, &key(1), &format!("truncated to {len}"));
        }
        let mut longer = good.clone();
        longer.push(0);
        fs::write(&path, &longer).expect("write");
        assert_corrupt(&cache, &key(1), "a trailing byte");
    }

    /// Writes an entry with a valid checksum but the given version and key.
    fn forge(path: &Path, version: u32, key: &[u8; 32], blob: &[u8]) {
        let mut bytes = encode_header(key, blob.len() as u64).to_vec();
        bytes[4..8].copy_from_slice(&version.to_le_bytes());
        bytes.extend_from_slice(blob);
        let digest = Sha256::digest(&bytes);
        bytes.extend_from_slice(&digest);
        fs::write(path, bytes).expect("forge");
    }

    #[test]
    fn wrong_format_version_or_key_is_corrupt() {
        let (_tmp, cache) = cache("version");
        let path = cache.entry_path(&key(1));
        forge(&path, FORMAT_VERSION + 1, &key(1), b"blob");
        assert_corrupt(&cache, &key(1), "format version 2");
        forge(&path, FORMAT_VERSION, &key(2), b"blob");
        assert_corrupt(&cache, &key(1), "entry of another key");
        forge(&path, FORMAT_VERSION, &key(1), b"blob");
        assert_eq!(cache.load(&key(1)).expect("load"), Some(b"blob".to_vec()));
    }

    #[test]
    fn store_over_an_existing_entry_and_over_a_corrupt_one() {
        let (_tmp, cache) = cache("overwrite");
        cache.store(&key(1), b"first").expect("store");
        cache
            .store(&key(1), b"second, longer")
            .expect("store again");
        assert_eq!(
            cache.load(&key(1)).expect("load"),
            Some(b"second, longer".to_vec())
        );
        fs::write(cache.entry_path(&key(1)), b"garbage").expect("damage");
        assert_corrupt(&cache, &key(1), "garbage");
        cache
            .store(&key(1), b"rebuilt")
            .expect("store over corrupt");
        assert_eq!(
            cache.load(&key(1)).expect("load"),
            Some(b"rebuilt".to_vec())
        );
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(cache.dir())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    fn set_mtime(path: &Path, time: SystemTime) {
        File::options()
            .write(true)
            .open(path)
            .expect("open")
            .set_modified(time)
            .expect("set mtime");
    }

    #[test]
    fn prune_keeps_the_newest_and_touches_nothing_else() {
        let (_tmp, cache) = cache("prune");
        let base = SystemTime::now() - Duration::from_secs(10 * 86_400);
        for n in 0..5u8 {
            cache.store(&key(n), &[n; 16]).expect("store");
            set_mtime(
                &cache.entry_path(&key(n)),
                base + Duration::from_secs(u64::from(n)),
            );
        }
        let foreign = cache.dir().join("README");
        fs::write(&foreign, b"not ours").expect("foreign file");
        let stale = cache.dir().join(format!(".{}.123.0.tmp", hex(&key(7))));
        fs::write(&stale, b"half").expect("stale temp");
        set_mtime(&stale, base);
        let fresh = cache.dir().join(format!(".{}.124.0.tmp", hex(&key(8))));
        fs::write(&fresh, b"in progress").expect("fresh temp");

        // Loading the oldest entry makes it the most recently used.
        assert!(cache.load(&key(0)).expect("load").is_some());
        assert_eq!(cache.prune(2).expect("prune"), 3 + 1);
        assert!(
            cache.load(&key(0)).expect("load").is_some(),
            "recently used"
        );
        assert!(
            cache.load(&key(4)).expect("load").is_some(),
            "newest written"
        );
        for n in 1..4 {
            assert!(
                cache.load(&key(n)).expect("load").is_none(),
                "entry {n} pruned"
            );
        }
        assert!(foreign.exists(), "foreign files are left alone");
        assert!(!stale.exists(), "stale temporary file removed");
        assert!(fresh.exists(), "a store in progress is left alone");

        assert_eq!(cache.prune(2).expect("prune again"), 0);
        assert_eq!(cache.prune(0).expect("prune all"), 2);
        assert!(foreign.exists());
    }

    #[test]
    fn oversized_entry_is_refused_unread() {
        let (_tmp, cache) = cache("big");
        let path = cache.entry_path(&key(1));
        // A file claiming to be larger than any entry is refused without being read.
        let file = File::create(&path).expect("create");
        file.set_len(MAX_BLOB_BYTES + 1024).expect("sparse file");
        assert_corrupt(&cache, &key(1), "oversized file");
    }

    #[test]
    fn open_refuses_a_file_and_creates_missing_dirs() {
        let tmp = TempDir::new("open");
        fs::create_dir_all(&tmp.0).expect("tmp");
        let file = tmp.0.join("plain");
        fs::write(&file, b"x").expect("file");
        assert!(DiskCache::open(&file).is_err());
        let dir = tmp.0.join("a").join("b");
        DiskCache::open(&dir).expect("open");
        assert!(dir.is_dir());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&dir).expect("meta").permissions().mode();
            assert_eq!(mode & 0o077, 0, "private directory, mode {mode:o}");
        }
    }

    #[test]
    fn default_dir_follows_the_documented_order() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let all = &[
            ("TAPWATCH_CACHE_DIR", "/srv/twcache"),
            ("XDG_CACHE_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(default_dir_from(env(all)), PathBuf::from("/srv/twcache"));
        let no_tw = &[
            ("TAPWATCH_CACHE_DIR", ""),
            ("XDG_CACHE_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(default_dir_from(env(no_tw)), PathBuf::from("/xdg/tapwatch"));
        let relative_xdg = &[("XDG_CACHE_HOME", "rel"), ("HOME", "/home/u")];
        assert_eq!(
            default_dir_from(env(relative_xdg)),
            PathBuf::from("/home/u/.cache/tapwatch")
        );
        assert_eq!(
            default_dir_from(env(&[])),
            PathBuf::from("/var/cache/tapwatch")
        );
        assert!(!DiskCache::default_dir().as_os_str().is_empty());
    }

    #[test]
    fn classify_recognises_only_our_names() {
        let k = hex(&key(1));
        assert_eq!(classify(format!("{k}.twdb").as_ref()), FileKind::Entry);
        assert_eq!(classify(format!(".{k}.12.3.tmp").as_ref()), FileKind::Temp);
        assert_eq!(classify(format!("{k}.twdb.bak").as_ref()), FileKind::Other);
        assert_eq!(classify("abc.twdb".as_ref()), FileKind::Other);
        assert_eq!(classify(format!(".{k}.x.3.tmp").as_ref()), FileKind::Other);
        assert_eq!(classify(format!(".{k}.3.tmp").as_ref()), FileKind::Other);
    }
}
