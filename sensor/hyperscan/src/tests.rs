//! Tests of the wrapper against libhs itself and against a naive reference search.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use proptest::prelude::*;
use sha2::{Digest, Sha256};

use crate::{version, HsError, Literal, LiteralDatabase, Scratch};

fn lit(id: u32, bytes: &[u8], caseless: bool) -> Literal {
    Literal {
        id,
        bytes: bytes.to_vec(),
        caseless,
    }
}

fn compile(literals: &[Literal]) -> LiteralDatabase {
    LiteralDatabase::compile(literals).expect("compiles")
}

/// Every id reported, and how many times in total.
fn scan_all(db: &LiteralDatabase, scratch: &mut Scratch, data: &[u8]) -> (BTreeSet<u32>, usize) {
    let mut ids = BTreeSet::new();
    let mut calls = 0;
    db.scan(scratch, data, |id| {
        ids.insert(id);
        calls += 1;
    })
    .expect("scan succeeds");
    (ids, calls)
}

fn ids(db: &LiteralDatabase, data: &[u8]) -> BTreeSet<u32> {
    let mut scratch = Scratch::new();
    scratch.reserve_for(db).expect("scratch");
    scan_all(db, &mut scratch, data).0
}

fn set(ids: &[u32]) -> BTreeSet<u32> {
    ids.iter().copied().collect()
}

/// The reference: a literal is found if some window of `data` equals it.
fn naive(literals: &[Literal], data: &[u8]) -> BTreeSet<u32> {
    literals
        .iter()
        .filter(|l| {
            data.windows(l.bytes.len()).any(|w| {
                if l.caseless {
                    w.eq_ignore_ascii_case(&l.bytes)
                } else {
                    w == l.bytes.as_slice()
                }
            })
        })
        .map(|l| l.id)
        .collect()
}

#[test]
fn version_is_libhs_5() {
    let v = version();
    println!("libhs version: {v}");
    assert!(v.starts_with('5'), "unexpected libhs version {v:?}");
}

#[test]
fn handles_are_send_and_sync_as_documented() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<LiteralDatabase>();
    send::<Scratch>();
}

#[test]
fn bytes_are_matched_literally_including_nul_and_metacharacters() {
    let db = compile(&[
        lit(1, b"a\0b", false),
        lit(2, b".*+?[]()", false),
        lit(3, b"a.c", false),
        lit(4, b"\\x41", false),
        lit(5, b"^x$|{2}", false),
        lit(6, &[0xff, 0x00, 0x80], false),
    ]);
    assert_eq!(ids(&db, b"xx a\0b yy"), set(&[1]));
    assert_eq!(ids(&db, b"ab a b a\\0b"), set(&[]), "NUL is a real byte");
    assert_eq!(ids(&db, b"--.*+?[]()--"), set(&[2]));
    assert_eq!(ids(&db, b"anything at all"), set(&[]), "no regex semantics");
    assert_eq!(ids(&db, b"abc"), set(&[]), "'.' is a dot");
    assert_eq!(ids(&db, b"a.c"), set(&[3]));
    assert_eq!(ids(&db, b"A"), set(&[]), "escapes are not interpreted");
    assert_eq!(ids(&db, b"\\x41"), set(&[4]));
    assert_eq!(ids(&db, b"x"), set(&[]));
    assert_eq!(ids(&db, b"^x$|{2}"), set(&[5]));
    assert_eq!(ids(&db, &[1, 0xff, 0x00, 0x80, 2]), set(&[6]));
    assert_eq!(ids(&db, &[0xff, 0x00]), set(&[]), "a prefix is not a match");
}

#[test]
fn caseless_and_case_sensitive() {
    let db = compile(&[
        lit(1, b"Hello", true),
        lit(2, b"Hello", false),
        lit(3, &[0xc4], true),
    ]);
    assert_eq!(ids(&db, b"hELLO"), set(&[1]));
    assert_eq!(ids(&db, b"say Hello"), set(&[1, 2]));
    assert_eq!(ids(&db, b"HELLO"), set(&[1]));
    assert_eq!(ids(&db, b"Hell"), set(&[]));
    // Case folding is ASCII only: 0xE4 is not 0xC4's "lower case".
    assert_eq!(ids(&db, &[0xe4]), set(&[]));
    assert_eq!(ids(&db, &[0xc4]), set(&[3]));
}

