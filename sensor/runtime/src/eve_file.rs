//! The EVE file written by a thread of its own.
//!
//! Each worker formats records into memory; its [`EveProducer`] hands each full chunk to the
//! [`EveFile`]'s writer thread, which does the `write` calls ([`BackgroundWriter`] is a file
//! with its one producer). The file system's share of the work (copying
//! into the page cache, block allocation, ~3 % of the worker's time on the detection
//! benchmark) then runs beside the packet path instead of on it.
//!
//! `flow` records, one per flow and the most frequent of all, are not even formatted by the
//! worker: it hands them over as values ([`RecordSink::take_flow`]) with the chunk, marked
//! at the place they belong, and the thread formats them there (Suricata, too, writes them
//! from a thread of its own, the flow recycler).
//!
//! A chunk goes to the thread when full, at a flush, or when the worker hands it over
//! ([`RecordSink::hand_over`], about once a second of packet time, so that the records of a
//! quiet live sensor are not held back for long).
//!
//! Memory is bounded: a chunk holds at most [`CHUNK_BYTES`] (or the size given) and
//! [`CHUNK_FLOWS`] flow records, and at most [`QUEUE_CHUNKS`] chunks per producer wait for the thread; when they are all
//! taken the worker waits (the file is slower than the packets), it never drops data. In live
//! capture a worker that waits here lets its own packet queue fill, and the capture thread
//! then drops batches for it, counted as dispatch drops: nothing is lost uncounted. Records
//! of one producer reach the file in the order written.
//!
//! Two kinds of output:
//! - a stream ([`EveFile::start`]: standard output, or any `Write`): a write error of the
//!   thread is returned by the next `write` that hands over a chunk, or the next `flush`, and
//!   by every call after it; what is written after the error is discarded (and counted);
//! - a log file named by its path ([`EveFile::open`], `log_file.rs`): opened with `O_APPEND`,
//!   rotated by size and time, reopened on request ([`Reopen`], SIGHUP for logrotate). A
//!   write error there is not returned to the workers: the chunk's records are counted as
//!   dropped, the error is reported once on stderr, and the file is reopened at a bounded
//!   interval until writing works again.
//!
//! Either way the thread counts what it wrote and dropped ([`EveFile::stats`]); it changes
//! files (rotation, reopening) only between chunks, so a record is never split between two
//! files.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TryRecvError};
use tapwatch_eve::{EveWriter, FlowRecord, RecordSink};

mod log_file;

pub use log_file::{system_clock, Clock, EveFileOptions, DEFAULT_RETRY_INTERVAL};

/// Bytes gathered before a chunk goes to the writer thread.
pub const CHUNK_BYTES: usize = 1 << 20;

/// `flow` records gathered before a chunk goes to the writer thread.
pub const CHUNK_FLOWS: usize = 4096;

/// Chunks that may wait for the writer thread.
pub const QUEUE_CHUNKS: usize = 4;

/// How often the writer thread looks at reopen requests, time rotation and retries when no
/// chunk arrives.
const IDLE_TICK: Duration = Duration::from_secs(1);

/// Bytes to write, and the `flow` records to format among them.
#[derive(Debug, Default)]
struct Chunk {
    bytes: Vec<u8>,
    /// Each record with the length of `bytes` when it was taken: it goes there.
    flows: Vec<(usize, FlowRecord)>,
}

impl Chunk {
    fn with_capacity(bytes: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
            flows: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty() && self.flows.is_empty()
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.flows.clear();
    }
}

#[derive(Debug)]
enum Message {
    Data(Chunk),
    /// Flush the file and answer with the outcome (or the error that came earlier).
    Flush(Sender<io::Result<()>>),
}

/// The first write error of a stream output, kept for every producer to return.
type Failure = Arc<Mutex<Option<(io::ErrorKind, String)>>>;

fn failure_error(failure: &Failure) -> Option<io::Error> {
    let guard = failure.lock().unwrap_or_else(PoisonError::into_inner);
    guard
        .as_ref()
        .map(|(kind, text)| io::Error::new(*kind, text.clone()))
}

/// A request to close and reopen the EVE file at its path, for logrotate's `create` scheme
/// (the file was renamed away; a new one is created) and `postrotate kill -HUP`. Cheap and
/// thread-safe: one flag the writer thread looks at between chunks and at least once a
/// second. Register its [`Reopen::flag`] with `signal_hook::flag::register` for a signal.
/// A stream output (standard output) ignores it.
#[derive(Debug, Clone, Default)]
pub struct Reopen(Arc<AtomicBool>);

