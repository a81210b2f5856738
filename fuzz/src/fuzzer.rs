//! The mutation loop: runs a target over its seeds, then over mutations of a pool of inputs,
//! until an iteration or time budget is spent or the target panics.
//!
//! There is no coverage feedback: the pool grows with a random sample of the mutated inputs
//! (so mutations compound), not with inputs that reached new code. See `fuzz/README.md`.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;
use std::time::{Duration, Instant};

use crate::mutate::mutate;
use crate::rng::Rng;
use crate::targets::Target;

/// Most inputs kept in the pool (seeds included).
const POOL_MAX: usize = 1024;

/// How long and how a run goes.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stop after this many executions.
    pub iterations: Option<u64>,
    /// Stop after this many seconds (checked between executions).
    pub seconds: Option<u64>,
    /// Longest input tried.
    pub max_len: usize,
    /// Seed of the mutation generator: the same seed, seeds and target give the same run.
    pub rng_seed: u64,
}

/// An input that made the target panic.
#[derive(Debug, Clone)]
pub struct Crash {
    /// The input.
    pub input: Vec<u8>,
    /// The panic message and location.
    pub message: String,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Report {
    /// Executions of the target.
    pub executions: u64,
    /// Time spent.
    pub elapsed: Duration,
    /// Inputs in the pool at the end.
    pub pool: usize,
    /// The slowest execution and the length of its input.
    pub slowest: (Duration, usize),
    /// The first crash, which ended the run.
    pub crash: Option<Crash>,
}

thread_local! {
    /// Whether panics on this thread are being caught by [`run_one`] (and kept quiet).
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// The message of the last panic caught on this thread.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs, once per process, a panic hook that records panics caught by [`run_one`]
/// instead of printing them, and leaves every other panic to the previous hook.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CATCHING.with(Cell::get) {
                LAST_PANIC.with(|l| *l.borrow_mut() = Some(info.to_string()));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `target` on `input` once, catching a panic: `Err` holds its message and location.
pub fn run_one(target: &Target, input: &[u8]) -> Result<(), String> {
    install_hook();
    CATCHING.with(|c| c.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    CATCHING.with(|c| c.set(false));
    result.map_err(|_| {
        LAST_PANIC
            .with(|l| l.borrow_mut().take())
            .unwrap_or_else(|| "panic without a message".to_string())
    })
}

/// Fuzzes `target` starting from `seeds`.
pub fn fuzz(target: &Target, seeds: Vec<Vec<u8>>, opts: &Options) -> Report {
    let start = Instant::now();
    let mut rng = Rng::new(opts.rng_seed);
    let mut pool: Vec<Vec<u8>> = seeds
        .into_iter()
        .map(|mut s| {
            s.truncate(opts.max_len);
            s
        })
        .collect();
    if pool.is_empty() {
        pool.push(Vec::new());
    }
    pool.truncate(POOL_MAX / 2);
    let fixed = pool.len();
    let mut report = Report {
        executions: 0,
        elapsed: Duration::ZERO,
        pool: 0,
        slowest: (Duration::ZERO, 0),
        crash: None,
    };
    let done = |report: &Report| {
        opts.iterations.is_some_and(|n| report.executions >= n)
            || opts
                .seconds
                .is_some_and(|s| start.elapsed() >= Duration::from_secs(s))
    };
    let exec = |report: &mut Report, input: &[u8]| -> bool {
        let t0 = Instant::now();
        let result = run_one(target, input);
        let took = t0.elapsed();
        report.executions += 1;
        if took > report.slowest.0 {
            report.slowest = (took, input.len());
        }
        if let Err(message) = result {
            report.crash = Some(Crash {
                input: input.to_vec(),
                message,
            });
            return false;
        }
        true
    };

    // The seeds themselves first.
    for seed in pool.clone() {
        if done(&report) || !exec(&mut report, &seed) {
            return finish(report, &pool, start);
        }
    }
    let mut input = Vec::with_capacity(opts.max_len);
    while !done(&report) {
        let parent = pool.get(rng.below(pool.len())).cloned().unwrap_or_default();
        let other_index = rng.below(pool.len());
        input.clear();
        input.extend_from_slice(&parent);
        if let Some(other) = pool.get(other_index) {
            mutate(&mut rng, &mut input, other, opts.max_len);
        }
        if !exec(&mut report, &input) {
            break;
        }
        if rng.one_in(8) {
            if pool.len() < POOL_MAX {
                pool.push(input.clone());
            } else {
                // Replace a mutated entry; seeds stay.
                let i = fixed + rng.below(POOL_MAX - fixed);
                if let Some(slot) = pool.get_mut(i) {
                    slot.clone_from(&input);
                }
            }
        }
    }
    finish(report, &pool, start)
}

fn finish(mut report: Report, pool: &[Vec<u8>], start: Instant) -> Report {
    report.pool = pool.len();
    report.elapsed = start.elapsed();
    report
}

/// A short stable name for an input (FNV-1a, 64 bits, hexadecimal).
pub fn input_hash(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::SeedKind;

    fn boom(data: &[u8]) {
        assert!(!data.windows(2).any(|w| w == b"!!"), "found the bug");
    }

    const BOOM: Target = Target {
        name: "boom",
        about: "test",
        run: boom,
        max_len: 64,
        seed_kind: SeedKind::Raw,
        smoke: true,
    };

    #[test]
    fn finds_a_shallow_bug_and_reports_it() {
        let opts = Options {
            iterations: Some(200_000),
            seconds: None,
            max_len: 64,
            rng_seed: 3,
        };
        let report = fuzz(&BOOM, vec![b"hello!".to_vec()], &opts);
        let crash = report.crash.as_ref();
        assert!(crash.is_some(), "no crash in {} runs", report.executions);
        if let Some(c) = crash {
            assert!(c.message.contains("found the bug"), "{}", c.message);
            assert!(run_one(&BOOM, &c.input).is_err());
        }
    }

    #[test]
    fn same_seed_same_run() {
        let opts = Options {
            iterations: Some(200_000),
            seconds: None,
            max_len: 64,
            rng_seed: 9,
        };
        let a = fuzz(&BOOM, vec![b"a!".to_vec()], &opts);
        let b = fuzz(&BOOM, vec![b"a!".to_vec()], &opts);
        assert_eq!(a.executions, b.executions);
        assert_eq!(a.crash.map(|c| c.input), b.crash.map(|c| c.input));
    }

    #[test]
    fn hash_is_stable() {
        assert_eq!(input_hash(b""), "cbf29ce484222325");
        assert_ne!(input_hash(b"a"), input_hash(b"b"));
    }
}