#[test]
fn same_literal_with_two_ids_reports_both() {
    let db = compile(&[lit(7, b"evil", false), lit(9, b"evil", false)]);
    assert_eq!(ids(&db, b"an evil payload"), set(&[7, 9]));
}

#[test]
fn each_id_is_reported_once_per_scan() {
    let db = compile(&[lit(1, b"ab", false), lit(2, b"b", true)]);
    let mut scratch = Scratch::new();
    scratch.reserve_for(&db).expect("scratch");
    let (found, calls) = scan_all(&db, &mut scratch, b"abABabab");
    assert_eq!(found, set(&[1, 2]));
    assert_eq!(calls, 2, "SINGLEMATCH: one call per id");
}

#[test]
fn serialize_round_trip_matches_identically() {
    let literals = vec![
        lit(1, b"GET /", false),
        lit(2, b"user-agent", true),
        lit(3, b"\x00\x01\x02", false),
        lit(4, b"cmd.exe", true),
    ];
    let db = compile(&literals);
    let bytes = db.serialize().expect("serialize");
    let back = LiteralDatabase::deserialize(&bytes).expect("deserialize");
    assert_eq!(back.literal_count(), 4);
    assert_eq!(back.size_bytes(), db.size_bytes());
    assert!(db.size_bytes() > 0);
    assert_eq!(back.serialize().expect("serialize again"), bytes);
    let inputs: [&[u8]; 4] = [
        b"GET /index.html\r\nUser-Agent: x\r\n",
        b"\x00\x01\x02CMD.EXE",
        b"nothing here",
        b"",
    ];
    for data in inputs {
        assert_eq!(ids(&back, data), ids(&db, data));
        assert_eq!(ids(&back, data), naive(&literals, data));
    }
}

fn envelope(count: u64, inner: &[u8]) -> Vec<u8> {
    let mut out = b"TWHS".to_vec();
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(inner.len() as u64).to_le_bytes());
    out.extend_from_slice(inner);
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

fn assert_refused(bytes: &[u8], what: &str) {
    match LiteralDatabase::deserialize(bytes) {
        Err(HsError::Deserialize(_)) => {}
        other => panic!("{what}: expected a deserialize error, got {other:?}"),
    }
}

#[test]
fn deserialize_refuses_truncated_damaged_and_garbage_bytes() {
    let db = compile(&[lit(1, b"abcdef", false), lit(2, b"xyz", true)]);
    let good = db.serialize().expect("serialize");
    assert!(LiteralDatabase::deserialize(&good).is_ok());

    for len in 0..good.len() {
        assert_refused(&good[..len], &format!("truncated to {len}"));
    }
    for at in (0..good.len()).step_by(7).chain([good.len() - 1]) {
        let mut bad = good.clone();
        bad[at] ^= 0x40;
        assert_refused(&bad, &format!("byte {at} flipped"));
    }
    let mut longer = good.clone();
    longer.push(0);
    assert_refused(&longer, "trailing byte");
    assert_refused(&[0u8; 4096], "zeros");
    assert_refused(
        b"TWHS garbage that is long enough to hold a header",
        "garbage",
    );

    // A well-formed envelope around bytes libhs must refuse itself.
    let inner_start = 24;
    let inner_end = good.len() - 32;
    let inner = &good[inner_start..inner_end];
    assert_refused(
        &envelope(2, &inner[..inner.len() / 2]),
        "truncated libhs blob",
    );
    assert_refused(&envelope(2, &[0x5a; 512]), "garbage libhs blob");
    let mut wrong_magic = inner.to_vec();
    wrong_magic[0] ^= 0xff;
    assert_refused(&envelope(2, &wrong_magic), "libhs magic damaged");
    assert_refused(&envelope(0, inner), "database without literals");
    assert_refused(&envelope(3, &[]), "literals without database");

    // Wrong envelope version with a valid checksum.
    let mut v2 = good[..inner_end].to_vec();
    v2[4] = 2;
    let digest = Sha256::digest(&v2);
    v2.extend_from_slice(&digest);
    assert_refused(&v2, "envelope version 2");
}