impl Reopen {
    /// Asks the writer thread to reopen the file (several requests before it looks count once).
    pub fn request(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// The flag itself, for `signal_hook::flag::register`.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }

    /// Whether a request came since the last call (clears it).
    fn take(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }
}

/// The EVE output's counters, shared by the writer thread and readers (metrics, summary).
#[derive(Debug, Default)]
struct Counters {
    records_written: AtomicU64,
    bytes_written: AtomicU64,
    records_dropped: AtomicU64,
    write_errors: AtomicU64,
    rotations: AtomicU64,
    reopens: AtomicU64,
    files_removed: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn error(&self, text: String) {
        Self::add(&self.write_errors, 1);
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(text);
    }
}

/// What the EVE output did so far (a snapshot of [`EveStatsHandle`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EveStats {
    /// Records (lines) written.
    pub records_written: u64,
    /// Bytes written.
    pub bytes_written: u64,
    /// Records the output could not write: a failed write (disk full, I/O error) drops its
    /// whole chunk, and chunks arriving while the file cannot be (re)opened are dropped too.
    pub records_dropped: u64,
    /// Failed writes, opens and renames.
    pub write_errors: u64,
    /// Files rotated out (by size or time).
    pub rotations: u64,
    /// Times the file was reopened at its path (on request, or to retry after an error).
    pub reopens: u64,
    /// Rotated files deleted to keep `max_files`.
    pub files_removed: u64,
    /// The last error, with the file it concerns.
    pub last_error: Option<String>,
}

/// A handle on the EVE output's counters: cheap to clone, readable from any thread at any
/// time (while the output runs and after it ended).
#[derive(Debug, Clone)]
pub struct EveStatsHandle(Arc<Counters>);

impl EveStatsHandle {
    /// The counters now.
    pub fn snapshot(&self) -> EveStats {
        let c = &self.0;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        EveStats {
            records_written: get(&c.records_written),
            bytes_written: get(&c.bytes_written),
            records_dropped: get(&c.records_dropped),
            write_errors: get(&c.write_errors),
            rotations: get(&c.rotations),
            reopens: get(&c.reopens),
            files_removed: get(&c.files_removed),
            last_error: c
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }
}

/// Where the writer thread puts chunks of whole records.
trait Output {
    /// Writes one chunk holding `records` whole records.
    fn write_chunk(&mut self, bytes: &[u8], records: u64);
    /// Flushes; the error a stream output failed with earlier, if any.
    fn flush(&mut self) -> io::Result<()>;
    /// Runs between chunks, and at least every [`IDLE_TICK`]: reopen requests, time
    /// rotation, retries after an error.
    fn between_chunks(&mut self) {}
    /// Closes and reopens the file at its path (a stream has none: nothing to do).
    fn reopen(&mut self) {}
}

/// A stream output: the first write error is kept, returned to the producers, and
/// everything after it is discarded (counted as dropped).
struct Stream<W> {
    out: W,
    failure: Option<(io::ErrorKind, String)>,
    report: Failure,
    counters: Arc<Counters>,
}

impl<W: Write> Output for Stream<W> {
    fn write_chunk(&mut self, bytes: &[u8], records: u64) {
        if self.failure.is_some() {
            Counters::add(&self.counters.records_dropped, records);
            return;
        }
        match self.out.write_all(bytes) {
            Ok(()) => {
                Counters::add(&self.counters.records_written, records);
                Counters::add(&self.counters.bytes_written, bytes.len() as u64);
            }
            Err(e) => {
                Counters::add(&self.counters.records_dropped, records);
                self.counters.error(format!("EVE output: {e}"));
                self.failure = Some((e.kind(), e.to_string()));
                *self.report.lock().unwrap_or_else(PoisonError::into_inner) = self.failure.clone();
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &self.failure {
            Some((kind, text)) => Err(io::Error::new(*kind, text.clone())),
            None => self.out.flush(),
        }
    }
}

/// An EVE file written by a thread of its own, fed by any number of [`EveProducer`]s (one
/// per worker). Each producer hands over whole chunks of whole records, so records never
/// interleave inside a line, and each producer's records reach the file in the order it
/// wrote them; the producers' chunks are interleaved in the order they arrive.
#[derive(Debug)]
pub struct EveFile {
    to_thread: Option<Sender<Message>>,
    recycled: Receiver<Chunk>,
    failure: Failure,
    counters: Arc<Counters>,
    reopen: Reopen,
    chunk: usize,
    thread: Option<JoinHandle<()>>,
}

impl EveFile {
    /// Starts the writer thread (named `tapwatch-eve`) for the stream `out`, for up to
    /// `producers` producers (it sizes the queue: [`QUEUE_CHUNKS`] chunks per producer).
    pub fn start<W: Write + Send + 'static>(out: W, producers: usize) -> io::Result<Self> {
        Self::with_chunk(out, producers, CHUNK_BYTES)
    }

    /// Likewise with chunks of `chunk` bytes (at least 1).
    pub fn with_chunk<W: Write + Send + 'static>(
        out: W,
        producers: usize,
        chunk: usize,
    ) -> io::Result<Self> {
        let failure = Failure::default();
        let counters = Arc::<Counters>::default();
        let stream = Stream {
            out,
            failure: None,
            report: Arc::clone(&failure),
            counters: Arc::clone(&counters),
        };
        Self::spawn(
            stream,
            producers,
            chunk,
            failure,
            counters,
            Reopen::default(),
        )
    }

