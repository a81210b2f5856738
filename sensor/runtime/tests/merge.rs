//! Property: however the flows are spread over workers, the merged output is the output of
//! one worker. Each case picks a number of workers and a random affinity seed (so a random
//! assignment of flows to workers), runs captures and the bundled rules through the runtime (dispatcher, worker threads, one
//! EVE file fed by every worker), and compares every record with a single worker's, flow ids
//! aside. The bundled rules have no thresholds by host, so nothing may differ. The source's
//! batches end at the same packets in every case (every [`BATCH`] packets, as a capture
//! reader's batches do): the workers' clock ticks, and so the flow timeouts of captures whose
//! time goes backwards between files, follow them.
//!
//! The packets: a synthetic IP-in-IP tunnel whose outer datagrams are fragmented (one of them
//! with its last fragment first) among plain flows, the bundled sample, and when the shared
//! corpus is there
//! (`$TAPWATCH_SHARED` or `../shared`), Zeek's traces of fragmented IPv4 and IPv6 and of
//! tunnels (IP-in-IP, 6in4, GRE, Teredo, Geneve, ...), read one after the other as one stream.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use proptest::prelude::*;
use tapwatch_capture::CaptureReader;
use tapwatch_flow::FlowIdSpace;
use tapwatch_pipeline::config::Config;
use tapwatch_pipeline::counters::{Counters, TableStats};
use tapwatch_pipeline::detect_setup::{self, DetectArgs};
use tapwatch_pipeline::worker::{stats_record, Worker};
use tapwatch_runtime::dispatch::{Affinity, Backpressure, Dispatcher};
use tapwatch_runtime::eve_file::{EveFile, EveProducer};
use tapwatch_runtime::pool::{self, PoolOptions};
use tapwatch_runtime::route::FragmentLimits;

/// Packets per batch of the source.
const BATCH: u64 = 50;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The captures replayed: the sample, plus the corpus's fragment and tunnel traces.
fn captures() -> &'static [PathBuf] {
    static CAPTURES: OnceLock<Vec<PathBuf>> = OnceLock::new();
    CAPTURES.get_or_init(|| {
        let mut files = vec![root().join("samples/sample.pcap")];
        let shared = std::env::var_os("TAPWATCH_SHARED")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("../shared"));
        let zeek = shared.join("corpus/pcaps/zeek");
        if !zeek.is_dir() {
            println!(
                "note: ../shared/corpus not found: the sample capture only (set TAPWATCH_SHARED)"
            );
            return files;
        }
        for name in [
            "ipv4/fragmented-1.pcap",
            "ipv4/fragmented-2.pcap",
            "ipv4/fragmented-3.pcap",
            "ipv4/fragmented-4.pcap",
            "ipv6-fragmented-dns.pcap",
        ] {
            files.push(zeek.join(name));
        }
        if let Ok(dir) = std::fs::read_dir(zeek.join("tunnels")) {
            let mut tunnels: Vec<PathBuf> = dir
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
                .collect();
            tunnels.sort();
            files.extend(tunnels);
        }
        files
    })
}

/// A sink the test reads once the EVE thread is done.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn engine() -> Arc<tapwatch_detect::Engine> {
    static ENGINE: OnceLock<Arc<tapwatch_detect::Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let args = DetectArgs {
                rules: vec![root().join("rules/bundled/tapwatch-sample.rules")],
                vars: Vec::new(),
                no_cache: true,
                eager: false,
            };
            let startup = detect_setup::start(&Config::default(), None, &args).expect("rules");
            Arc::new(startup.engine.expect("an engine"))
        })
        .clone()
}

/// An IPv4 datagram.
fn ipv4(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    id: u16,
    frag: (u16, bool),
    payload: &[u8],
) -> Vec<u8> {
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&id.to_be_bytes());
    ip.extend_from_slice(&((u16::from(frag.1) << 13) | (frag.0 / 8)).to_be_bytes());
    ip.extend_from_slice(&[64, proto, 0, 0]);
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    ip.extend_from_slice(payload);
    ip
}