#[test]
fn empty_set_never_matches_and_round_trips() {
    let db = compile(&[]);
    assert_eq!(db.literal_count(), 0);
    assert_eq!(db.size_bytes(), 0);
    let mut scratch = Scratch::new();
    scratch.reserve_for(&db).expect("no-op");
    assert_eq!(scan_all(&db, &mut scratch, b"anything").0, set(&[]));
    let back = LiteralDatabase::deserialize(&db.serialize().expect("serialize")).expect("back");
    assert_eq!(back.literal_count(), 0);
    assert_eq!(scan_all(&back, &mut scratch, b"anything").0, set(&[]));
}

#[test]
fn empty_literal_is_refused_with_its_index() {
    let err = LiteralDatabase::compile(&[lit(1, b"a", false), lit(2, b"", false)])
        .expect_err("empty literal");
    match err {
        HsError::Compile { literal_index, .. } => assert_eq!(literal_index, Some(1)),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn scratch_reserved_for_two_databases_scans_both() {
    let small = compile(&[lit(1, b"one", false)]);
    let literals: Vec<Literal> = (0..500u32)
        .map(|i| lit(i, format!("pattern-{i}-x").as_bytes(), i % 2 == 0))
        .collect();
    let big = compile(&literals);
    let mut scratch = Scratch::new();
    scratch.reserve_for(&small).expect("small");
    scratch.reserve_for(&big).expect("big");
    assert_eq!(scan_all(&small, &mut scratch, b"one two").0, set(&[1]));
    assert_eq!(
        scan_all(&big, &mut scratch, b"PATTERN-42-X pattern-43-x").0,
        set(&[42, 43])
    );
    // Reserving again is harmless.
    scratch.reserve_for(&small).expect("again");
    assert_eq!(scan_all(&small, &mut scratch, b"one").0, set(&[1]));
    assert_eq!(scan_all(&big, &mut scratch, b"PATTERN-7-X").0, set(&[]));
    assert_eq!(scan_all(&big, &mut scratch, b"PATTERN-8-X").0, set(&[8]));
}

#[test]
fn scanning_with_an_unreserved_scratch_is_an_error() {
    let a = compile(&[lit(1, b"aaa", false)]);
    let b = compile(&[lit(2, b"bbb", false)]);
    let mut scratch = Scratch::new();
    assert!(matches!(
        a.scan(&mut scratch, b"aaa", |_| {}),
        Err(HsError::Scratch(_))
    ));
    scratch.reserve_for(&a).expect("a");
    assert!(matches!(
        b.scan(&mut scratch, b"bbb", |_| {}),
        Err(HsError::Scratch(_))
    ));
    // A database loaded from a's bytes is a different database: it needs its own reservation.
    let a2 = LiteralDatabase::deserialize(&a.serialize().expect("ser")).expect("de");
    assert!(matches!(
        a2.scan(&mut scratch, b"aaa", |_| {}),
        Err(HsError::Scratch(_))
    ));
    // A clone shares the compiled database, so the reservation holds.
    let a_clone = a.clone();
    assert_eq!(scan_all(&a_clone, &mut scratch, b"aaa").0, set(&[1]));
}

#[test]
fn dropped_databases_are_forgotten_by_the_scratch() {
    let mut scratch = Scratch::new();
    for round in 0..50u32 {
        let db = compile(&[lit(round, format!("r{round}z").as_bytes(), false)]);
        scratch.reserve_for(&db).expect("reserve");
        assert_eq!(
            scan_all(&db, &mut scratch, format!("..r{round}z..").as_bytes()).0,
            set(&[round])
        );
    }
    assert!(
        format!("{scratch:?}").matches("Weak").count() <= 2,
        "remembered databases stay bounded: {scratch:?}"
    );
}

#[test]
fn a_panicking_callback_unwinds_after_the_scan_and_leaves_the_scratch_usable() {
    let db = compile(&[lit(1, b"x", false)]);
    let mut scratch = Scratch::new();
    scratch.reserve_for(&db).expect("scratch");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = db.scan(&mut scratch, b"xx", |_| panic!("callback panics"));
    }));
    assert!(result.is_err(), "the panic reaches the caller");
    assert_eq!(scan_all(&db, &mut scratch, b"x").0, set(&[1]));
}

#[test]
fn workers_share_one_database() {
    let db = Arc::new(compile(&[lit(1, b"shared", true)]));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let db = Arc::clone(&db);
            std::thread::spawn(move || {
                let mut scratch = Scratch::new();
                scratch.reserve_for(&db).expect("scratch");
                (0..100)
                    .map(|_| scan_all(&db, &mut scratch, b"a SHARED db").0.len())
                    .sum::<usize>()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().expect("worker"), 100);
    }
}

