use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn opts(segment_bytes: u64, max_bytes: u64) -> SpoolOptions {
    SpoolOptions {
        segment_bytes,
        max_bytes,
        fsync: false,
    }
}

fn payload(seq: u64, len: usize) -> Vec<u8> {
    let mut v = seq.to_le_bytes().to_vec();
    v.resize(len.max(8), (seq % 251) as u8);
    v
}

fn append(s: &mut Spool, kind: BatchKind, len: usize) -> u64 {
    s.append(kind, 10, |seq| payload(seq, len)).expect("append")
}

/// Everything `next_item` hands out from the watermark on.
fn drain(s: &mut Spool) -> Vec<SpoolItem> {
    let mut out = Vec::new();
    let mut cursor = s.acked() + 1;
    while let Some(item) = s.next_item(cursor).expect("next_item") {
        cursor = match &item {
            SpoolItem::Batch(b) => b.seq + 1,
            SpoolItem::Dropped(d) => d.last_seq + 1,
        };
        out.push(item);
    }
    out
}

fn batch_seqs(items: &[SpoolItem]) -> Vec<u64> {
    items
        .iter()
        .filter_map(|i| match i {
            SpoolItem::Batch(b) => Some(b.seq),
            SpoolItem::Dropped(_) => None,
        })
        .collect()
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    v.sort();
    v
}

#[test]
fn append_read_ack_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut s, r) = Spool::open(dir.path(), opts(4096, 1 << 20)).expect("open");
    assert_eq!(r.next_seq, 1);
    for _ in 0..5 {
        append(&mut s, BatchKind::Alert, 100);
    }
    // Not synced yet: nothing to send.
    assert!(drain(&mut s).is_empty());
    s.sync().expect("sync");
    let items = drain(&mut s);
    assert_eq!(batch_seqs(&items), vec![1, 2, 3, 4, 5]);
    let SpoolItem::Batch(b) = &items[2] else {
        panic!("batch expected")
    };
    assert_eq!(b.payload, payload(3, 100));
    assert_eq!(b.records, 10);
    assert_eq!(s.ack(3).expect("ack"), 3);
    drop(s);
    let (mut s, r) = Spool::open(dir.path(), opts(4096, 1 << 20)).expect("reopen");
    assert_eq!((r.acked, r.next_seq, r.recovered_batches), (3, 6, 2));
    assert_eq!(batch_seqs(&drain(&mut s)), vec![4, 5]);
    assert_eq!(append(&mut s, BatchKind::Flow, 10), 6);
}

#[test]
fn ack_deletes_covered_segments_and_seq_survives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut s, _) = Spool::open(dir.path(), opts(1024, 1 << 20)).expect("open");
    for _ in 0..40 {
        append(&mut s, BatchKind::Alert, 200);
    }
    s.sync().expect("sync");
    assert!(segment_files(dir.path()).len() > 5);
    s.ack(40).expect("ack");
    // Only the active segment remains.
    assert_eq!(segment_files(dir.path()).len(), 1);
    assert_eq!(s.backlog_batches(), 0);
    drop(s);
    // Even with the state file gone, the newest segment keeps the seq from going back.
    fs::remove_file(dir.path().join(STATE_FILE)).expect("rm state");
    let (s, r) = Spool::open(dir.path(), opts(1024, 1 << 20)).expect("reopen");
    assert_eq!(r.next_seq, 41);
    assert_eq!(s.next_seq(), 41);
}