    /// Opens the log file `options.path` (see [`EveFileOptions`]) and starts its writer
    /// thread, for up to `producers` producers. An error opening the file is returned here;
    /// errors after that are counted and retried, never returned to the producers.
    pub fn open(options: EveFileOptions, producers: usize) -> io::Result<Self> {
        Self::open_with(options, producers, CHUNK_BYTES, log_file::system_clock())
    }

    /// Likewise with chunks of `chunk` bytes and the wall clock `clock` (for rotation by
    /// time and the rotated files' names).
    pub fn open_with(
        options: EveFileOptions,
        producers: usize,
        chunk: usize,
        clock: Clock,
    ) -> io::Result<Self> {
        let counters = Arc::<Counters>::default();
        let reopen = options.reopen.clone();
        let file = log_file::LogFile::open(options, clock, Arc::clone(&counters))?;
        Self::spawn(file, producers, chunk, Failure::default(), counters, reopen)
    }

    fn spawn<O: Output + Send + 'static>(
        output: O,
        producers: usize,
        chunk: usize,
        failure: Failure,
        counters: Arc<Counters>,
        reopen: Reopen,
    ) -> io::Result<Self> {
        let queue = QUEUE_CHUNKS * producers.max(1);
        let (to_thread, from_worker) = bounded(queue);
        let (give_back, recycled) = bounded(queue);
        let thread_reopen = reopen.clone();
        let thread = std::thread::Builder::new()
            .name("tapwatch-eve".into())
            .spawn(move || write_chunks(output, &from_worker, &give_back, &thread_reopen))?;
        Ok(Self {
            to_thread: Some(to_thread),
            recycled,
            failure,
            counters,
            reopen,
            chunk: chunk.max(1),
            thread: Some(thread),
        })
    }

    /// A new producer writing into this file.
    pub fn producer(&self) -> EveProducer {
        EveProducer {
            current: Chunk::with_capacity(self.chunk),
            chunk: self.chunk,
            to_thread: self.to_thread.clone(),
            recycled: self.recycled.clone(),
            failure: Arc::clone(&self.failure),
        }
    }

    /// The handle that makes the writer thread reopen the file (a log file; a stream
    /// ignores it).
    pub fn reopener(&self) -> Reopen {
        self.reopen.clone()
    }

    /// The output's counters now.
    pub fn stats(&self) -> EveStats {
        self.stats_handle().snapshot()
    }

    /// A handle on the output's counters, for reading them from elsewhere (metrics) and
    /// after [`EveFile::finish`].
    pub fn stats_handle(&self) -> EveStatsHandle {
        EveStatsHandle(Arc::clone(&self.counters))
    }