/// A deterministic xorshift generator: no randomness crate needed, same literals every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

fn random_literals(count: usize, seed: u64) -> Vec<Literal> {
    let mut rng = XorShift(seed);
    (0..count)
        .map(|i| {
            let len = 4 + (rng.next() % 13) as usize;
            let bytes = (0..len).map(|_| rng.next() as u8).collect();
            Literal {
                id: i as u32,
                bytes,
                caseless: rng.next().is_multiple_of(2),
            }
        })
        .collect()
}

/// Prints compile times (run with `--nocapture`); asserts only correctness.
#[test]
fn compile_time_for_5k_and_40k_random_literals() {
    for count in [5_000usize, 40_000] {
        let literals = random_literals(count, 0x9e37_79b9_7f4a_7c15 ^ count as u64);
        let start = Instant::now();
        let db = compile(&literals);
        let compiled = start.elapsed();
        let start = Instant::now();
        let bytes = db.serialize().expect("serialize");
        let back = LiteralDatabase::deserialize(&bytes).expect("deserialize");
        let reloaded = start.elapsed();
        println!(
            "{count} random literals (4-16 bytes, half caseless): compile {:.1} ms, \
             database {} KiB, serialize+deserialize {:.1} ms",
            compiled.as_secs_f64() * 1e3,
            db.size_bytes() / 1024,
            reloaded.as_secs_f64() * 1e3,
        );
        assert_eq!(back.literal_count(), count);
        let mut rng = XorShift(7);
        let haystack: Vec<u8> = (0..(4usize << 20)).map(|_| rng.next() as u8).collect();
        let mut scratch = Scratch::new();
        scratch.reserve_for(&back).expect("scratch");
        let start = Instant::now();
        let (_, calls) = scan_all(&back, &mut scratch, &haystack);
        let scanned = start.elapsed();
        println!(
            "  scan of 4 MiB random bytes: {:.0} MB/s, {calls} ids reported",
            haystack.len() as f64 / scanned.as_secs_f64() / 1e6
        );
        // Every literal is found in a buffer made of a few of them.
        let mut data = Vec::new();
        for l in literals.iter().step_by(count / 10) {
            data.extend_from_slice(b"--");
            data.extend_from_slice(&l.bytes);
        }
        assert_eq!(ids(&back, &data), naive(&literals, &data));
    }
}

fn literal_strategy() -> impl Strategy<Value = (Vec<u8>, bool)> {
    (
        proptest::collection::vec(prop::sample::select(&b"abAB\0."[..]), 1..5),
        any::<bool>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// libhs finds exactly the literals a naive window search finds.
    #[test]
    fn scan_agrees_with_naive_search(
        specs in proptest::collection::vec(literal_strategy(), 1..12),
        data in proptest::collection::vec(prop::sample::select(&b"abAB\0.c"[..]), 0..64),
    ) {
        let literals: Vec<Literal> = specs
            .into_iter()
            .enumerate()
            .map(|(i, (bytes, caseless))| Literal { id: i as u32, bytes, caseless })
            .collect();
        let db = LiteralDatabase::compile(&literals).expect("compiles");
        let mut scratch = Scratch::new();
        scratch.reserve_for(&db).expect("scratch");
        let (found, calls) = scan_all(&db, &mut scratch, &data);
        prop_assert_eq!(&found, &naive(&literals, &data));
        prop_assert_eq!(calls, found.len());
    }
}

#[test]
fn an_id_shared_by_several_literals_is_reported() {
    let db = compile(&[
        lit(5, b"aa", false),
        lit(5, b"bb", true),
        lit(5, b"aa", false),
    ]);
    let mut scratch = Scratch::new();
    scratch.reserve_for(&db).expect("scratch");
    let (found, calls) = scan_all(&db, &mut scratch, b"aabbaaBB");
    assert_eq!(found, set(&[5]));
    // libhs 5.4 reports it once; the documented contract allows once per literal.
    assert!((1..=3).contains(&calls), "{calls} calls");
    assert_eq!(scan_all(&db, &mut scratch, b"xxBBxx").0, set(&[5]));
    assert_eq!(scan_all(&db, &mut scratch, b"a b").0, set(&[]));
}