#[test]
fn torn_tail_is_truncated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut s, _) = Spool::open(dir.path(), opts(1 << 16, 1 << 20)).expect("open");
    for _ in 0..3 {
        append(&mut s, BatchKind::Alert, 100);
    }
    s.sync().expect("sync");
    drop(s);
    let seg = segment_files(dir.path()).pop().expect("segment");
    let full = fs::read(&seg).expect("read");
    // Cut the last record in half: a crash mid-write.
    let cut = full.len() - 50;
    fs::write(&seg, &full[..cut]).expect("write");
    let (mut s, r) = Spool::open(dir.path(), opts(1 << 16, 1 << 20)).expect("reopen");
    assert_eq!(r.torn_tail_bytes, (cut - (full.len() - 128)) as u64);
    assert_eq!(r.corrupt_regions, 0);
    assert_eq!(r.next_seq, 3);
    assert_eq!(batch_seqs(&drain(&mut s)), vec![1, 2]);
    assert_eq!(append(&mut s, BatchKind::Alert, 100), 3);
    s.sync().expect("sync");
    drop(s);
    let (mut s, r) = Spool::open(dir.path(), opts(1 << 16, 1 << 20)).expect("reopen 2");
    assert_eq!(r.torn_tail_bytes, 0);
    assert_eq!(batch_seqs(&drain(&mut s)), vec![1, 2, 3]);
}

#[test]
fn corrupt_middle_is_skipped_and_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut s, _) = Spool::open(dir.path(), opts(1 << 16, 1 << 20)).expect("open");
    for _ in 0..5 {
        append(&mut s, BatchKind::Alert, 100);
    }
    s.sync().expect("sync");
    drop(s);
    let seg = segment_files(dir.path()).pop().expect("segment");
    let mut bytes = fs::read(&seg).expect("read");
    // Flip a payload byte of record 3 (each record is 128 bytes after the 8-byte magic).
    bytes[8 + 2 * 128 + 60] ^= 0x55;
    fs::write(&seg, &bytes).expect("write");
    let (mut s, r) = Spool::open(dir.path(), opts(1 << 16, 1 << 20)).expect("reopen");
    assert_eq!(r.corrupt_regions, 1);
    assert_eq!(r.corrupt_bytes, 128);
    assert_eq!(r.torn_tail_bytes, 0);
    let items = drain(&mut s);
    assert_eq!(batch_seqs(&items), vec![1, 2, 4, 5]);
    assert!(items.contains(&SpoolItem::Dropped(DroppedRange {
        first_seq: 3,
        last_seq: 3,
        kind: None,
        records: 0,
        reason: LossReason::SpoolCorrupt,
    })));
    assert_eq!(s.losses()[1].unknown_batches, 1);
    assert_eq!(r.next_seq, 6);
}

#[test]
fn corruption_after_write_is_caught_on_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut s, _) = Spool::open(dir.path(), opts(1 << 16, 1 << 20)).expect("open");
    for _ in 0..3 {
        append(&mut s, BatchKind::Flow, 100);
    }
    s.sync().expect("sync");
    let seg = segment_files(dir.path()).pop().expect("segment");
    let mut bytes = fs::read(&seg).expect("read");
    bytes[8 + 128 + 40] ^= 1;
    fs::write(&seg, &bytes).expect("write");
    let items = drain(&mut s);
    assert_eq!(batch_seqs(&items), vec![1, 3]);
    assert_eq!(s.losses()[1].batches, [0, 1]);
    assert_eq!(s.losses()[1].records, [0, 10]);
}