    /// Waits until every producer is dropped and everything they handed over is written,
    /// then returns a stream's first write error, if any (a log file's errors are counted in
    /// [`EveFile::stats`] instead).
    pub fn finish(mut self) -> io::Result<()> {
        self.join();
        match failure_error(&self.failure) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn join(&mut self) {
        self.to_thread = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for EveFile {
    /// Waits for the thread (see [`EveFile::finish`]): drop the producers first.
    fn drop(&mut self) {
        self.join();
    }
}

/// One writer's side of an [`EveFile`]: a `Write` (and [`RecordSink`]) that gathers whole
/// records into chunks and hands each full chunk to the file's thread, waiting while the
/// thread's queue is full (the file is slower than the packets), never dropping data.
#[derive(Debug)]
pub struct EveProducer {
    current: Chunk,
    chunk: usize,
    to_thread: Option<Sender<Message>>,
    /// Written chunks, emptied, for reuse.
    recycled: Receiver<Chunk>,
    failure: Failure,
}

impl EveProducer {
    /// The error the thread reported, if any.
    fn check(&self) -> io::Result<()> {
        match failure_error(&self.failure) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Hands the current chunk to the thread (waiting while the queue is full).
    fn send_current(&mut self) -> io::Result<()> {
        if self.current.is_empty() {
            return Ok(());
        }
        let next = match self.recycled.try_recv() {
            Ok(chunk) => chunk,
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => {
                Chunk::with_capacity(self.chunk)
            }
        };
        let full = std::mem::replace(&mut self.current, next);
        self.send(Message::Data(full))
    }

    fn send(&self, message: Message) -> io::Result<()> {
        let gone = || io::Error::other("the EVE writer thread has stopped");
        self.to_thread
            .as_ref()
            .ok_or_else(gone)?
            .send(message)
            .map_err(|_| gone())
    }
}

impl Write for EveProducer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.current.bytes.extend_from_slice(buf);
        if self.current.bytes.len() >= self.chunk {
            self.check()?;
            self.send_current()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.check()?;
        self.send_current()?;
        let (reply, answer) = bounded(1);
        self.send(Message::Flush(reply))?;
        answer
            .recv()
            .map_err(|_| io::Error::other("the EVE writer thread has stopped"))?
    }
}

impl RecordSink for EveProducer {
    /// Takes the record, unless the chunk must go to the thread first and the thread has
    /// failed: then the record comes back (the caller's next write reports the error).
    fn take_flow(&mut self, record: FlowRecord) -> Option<FlowRecord> {
        if self.current.flows.len() >= CHUNK_FLOWS
            && self.check().and_then(|()| self.send_current()).is_err()
        {
            return Some(record);
        }
        let at = self.current.bytes.len();
        self.current.flows.push((at, record));
        None
    }

    /// Hands the chunk gathered so far to the thread (waiting only while the queue is full).
    fn hand_over(&mut self) -> io::Result<()> {
        self.check()?;
        self.send_current()
    }
}

impl Drop for EveProducer {
    /// Hands over what is left. Errors are lost here: call `flush` first to see them.
    fn drop(&mut self) {
        let _ = self.send_current();
    }
}

/// An [`EveFile`] with its one producer: a `Write` whose bytes are written to `W` by a
/// background thread, in chunks.
#[derive(Debug)]
pub struct BackgroundWriter {
    // Field order matters: the producer hands over its last chunk before the file joins.
    producer: EveProducer,
    /// Held for its `Drop`, which waits for the thread once the producer has handed over.
    _file: EveFile,
}

impl BackgroundWriter {
    /// Starts the writer thread (named `tapwatch-eve`) for `out`.
    pub fn new<W: Write + Send + 'static>(out: W) -> io::Result<Self> {
        Self::with_chunk(out, CHUNK_BYTES)
    }

    /// Likewise with chunks of `chunk` bytes (at least 1).
    pub fn with_chunk<W: Write + Send + 'static>(out: W, chunk: usize) -> io::Result<Self> {
        let file = EveFile::with_chunk(out, 1, chunk)?;
        Ok(Self {
            producer: file.producer(),
            _file: file,
        })
    }
}

impl Write for BackgroundWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.producer.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.producer.flush()
    }
}

impl RecordSink for BackgroundWriter {
    fn take_flow(&mut self, record: FlowRecord) -> Option<FlowRecord> {
        self.producer.take_flow(record)
    }

    fn hand_over(&mut self) -> io::Result<()> {
        self.producer.hand_over()
    }
}

