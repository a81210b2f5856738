//! Test helpers: a CA in a temp dir, the real `tapwatch-center serve` process, a real tonic
//! client over mutual TLS, and a throwaway PostgreSQL server.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use prost::Message as _;
use tapwatch_proto::batch::encode_batch;
use tapwatch_proto::v1::sensor_link_client::SensorLinkClient;
use tapwatch_proto::v1::{
    center_message, sensor_message, Alert, AlertBatch, CenterMessage, Compression, Hello,
    SensorMessage,
};
use tokio::sync::mpsc;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

// Not every test file uses all three.
#[allow(unused_imports)]
pub use tapwatch_testkit::{free_port, Postgres, TempDir};

/// A PKI: the center's CA with sensors `sensor-a` and `sensor-b`, and another CA with a
/// `sensor-a` of its own.
pub struct Pki {
    pub dir: TempDir,
}

impl Pki {
    pub fn new() -> Self {
        let dir = TempDir::new("pki");
        let pki = dir.path().join("pki");
        tapwatch_center::ca::init(&pki, &["localhost".into()], "test CA").expect("ca init");
        for s in ["sensor-a", "sensor-b"] {
            tapwatch_center::ca::issue_sensor(&pki, s).expect("issue");
        }
        let other = dir.path().join("other");
        tapwatch_center::ca::init(&other, &["localhost".into()], "rogue CA").expect("ca init");
        tapwatch_center::ca::issue_sensor(&other, "sensor-a").expect("issue");
        Self { dir }
    }
    pub fn pki(&self) -> PathBuf {
        self.dir.path().join("pki")
    }
    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.pki().join("ca.pem")).expect("ca")
    }
    pub fn sensor(&self, id: &str) -> (Vec<u8>, Vec<u8>) {
        self.sensor_in("pki", id)
    }
    pub fn sensor_in(&self, ca: &str, id: &str) -> (Vec<u8>, Vec<u8>) {
        let d = self.dir.path().join(ca).join("sensors");
        (
            std::fs::read(d.join(format!("{id}.pem"))).expect("cert"),
            std::fs::read(d.join(format!("{id}.key"))).expect("key"),
        )
    }
}

/// A running `tapwatch-center serve`.
pub struct Center {
    pub child: Child,
    pub grpc: SocketAddr,
    pub api: Option<SocketAddr>,
    pub config: PathBuf,
    pub log: std_mpsc::Receiver<String>,
}

/// Writes a config into `dir` and returns its path.
pub fn write_config(
    dir: &Path,
    pki: &Path,
    grpc_port: u16,
    storage: &str,
    extra_server: &str,
) -> PathBuf {
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:{grpc_port}\"\nca_cert = \"{ca}\"\nserver_cert = \"{sc}\"\nserver_key = \"{sk}\"\n{extra_server}\n\
         [storage]\n{storage}\n[api]\nlisten = \"127.0.0.1:0\"\n",
        ca = pki.join("ca.pem").display(),
        sc = pki.join("server.pem").display(),
        sk = pki.join("server.key").display(),
    );
    let p = dir.join("center.toml");
    std::fs::write(&p, text).expect("config");
    p
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tapwatch-center")
}

impl Center {
    /// Starts the binary and waits for its listening lines.
    pub fn start(config: &Path) -> Self {
        let mut child = Command::new(bin())
            .args(["serve", "--config"])
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn center");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std_mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[center] {line}");
                if tx.send(line).is_err() {
                    // keep draining so the child never blocks on a full pipe
                }
            }
        });
        let mut grpc = None;
        let mut api = None;
        while grpc.is_none() {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .expect("center did not start");
            if let Some(rest) = line.split("api listening on http://").nth(1) {
                api = rest.trim().parse().ok();
            }
            if let Some(rest) = line.split("grpc listening on ").nth(1) {
                grpc = rest.split_whitespace().next().and_then(|a| a.parse().ok());
            }
        }
        Self {
            child,
            grpc: grpc.expect("grpc addr"),
            api,
            config: config.to_owned(),
            log: rx,
        }
    }

    /// kill -9.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Log lines so far.
    pub fn drain_log(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }
}

