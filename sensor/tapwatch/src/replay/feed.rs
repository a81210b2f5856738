//! The capture reader thread: it reads and frames the capture files' records into batches
//! and hands them, in order, to the worker's thread, so that file I/O, decompression and
//! record parsing overlap with packet processing. Packets keep their order and numbering.

use std::path::PathBuf;

use crossbeam_channel::{Receiver, Sender};
use tapwatch_capture::{BatchLimits, CaptureError, CaptureProblem, CaptureReader, PacketBatch};

/// Filled batches waiting for the worker, at most; the reader blocks beyond. With
/// [`BatchLimits::default`] (1,024 packets or 1 MiB each), the reader is at most a few
/// MiB ahead: at most `2 * QUEUE_BATCHES + 2` batches exist (queued, returned for reuse,
/// one being filled, one being processed).
pub(super) const QUEUE_BATCHES: usize = 4;

/// What the reader thread tells the worker's thread, in file order.
pub(super) enum Feed {
    /// File number `file` could not be opened.
    OpenFailed { file: usize, error: CaptureError },
    /// The next packets of file number `file`.
    Batch { file: usize, batch: PacketBatch },
    /// File number `file` was read to its end, with these problems.
    FileDone {
        file: usize,
        problems: Vec<CaptureProblem>,
    },
}

/// Reads every file in order into batches sent on `feed`, reusing the batches that come
/// back on `recycled`. Returns early when the worker's side has hung up.
pub(super) fn read_files(paths: &[PathBuf], feed: &Sender<Feed>, recycled: &Receiver<PacketBatch>) {
    let limits = BatchLimits::default();
    for (file, path) in paths.iter().enumerate() {
        let mut reader = match CaptureReader::open(path) {
            Ok(r) => r,
            Err(error) => {
                if feed.send(Feed::OpenFailed { file, error }).is_err() {
                    return;
                }
                continue;
            }
        };
        loop {
            let mut batch = recycled
                .try_recv()
                .unwrap_or_else(|_| PacketBatch::with_limits(limits));
            if reader.read_batch(&mut batch, limits) == 0 {
                break;
            }
            if feed.send(Feed::Batch { file, batch }).is_err() {
                return;
            }
        }
        let problems = reader.problems().to_vec();
        if feed.send(Feed::FileDone { file, problems }).is_err() {
            return;
        }
    }
}