/// The writer thread: writes chunks in order until the workers' side is dropped.
fn write_chunks<O: Output>(
    mut out: O,
    from_worker: &Receiver<Message>,
    give_back: &Sender<Chunk>,
    reopen: &Reopen,
) {
    // A chunk with records is assembled here, then written with one call.
    let mut assembled = EveWriter::new(Vec::new());
    loop {
        let message = match from_worker.recv_timeout(IDLE_TICK) {
            Ok(message) => Some(message),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        if reopen.take() {
            out.reopen();
        }
        out.between_chunks();
        match message {
            Some(Message::Data(mut chunk)) => {
                let bytes = assemble(&mut chunk, &mut assembled);
                let records = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
                out.write_chunk(bytes, records);
                chunk.clear();
                assembled.get_mut().clear();
                let _ = give_back.try_send(chunk);
            }
            Some(Message::Flush(reply)) => {
                let _ = reply.send(out.flush());
            }
            None => {}
        }
    }
    let _ = out.flush();
}

/// The chunk's bytes with its records formatted in their places: the chunk's own bytes when
/// it has no records, else `assembled`'s.
fn assemble<'a>(chunk: &'a mut Chunk, assembled: &'a mut EveWriter<Vec<u8>>) -> &'a [u8] {
    if chunk.flows.is_empty() {
        return &chunk.bytes;
    }
    let mut at = 0;
    for (to, record) in chunk.flows.drain(..) {
        let upto = to.clamp(at, chunk.bytes.len());
        assembled
            .get_mut()
            .extend_from_slice(chunk.bytes.get(at..upto).unwrap_or_default());
        at = upto;
        // Writing into memory cannot fail.
        let _ = record.write_to(assembled);
    }
    assembled
        .get_mut()
        .extend_from_slice(chunk.bytes.get(at..).unwrap_or_default());
    assembled.get_ref()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A sink shared with the test, optionally failing after `fail_after` bytes.
    #[derive(Clone, Default)]
    struct Shared {
        bytes: Arc<Mutex<Vec<u8>>>,
        flushes: Arc<Mutex<usize>>,
        fail_after: Option<usize>,
    }

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut bytes = self.bytes.lock().unwrap();
            if self.fail_after.is_some_and(|n| bytes.len() + buf.len() > n) {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
            }
            bytes.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            *self.flushes.lock().unwrap() += 1;
            Ok(())
        }
    }

    fn lines(n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| format!("{{\"line\":{i}}}\n").into_bytes())
            .collect()
    }

    #[test]
    fn every_byte_arrives_in_order_by_flush() {
        let sink = Shared::default();
        let mut w = BackgroundWriter::with_chunk(sink.clone(), 64).unwrap();
        let expected = lines(10_000);
        for line in expected.split_inclusive(|&b| b == b'\n') {
            w.write_all(line).unwrap();
        }
        w.flush().unwrap();
        assert_eq!(*sink.bytes.lock().unwrap(), expected);
        assert_eq!(*sink.flushes.lock().unwrap(), 1);
        // Writing goes on after a flush.
        w.write_all(b"more\n").unwrap();
        w.flush().unwrap();
        assert!(sink.bytes.lock().unwrap().ends_with(b"more\n"));
    }

    fn flow(id: u64) -> FlowRecord {
        let at = tapwatch_common::Timestamp::new(1_700_000_000, 0);
        let endpoint = |ip: &str, port| tapwatch_eve::Endpoint {
            ip: ip.parse().unwrap(),
            port: Some(port),
        };
        FlowRecord {
            start: at,
            flow_id: id,
            vlan: Vec::new(),
            endpoints: (endpoint("10.0.0.1", 40000), endpoint("192.0.2.9", 53)),
            proto: 17,
            icmp: None,
            app_proto: Some("dns"),
            body: tapwatch_eve::FlowBody {
                pkts_toserver: 1,
                pkts_toclient: 1,
                bytes_toserver: 70,
                bytes_toclient: 90,
                start: at,
                end: at,
                state: "established",
                reason: "timeout",
                alerted: false,
            },
            tcp: None,
        }
    }

    #[test]
    fn flow_records_are_formatted_in_their_places() {
        // Lines and flow records alternate over many chunks, some of them closed by the
        // record limit rather than the byte limit; the file is what formatting each record
        // in place would have written.
        let sink = Shared::default();
        let mut w = BackgroundWriter::with_chunk(sink.clone(), 4096).unwrap();
        let mut expected = EveWriter::new(Vec::new());
        for i in 0..3 * CHUNK_FLOWS as u64 {
            if i % 3 == 0 {
                let line = format!("{{\"line\":{i}}}\n");
                w.write_all(line.as_bytes()).unwrap();
                expected.get_mut().extend_from_slice(line.as_bytes());
            }
            assert!(w.take_flow(flow(i)).is_none());
            flow(i).write_to(&mut expected).unwrap();
        }
        w.flush().unwrap();
        let written = sink.bytes.lock().unwrap().clone();
        assert_eq!(written.len(), expected.get_ref().len());
        assert!(
            written == *expected.get_ref(),
            "same bytes in the same order"
        );
    }

    #[test]
    fn producers_keep_their_own_order_and_never_split_a_line() {
        let sink = Shared::default();
        let file = EveFile::with_chunk(sink.clone(), 3, 100).unwrap();
        std::thread::scope(|scope| {
            for p in 0..3 {
                let mut producer = file.producer();
                scope.spawn(move || {
                    for i in 0..2_000 {
                        producer
                            .write_all(format!("{{\"p\":{p},\"i\":{i}}}\n").as_bytes())
                            .unwrap();
                    }
                    producer.flush().unwrap();
                });
            }
        });
        file.finish().unwrap();
        let written = String::from_utf8(sink.bytes.lock().unwrap().clone()).unwrap();
        let mut next = [0u32; 3];
        for line in written.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let p = v["p"].as_u64().unwrap() as usize;
            assert_eq!(
                v["i"].as_u64().unwrap(),
                u64::from(next[p]),
                "producer {p} in order"
            );
            next[p] += 1;
        }
        assert_eq!(next, [2_000; 3]);
    }

    #[test]
    fn a_producer_dropped_without_flush_still_hands_over_its_chunk() {
        let sink = Shared::default();
        let file = EveFile::start(sink.clone(), 2).unwrap();
        let mut a = file.producer();
        let mut b = file.producer();
        a.write_all(b"a\n").unwrap();
        b.write_all(b"b\n").unwrap();
        drop(a);
        drop(b);
        file.finish().unwrap();
        let mut lines: Vec<u8> = sink.bytes.lock().unwrap().clone();
        lines.sort_unstable();
        assert_eq!(lines, b"\n\nab");
    }

    #[test]
    fn a_hand_over_sends_a_partial_chunk_without_waiting_for_more() {
        let sink = Shared::default();
        let mut w = BackgroundWriter::with_chunk(sink.clone(), 1 << 20).unwrap();
        w.write_all(b"early\n").unwrap();
        w.hand_over().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while sink.bytes.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(*sink.bytes.lock().unwrap(), b"early\n");
        assert_eq!(*sink.flushes.lock().unwrap(), 0, "no flush was asked for");
    }

    #[test]
    fn dropping_writes_what_is_left() {
        let sink = Shared::default();
        let mut w = BackgroundWriter::with_chunk(sink.clone(), 1 << 20).unwrap();
        w.write_all(b"short\n").unwrap();
        drop(w);
        assert_eq!(*sink.bytes.lock().unwrap(), b"short\n");
    }

    #[test]
    fn a_write_error_of_the_thread_is_returned_and_later_data_discarded() {
        let sink = Shared {
            fail_after: Some(100),
            ..Shared::default()
        };
        let mut w = BackgroundWriter::with_chunk(sink.clone(), 40).unwrap();
        let stats = w._file.stats_handle();
        let mut outcome = Ok(());
        for line in lines(200).split_inclusive(|&b| b == b'\n') {
            outcome = w.write_all(line);
            if outcome.is_err() {
                break;
            }
        }
        let err = match outcome {
            Err(e) => e,
            Ok(()) => w
                .flush()
                .expect_err("the error reaches the flush at the latest"),
        };
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert!(w.flush().is_err(), "a failed file stays failed");
        assert!(sink.bytes.lock().unwrap().len() <= 100);
        drop(w);
        let stats = stats.snapshot();
        assert!(
            stats.records_dropped > 0,
            "what could not be written is counted"
        );
        assert_eq!(stats.bytes_written, sink.bytes.lock().unwrap().len() as u64);
        assert_eq!(stats.write_errors, 1);
    }
}