/// A TCP segment (checksums are not validated by default).
fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    t
}

fn ethernet(ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00];
    f.extend_from_slice(ip);
    f
}

/// Frames of an HTTP exchange inside an IP-in-IP tunnel whose large outer datagrams are
/// fragmented (the second with its last fragment first), interleaved with plain flows
/// between other hosts.
fn tunnel_frames() -> Vec<Vec<u8>> {
    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    const PSH_ACK: u8 = 0x18;
    const FIN_ACK: u8 = 0x11;
    let (oa, ob) = ([198, 51, 100, 1], [203, 0, 113, 9]);
    let (c, s) = ([10, 9, 0, 1], [10, 8, 0, 1]);
    let mut id = 100u16;
    let mut tunnel = |from_client: bool, seg: Vec<u8>, split: Option<(usize, bool)>| {
        id += 1;
        let (isrc, idst, osrc, odst) = if from_client {
            (c, s, oa, ob)
        } else {
            (s, c, ob, oa)
        };
        let inner = ipv4(isrc, idst, 6, id, (0, false), &seg);
        match split {
            None => vec![ethernet(&ipv4(osrc, odst, 4, id, (0, false), &inner))],
            Some((at, last_first)) => {
                let first = ethernet(&ipv4(osrc, odst, 4, id, (0, true), &inner[..at]));
                let last = ethernet(&ipv4(osrc, odst, 4, id, (at as u16, false), &inner[at..]));
                if last_first {
                    vec![last, first]
                } else {
                    vec![first, last]
                }
            }
        }
    };
    let request = b"GET /tunnelled HTTP/1.1\r\nHost: inner.example\r\n\r\n";
    let body = vec![b'x'; 1200];
    let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 2400\r\n\r\n".to_vec();
    response.extend_from_slice(&body);
    let (cs, ss) = (1000u32, 5000u32);
    let mut frames = Vec::new();
    frames.extend(tunnel(true, tcp(40000, 80, cs, 0, SYN, &[]), None));
    frames.extend(tunnel(
        false,
        tcp(80, 40000, ss, cs + 1, SYN | ACK, &[]),
        None,
    ));
    frames.extend(tunnel(true, tcp(40000, 80, cs + 1, ss + 1, ACK, &[]), None));
    frames.extend(tunnel(
        true,
        tcp(40000, 80, cs + 1, ss + 1, PSH_ACK, request),
        None,
    ));
    let r1 = response.len() as u32;
    frames.extend(tunnel(
        false,
        tcp(
            80,
            40000,
            ss + 1,
            cs + 1 + request.len() as u32,
            PSH_ACK,
            &response,
        ),
        Some((600, false)),
    ));
    frames.extend(tunnel(
        false,
        tcp(
            80,
            40000,
            ss + 1 + r1,
            cs + 1 + request.len() as u32,
            PSH_ACK,
            &body,
        ),
        Some((800, true)),
    ));
    frames.extend(tunnel(
        true,
        tcp(
            40000,
            80,
            cs + 1 + request.len() as u32,
            ss + 1 + r1 + body.len() as u32,
            FIN_ACK,
            &[],
        ),
        None,
    ));
    frames.extend(tunnel(
        false,
        tcp(
            80,
            40000,
            ss + 1 + r1 + body.len() as u32,
            cs + 2 + request.len() as u32,
            FIN_ACK,
            &[],
        ),
        None,
    ));
    // Plain flows between other hosts, between the tunnel's packets.
    let mut mixed = Vec::new();
    for (i, f) in frames.into_iter().enumerate() {
        mixed.push(f);
        let host = [192, 0, 2, i as u8 + 1];
        let udp = [0x13, 0x88, 0x00, 0x35, 0, 12, 0, 0, 1, 2, 3, 4];
        mixed.push(ethernet(&ipv4(
            host,
            [192, 0, 2, 200],
            17,
            7,
            (0, false),
            &udp,
        )));
    }
    mixed
}