impl Drop for Center {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A channel to the center over mutual TLS (or without a client certificate).
pub async fn channel(
    addr: SocketAddr,
    ca: &[u8],
    client: Option<&(Vec<u8>, Vec<u8>)>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    if let Some((c, k)) = client {
        tls = tls.identity(Identity::from_pem(c, k));
    }
    Endpoint::from_shared(format!("https://{addr}"))?
        .tls_config(tls)?
        .connect_timeout(Duration::from_secs(10))
        .connect()
        .await
}

/// An open `Link` stream.
pub struct Link {
    pub tx: mpsc::Sender<SensorMessage>,
    pub rx: tonic::Streaming<CenterMessage>,
}

impl Link {
    pub async fn open(ch: Channel) -> Result<Self, tonic::Status> {
        let mut client = SensorLinkClient::new(ch).max_encoding_message_size(256 << 20);
        let (tx, rx) = mpsc::channel(1024);
        let resp = client
            .link(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await?;
        Ok(Self {
            tx,
            rx: resp.into_inner(),
        })
    }

    pub async fn send(&self, m: sensor_message::Msg) {
        let _ = self.tx.send(SensorMessage { msg: Some(m) }).await;
    }

    /// The next message, or None at the end of the stream / on a stream error.
    pub async fn next(&mut self) -> Result<Option<center_message::Msg>, tonic::Status> {
        match tokio::time::timeout(Duration::from_secs(60), self.rx.message()).await {
            Ok(r) => r.map(|m| m.and_then(|m| m.msg)),
            Err(_) => Err(tonic::Status::deadline_exceeded("no answer in 60 s")),
        }
    }

    /// Sends Hello and returns the first Ack's highest contiguous seq.
    pub async fn hello(&mut self, id: &str) -> Result<u64, String> {
        self.send(sensor_message::Msg::Hello(hello(id))).await;
        match self.next().await {
            Ok(Some(center_message::Msg::Ack(a))) => Ok(a.highest_contiguous_seq),
            other => Err(format!("{other:?}")),
        }
    }
}

pub fn hello(id: &str) -> Hello {
    Hello {
        sensor_id: id.into(),
        software_version: "tapwatch-test 0.1".into(),
        ruleset_id: "et-open-test".into(),
        ruleset_sha256: "00".repeat(32),
        capabilities: vec!["alerts".into(), "zstd".into()],
        protocol_version: tapwatch_proto::PROTOCOL_VERSION,
        hostname: "test".into(),
    }
}

/// Alert number `n` (flow_id = n makes every alert distinct).
pub fn alert(n: u64) -> Alert {
    Alert {
        timestamp_us: 1_700_000_000_000_000 + n as i64,
        flow_id: n,
        gid: 1,
        sid: 2_000_000 + (n % 13) as u32,
        rev: 1,
        action: "allowed".into(),
        severity: 1 + (n % 3) as u32,
        category: "A Network Trojan was detected".into(),
        signature: format!("ET TEST signature {}", n % 13),
        src_ip: vec![10, 0, (n >> 8) as u8, n as u8],
        dst_ip: vec![192, 0, 2, 1],
        src_port: 40_000 + (n % 1000) as u32,
        dst_port: 80,
        ip_protocol: 6,
        proto: "TCP".into(),
        direction: 1,
        app_proto: "http".into(),
        ip_version: 4,
        ..Alert::default()
    }
}

/// An AlertBatch of alerts `first..first+n` with seq `seq`.
pub fn batch(sensor: &str, seq: u64, first: u64, n: u64) -> AlertBatch {
    let alerts: Vec<Alert> = (first..first + n).map(alert).collect();
    let payload = encode_batch(&alerts, Compression::Zstd, 3, None).expect("encode");
    AlertBatch {
        sensor_id: sensor.into(),
        seq,
        count: n as u32,
        first_ts_us: alerts.first().map_or(0, |a| a.timestamp_us),
        last_ts_us: alerts.last().map_or(0, |a| a.timestamp_us),
        compression: Compression::Zstd as i32,
        dictionary_id: 0,
        payload,
    }
}

pub fn size_of(m: &SensorMessage) -> usize {
    m.encoded_len()
}

/// `tapwatch-center ARGS` → stdout (panics on failure with stderr).
pub fn cli(args: &[&str]) -> String {
    let out = Command::new(bin()).args(args).output().expect("run cli");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

/// A plain HTTP/1.1 GET → (status, body).
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect api");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut buf = String::new();
    s.read_to_string(&mut buf).expect("read");
    let status = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