#[test]
fn full_spool_drops_oldest_and_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Records are 28 + 200 bytes; four fit in a 1 KiB segment, the spool holds 4 KiB.
    let o = opts(1024, 4096);
    let (mut s, _) = Spool::open(dir.path(), o).expect("open");
    for i in 0..100u64 {
        let kind = if i % 2 == 0 {
            BatchKind::Alert
        } else {
            BatchKind::Flow
        };
        append(&mut s, kind, 200);
        assert!(s.disk_bytes() <= 4096, "disk {} > max", s.disk_bytes());
    }
    s.sync().expect("sync");
    let lost = s.losses()[0];
    let kept = s.backlog_batches();
    assert_eq!(lost.total_batches() + kept, 100);
    assert!(lost.batches[0] > 0 && lost.batches[1] > 0);
    assert_eq!(lost.records[0] + lost.records[1], 10 * lost.total_batches());
    let items = drain(&mut s);
    let first_kept = 100 - kept + 1;
    assert_eq!(batch_seqs(&items), (first_kept..=100).collect::<Vec<_>>());
    let SpoolItem::Dropped(d) = items[0] else {
        panic!("a dropped range first")
    };
    assert_eq!((d.first_seq, d.last_seq), (1, first_kept - 1));
    assert_eq!(d.reason, LossReason::SpoolFull);
    // After a restart the unreported range is still there to report.
    drop(s);
    let (mut s, r) = Spool::open(dir.path(), o).expect("reopen");
    assert_eq!(r.corrupt_regions, 0);
    let items = drain(&mut s);
    let SpoolItem::Dropped(d) = items[0] else {
        panic!("a dropped range first")
    };
    assert_eq!(
        (d.first_seq, d.last_seq, d.reason),
        (1, first_kept - 1, LossReason::SpoolFull)
    );
    assert_eq!(batch_seqs(&items), (first_kept..=100).collect::<Vec<_>>());
}

#[test]
fn oversized_batch_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut s, _) = Spool::open(dir.path(), opts(1024, 4096)).expect("open");
    let err = s.append(BatchKind::Alert, 1, |_| vec![0; 3000]);
    assert!(matches!(err, Err(SpoolError::TooLarge { .. })));
    assert_eq!(s.next_seq(), 1);
}

#[test]
fn bad_options_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(Spool::open(dir.path(), opts(4096, 4096)).is_err());
    assert!(Spool::open(dir.path(), opts(10, 1 << 20)).is_err());
}

#[test]
fn garbage_files_never_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(
        dir.path().join("00000000000000000001.seg"),
        b"garbage TWB1 more",
    )
    .expect("w");
    fs::write(dir.path().join("00000000000000000009.seg"), b"").expect("w");
    fs::write(dir.path().join(STATE_FILE), b"short").expect("w");
    fs::write(dir.path().join("notes.txt"), b"ignored").expect("w");
    let (mut s, r) = Spool::open(dir.path(), opts(1024, 1 << 20)).expect("open");
    assert!(r.state_reset);
    assert_eq!(r.next_seq, 9);
    assert_eq!(append(&mut s, BatchKind::Alert, 10), 9);
}