/// The EVE records of the captures through `workers` workers, each without its `flow_id`,
/// sorted.
fn run(workers: usize, seed: u64) -> Vec<String> {
    let config = Config::default();
    let sink = Shared::default();
    let file = EveFile::start(sink.clone(), workers).expect("EVE thread");
    let host = Arc::new(tapwatch_detect::HostState::new());
    let ids = FlowIdSpace::random_shared(workers as u32);
    let mut pipeline: Vec<Worker<EveProducer>> = Vec::new();
    for i in 0..workers {
        let mut w = Worker::with_shared_engine(
            config.clone(),
            Some(file.producer()),
            engine(),
            Arc::clone(&host),
        )
        .expect("worker");
        w.use_flow_ids(ids.share(i as u32));
        w.leave_stats_to_driver();
        pipeline.push(w);
    }
    let mut finished = std::thread::scope(|scope| {
        let (mut dispatcher, queues) = Dispatcher::new(
            Affinity::with_seed(workers, seed),
            Backpressure::Wait,
            FragmentLimits::default(),
        );
        let handles =
            pool::spawn(scope, pipeline, queues, &PoolOptions::default()).expect("threads");
        let mut number = 0;
        for frame in tunnel_frames() {
            number += 1;
            let p = tapwatch_capture::RawPacket {
                ts: tapwatch_common::Timestamp::new(1_700_000_000, number as u32 * 1000),
                link: tapwatch_common::LinkType::Ethernet,
                data: &frame,
                orig_len: frame.len() as u32,
                interface: 0,
            };
            dispatcher.push(number, &p).expect("workers alive");
        }
        dispatcher.flush().expect("workers alive");
        for path in captures() {
            let mut reader = CaptureReader::open(path).expect("capture opens");
            while let Some(p) = reader.next_packet() {
                number += 1;
                dispatcher.push(number, &p).expect("workers alive");
                if number % BATCH == 0 {
                    dispatcher.flush().expect("workers alive");
                }
            }
        }
        dispatcher.close().expect("workers alive");
        handles
            .into_iter()
            .map(|h| h.join().expect("worker thread"))
            .collect::<Vec<_>>()
    });
    let mut counters = Counters::default();
    let mut tables = TableStats::default();
    let mut detect = tapwatch_detect::DetectStats::default();
    let mut now = tapwatch_common::Timestamp::default();
    for f in &finished {
        counters += f.worker.counters();
        tables += &f.worker.table_stats();
        detect += &f.worker.detect_stats().expect("detection runs");
        now = now.max(f.worker.now());
    }
    let first = finished.first_mut().expect("a worker");
    first
        .worker
        .write_stats_record(now, &stats_record(&counters, &tables, Some(detect)));
    first.worker.finish().expect("EVE written");
    drop(finished);
    file.finish().expect("EVE file written");
    let text = String::from_utf8(sink.0.lock().expect("lock").clone()).expect("utf-8");
    let mut records: Vec<String> = text
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).expect("JSON");
            if let Some(o) = v.as_object_mut() {
                o.remove("flow_id");
            }
            v.to_string()
        })
        .collect();
    records.sort();
    records
}

fn single() -> &'static [String] {
    static SINGLE: OnceLock<Vec<String>> = OnceLock::new();
    SINGLE.get_or_init(|| run(1, 0))
}

#[test]
fn the_single_worker_run_alerts_and_logs_flows() {
    let records = single();
    assert!(records
        .iter()
        .any(|r| r.contains("\"event_type\":\"alert\"")));
    assert!(records
        .iter()
        .any(|r| r.contains("\"event_type\":\"flow\"")));
    assert_eq!(
        records
            .iter()
            .filter(|r| r.contains("\"event_type\":\"stats\""))
            .count(),
        1
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn any_spread_of_flows_over_workers_merges_to_one_workers_output(
        workers in 1usize..=4,
        seed in any::<u64>(),
    ) {
        let merged = run(workers, seed);
        let single = single();
        prop_assert_eq!(merged.len(), single.len());
        prop_assert!(merged == single, "{} workers, seed {}: records differ", workers, seed);
    }
}
