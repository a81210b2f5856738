//! Seeds from files: a bounded, reproducible sample of a directory tree, turned into inputs
//! the way each target expects.

use std::io;
use std::path::{Path, PathBuf};

use tapwatch_capture::{CaptureReader, ReaderLimits};

use crate::rng::Rng;
use crate::targets::SeedKind;

/// Files larger than this are not read as seeds.
const MAX_FILE_LEN: u64 = 8 << 20;
/// Directory entries looked at, at most, per seed directory.
const MAX_ENTRIES: usize = 100_000;
/// Frames taken from one capture file for frame seeds.
const FRAMES_PER_FILE: usize = 16;

/// Why seeds could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The directory could not be listed.
    #[error("cannot read seed directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// Up to `max_files` files under `dir` (recursively, sampled with `rng`), as inputs of `kind`,
/// each at most `max_len` bytes.
pub fn load_dir(
    dir: &Path,
    kind: SeedKind,
    rng: &mut Rng,
    max_files: usize,
    max_len: usize,
) -> Result<Vec<Vec<u8>>, SeedError> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut seen = 0usize;
    let mut first = true;
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(source) if first => return Err(SeedError::Dir { path: d, source }),
            Err(_) => continue,
        };
        first = false;
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                break;
            }
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() && meta.len() <= MAX_FILE_LEN && meta.len() > 0 {
                files.push(path);
            }
        }
    }
    files.sort();
    // A reproducible sample: a partial Fisher-Yates shuffle.
    let take = max_files.min(files.len());
    for i in 0..take {
        let j = i + rng.below(files.len() - i);
        files.swap(i, j);
    }
    files.truncate(take);
    let mut seeds = Vec::new();
    for path in &files {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        match kind {
            SeedKind::Raw | SeedKind::CaptureFile => {
                let mut b = bytes;
                b.truncate(max_len);
                seeds.push(b);
            }
            SeedKind::Frame => seeds.extend(frames(bytes, max_len)),
        }
    }
    Ok(seeds)
}

/// Frame seeds from a capture file: a link-type selector byte then the frame; nothing if
/// the bytes are not a capture.
fn frames(bytes: Vec<u8>, max_len: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let Ok(mut reader) = CaptureReader::from_reader_with_limits(
        Box::new(io::Cursor::new(bytes)),
        ReaderLimits::default(),
    ) else {
        return out;
    };
    let mut n = 0usize;
    while let Some(p) = reader.next_packet() {
        n += 1;
        // The first frames, then every 37th, up to the bound.
        if n > 4 && !n.is_multiple_of(37) {
            continue;
        }
        let Some(selector) = crate::targets::link_selector(p.link) else {
            continue;
        };
        let mut seed = Vec::with_capacity(p.data.len() + 1);
        seed.push(selector);
        seed.extend_from_slice(p.data);
        seed.truncate(max_len);
        out.push(seed);
        if out.len() >= FRAMES_PER_FILE || n > 100_000 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_directory_is_an_error() {
        let mut rng = Rng::new(0);
        let r = load_dir(
            Path::new("/nonexistent/seeds"),
            SeedKind::Raw,
            &mut rng,
            4,
            64,
        );
        assert!(matches!(r, Err(SeedError::Dir { .. })));
    }

    #[test]
    fn reads_stored_seeds_and_bounds_them() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut rng = Rng::new(0);
        let seeds = load_dir(&dir, SeedKind::Raw, &mut rng, 3, 10);
        let seeds = seeds.unwrap_or_default();
        assert_eq!(seeds.len(), 3);
        assert!(seeds.iter().all(|s| s.len() <= 10));
    }
}