#[derive(Debug, Clone)]
enum Op {
    Append(usize),
    Sync,
    /// Acknowledge a fraction (per mille) of what was handed out.
    Ack(u16),
    /// Crash: cut the newest segment at a fraction (per mille) of its unsynced bytes, reopen.
    Crash(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1usize..600).prop_map(Op::Append),
        2 => Just(Op::Sync),
        2 => (0u16..=1000).prop_map(Op::Ack),
        1 => (0u16..=1000).prop_map(Op::Crash),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever was synced, not acknowledged and not counted as dropped is recovered, and
    /// handed out exactly once (in seq order), across crashes that tear unsynced writes.
    #[test]
    fn unacked_batches_are_recovered_exactly_once(ops in proptest::collection::vec(op(), 1..120)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let o = opts(2048, 8192);
        let (mut s, _) = Spool::open(dir.path(), o).expect("open");
        // Model: seq -> payload for synced, unacked batches; pending: appended, unsynced.
        let mut durable: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let mut pending: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let mut synced_len: u64 = 0;
        let mut dropped: u64 = 0;
        let mut last_seq_seen = 0u64;
        for op in ops {
            match op {
                Op::Append(len) => {
                    let before = s.losses()[0].total_batches();
                    let seq = append(&mut s, BatchKind::Alert, len);
                    prop_assert!(seq > last_seq_seen, "seq reused: {} after {}", seq, last_seq_seen);
                    last_seq_seen = seq;
                    pending.insert(seq, payload(seq, len));
                    let newly = s.losses()[0].total_batches() - before;
                    // Drops take the oldest first.
                    for _ in 0..newly {
                        if durable.pop_first().is_none() {
                            pending.pop_first();
                        }
                    }
                    dropped += newly;
                }
                Op::Sync => {
                    s.sync().expect("sync");
                    durable.append(&mut pending);
                    synced_len = newest_len(dir.path());
                }
                Op::Ack(f) => {
                    let n = durable.len() * usize::from(f) / 1000;
                    if let Some((&seq, _)) = durable.iter().nth(n.saturating_sub(1)) {
                        if n > 0 {
                            s.ack(seq).expect("ack");
                            durable.retain(|&k, _| k > seq);
                        }
                    }
                }
                Op::Crash(f) => {
                    drop(s);
                    // Unsynced bytes of the newest segment may be partly or not at all on disk.
                    if let Some(seg) = segment_files(dir.path()).pop() {
                        let len = fs::metadata(&seg).expect("meta").len();
                        if len > synced_len {
                            let keep = synced_len + (len - synced_len) * u64::from(f) / 1000;
                            let bytes = fs::read(&seg).expect("read");
                            fs::write(&seg, &bytes[..keep as usize]).expect("cut");
                        }
                    }
                    let (s2, r) = Spool::open(dir.path(), o).expect("reopen");
                    prop_assert_eq!(r.corrupt_regions, 0);
                    s = s2;
                    dropped = 0;
                    // Whole unsynced records that survived the cut are recovered too.
                    let mut items = drain(&mut s);
                    items.retain(|i| matches!(i, SpoolItem::Batch(_)));
                    for i in &items {
                        if let SpoolItem::Batch(b) = i {
                            if let Some(p) = pending.remove(&b.seq) {
                                durable.insert(b.seq, p);
                            }
                        }
                    }
                    pending.clear();
                    synced_len = newest_len(dir.path());
                    last_seq_seen = last_seq_seen.min(s.next_seq() - 1);
                }
            }
        }
        s.sync().expect("final sync");
        durable.append(&mut pending);
        let items = drain(&mut s);
        let got: Vec<(u64, Vec<u8>)> = items
            .into_iter()
            .filter_map(|i| match i {
                SpoolItem::Batch(b) => Some((b.seq, b.payload)),
                SpoolItem::Dropped(_) => None,
            })
            .collect();
        let want: Vec<(u64, Vec<u8>)> = durable.into_iter().collect();
        prop_assert_eq!(got, want);
        prop_assert_eq!(s.losses()[0].total_batches(), dropped);
        prop_assert!(s.disk_bytes() <= 8192);
    }
}

fn newest_len(dir: &Path) -> u64 {
    segment_files(dir)
        .pop()
        .map(|p| fs::metadata(p).expect("meta").len())
        .unwrap_or(0)
}

#[test]
fn a_second_open_is_refused_while_the_first_runs_and_a_lock_file_alone_holds_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (s, _) = Spool::open(dir.path(), opts(4096, 1 << 20)).expect("open");
    match Spool::open(dir.path(), opts(4096, 1 << 20)) {
        Err(e @ SpoolError::Locked { pid, .. }) => {
            assert_eq!(pid, Some(std::process::id()));
            assert!(
                e.to_string()
                    .contains(&format!("process {}", std::process::id())),
                "{e}"
            );
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    drop(s);
    // Released with its holder; the file stays and means nothing by itself, like the one a
    // killed sensor leaves (whatever process now has its process id).
    assert!(dir.path().join("LOCK").exists());
    fs::write(dir.path().join("LOCK"), "1").expect("old lock file");
    let (_s, _) = Spool::open(dir.path(), opts(4096, 1 << 20)).expect("lock taken");
    let owner = fs::read_to_string(dir.path().join("LOCK")).expect("lock");
    assert_eq!(owner, std::process::id().to_string());
}
