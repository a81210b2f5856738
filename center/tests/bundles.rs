//! `tapwatch-center bundle ...` end to end with the real binary: keygen, build, sign,
//! publish, list and fetch into SQLite and into a throwaway PostgreSQL server, and every
//! refusal of `publish`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use tapwatch_bundle::{Keyring, Kind, Limits, Policy, PublicKey, RawBundle};
use tapwatch_center::store::postgres::PgStore;
use tapwatch_center::store::sqlite::SqliteStore;
use tapwatch_center::store::{NewBundle, Store, StoreError};

fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("run tapwatch-center")
}

fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf-8")
}

fn refused(args: &[&str], why: &str) {
    let o = run(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{args:?} succeeded");
    assert!(err.contains(why), "{args:?}: expected {why:?} in: {err}");
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn write_rules(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir.join("et")).unwrap();
    let mut rules = String::from("# rules\n");
    for i in 0..n {
        rules.push_str(&format!(
            "alert dns any any -> any any (msg:\"q{i}\"; dns.query; content:\"bad{i}\"; sid:{};)\n",
            2_000_000 + i
        ));
    }
    std::fs::write(dir.join("et/emerging-dns.rules"), rules).unwrap();
    std::fs::write(
        dir.join("classification.config"),
        "config classification: trojan-activity,A Network Trojan was detected,1\n",
    )
    .unwrap();
    std::fs::write(dir.join("LICENSE"), "not a rule file\n").unwrap();
}

/// The whole flow against the store the configuration `config` names.
fn flow(dir: &Path, config: &Path) {
    let keys = dir.join("keys");
    let out = ok(&["bundle", "keygen", "--out", p(&keys.join("center-2026"))]);
    assert!(out.contains("mode 0600"), "{out}");
    let secret = keys.join("center-2026.key");
    let public = keys.join("center-2026.pub");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let pubkey = PublicKey::load(&public).expect("public key file");
    refused(
        &["bundle", "keygen", "--out", p(&keys.join("center-2026"))],
        "exists already",
    );

    let rules = dir.join("rules");
    write_rules(&rules, 100);
    let b1 = dir.join("rules-1.twb");
    let out = ok(&[
        "bundle",
        "build",
        "--kind",
        "rules",
        "--from",
        p(&rules),
        "--version",
        "1",
        "--out",
        p(&b1),
    ]);
    assert!(out.contains("100 rules in 2 files"), "{out}");
    assert!(
        out.contains("left out (not a rule set's file): LICENSE"),
        "{out}"
    );
    assert!(out.contains("unsigned"), "{out}");
    let cfg = p(config);
    refused(&["bundle", "publish", p(&b1), "--config", cfg], "unsigned");

    let out = ok(&["bundle", "sign", p(&b1), "--key", p(&secret)]);
    assert!(
        out.contains(&format!("signed by key {}", pubkey.id)),
        "{out}"
    );
    let signed = std::fs::read(&b1).unwrap();
    let raw = RawBundle::parse(&signed, &Limits::default()).expect("reads");
    let mut ring = Keyring::new();
    ring.add(pubkey.clone());
    let policy = Policy {
        kind: Kind::Rules,
        channel: "national".into(),
        min_percent: 50,
        limits: Limits::default(),
    };
    let accepted = tapwatch_bundle::check(&signed, &ring, &policy, None).expect("accepted");
    assert_eq!(accepted.bundle.manifest.entries, 100);
    assert_eq!(accepted.files.len(), 2);

    // A tampered copy is refused by publish.
    let tampered = dir.join("tampered.twb");
    let mut t = signed.clone();
    let last = t.len() - 1;
    t[last] ^= 1;
    std::fs::write(&tampered, &t).unwrap();
    refused(
        &["bundle", "publish", p(&tampered), "--config", cfg],
        "content does not match its manifest",
    );
    // Signed by another key than --trusted-key requires.
    let other = dir.join("other");
    ok(&["bundle", "keygen", "--out", p(&other)]);
    let other_pub = dir.join("other.pub");
    refused(
        &[
            "bundle",
            "publish",
            p(&b1),
            "--config",
            cfg,
            "--trusted-key",
            p(&other_pub),
        ],
        "not signed by a --trusted-key",
    );

    let out = ok(&[
        "bundle",
        "publish",
        p(&b1),
        "--config",
        cfg,
        "--trusted-key",
        p(&public),
    ]);
    assert!(out.contains("published rules bundle version 1"), "{out}");
    assert!(out.contains(&raw.manifest_sha256()), "{out}");
    refused(
        &["bundle", "publish", p(&b1), "--config", cfg],
        "not above the latest",
    );

    // An empty rule set, and one under half of the latest.
    let empty_dir = dir.join("empty");
    write_rules(&empty_dir, 0);
    let empty = dir.join("empty.twb");
    ok(&[
        "bundle",
        "build",
        "--kind",
        "rules",
        "--from",
        p(&empty_dir),
        "--version",
        "2",
        "--out",
        p(&empty),
    ]);
    ok(&["bundle", "sign", p(&empty), "--key", p(&secret)]);
    refused(
        &["bundle", "publish", p(&empty), "--config", cfg],
        "empty bundle",
    );
    let small_dir = dir.join("small");
    write_rules(&small_dir, 40);
    let small = dir.join("small.twb");
    ok(&[
        "bundle",
        "build",
        "--kind",
        "rules",
        "--from",
        p(&small_dir),
        "--version",
        "2",
        "--out",
        p(&small),
    ]);
    ok(&[
        "bundle",
        "sign",
        p(&small),
        "--key",
        p(&secret),
        "--key",
        p(&dir.join("other.key")),
    ]);
    refused(
        &["bundle", "publish", p(&small), "--config", cfg],
        "under 50%",
    );
    ok(&[
        "bundle",
        "publish",
        p(&small),
        "--config",
        cfg,
        "--allow-shrink",
    ]);

    // IOCs from CSV and JSON lines.
    let csv = dir.join("feed.csv");
    std::fs::write(
        &csv,
        "type,value,source,confidence,first_seen,expires\n\
         ip,192.0.2.0/24,vncert,80,2026-12-01T00:00:00Z,\n\
         domain,Evil.Example,vncert,90,2026-12-01,2099-01-01\n\
         md5,D41D8CD98F00B204E9800998ECF8427E,vt,100,2026-12-01,\n\
         ip,198.51.100.7,old,10,2020-01-01,2020-06-01\n",
    )
    .unwrap();
    let jsonl = dir.join("extra.jsonl");
    std::fs::write(
        &jsonl,
        "{\"type\":\"ja3\",\"value\":\"e7d705a3286e19ea42f587b344ee6865\",\"source\":\"lab\",\"confidence\":60,\"first_seen\":\"2026-12-01T00:00:00Z\"}\n",
    )
    .unwrap();
    let ioc = dir.join("ioc.twb");
    let out = ok(&[
        "bundle",
        "build",
        "--kind",
        "ioc",
        "--from",
        p(&csv),
        "--from",
        p(&jsonl),
        "--channel",
        "sector-energy",
        "--out",
        p(&ioc),
    ]);
    assert!(out.contains("4 entries"), "{out}");
    assert!(out.contains("left out: 1 expired IOC entries"), "{out}");
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "type,value,source,confidence,first_seen,expires\nip,300.1.1.1,x,1,2026-01-01,\n",
    )
    .unwrap();
    refused(
        &[
            "bundle",
            "build",
            "--kind",
            "ioc",
            "--from",
            p(&bad),
            "--out",
            p(&dir.join("bad.twb")),
        ],
        "line 2",
    );
    ok(&["bundle", "sign", p(&ioc), "--key", p(&secret)]);
    ok(&["bundle", "publish", p(&ioc), "--config", cfg]);

    let list = ok(&["bundle", "list", "--config", cfg]);
    assert_eq!(list.lines().count(), 4, "{list}");
    assert!(list.contains("sector-energy"), "{list}");
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "bundle", "list", "--config", cfg, "--json", "--kind", "rules",
    ]))
    .unwrap();
    let rows = json["bundles"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["version"], 1);
    assert_eq!(rows[0]["entries"], 100);
    assert_eq!(rows[0]["key_ids"], pubkey.id.to_string());
    assert_eq!(rows[1]["version"], 2);
    assert_eq!(rows[1]["key_ids"].as_str().unwrap().split(',').count(), 2);

    // Fetch gives back the very bytes published.
    let fetched = dir.join("fetched.twb");
    ok(&[
        "bundle",
        "fetch",
        "--config",
        cfg,
        "--kind",
        "rules",
        "--version",
        "1",
        "--out",
        p(&fetched),
    ]);
    assert_eq!(std::fs::read(&fetched).unwrap(), signed);
    ok(&[
        "bundle",
        "fetch",
        "--config",
        cfg,
        "--kind",
        "ioc",
        "--channel",
        "sector-energy",
        "--out",
        p(&fetched),
    ]);
    assert_eq!(
        std::fs::read(&fetched).unwrap(),
        std::fs::read(&ioc).unwrap()
    );
    refused(
        &[
            "bundle",
            "fetch",
            "--config",
            cfg,
            "--kind",
            "ioc",
            "--out",
            p(&fetched),
        ],
        "no ioc bundle published on channel national",
    );
}

#[test]
fn bundle_cli_on_sqlite() {
    let dir = TempDir::new("bundles");
    let config = dir.path().join("center.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\npath = \"{}\"\n",
            dir.path().join("center.db").display()
        ),
    )
    .unwrap();
    flow(dir.path(), &config);
}

#[test]
fn bundle_cli_on_postgres() {
    let Some(pg) = Postgres::start() else { return };
    let dir = TempDir::new("bundles-pg");
    let config = dir.path().join("center.toml");
    std::fs::write(
        &config,
        format!("[storage]\nkind = \"postgres\"\nurl = \"{}\"\n", pg.url),
    )
    .unwrap();
    flow(dir.path(), &config);
}

fn new_bundle<'a>(channel: &'a str, version: u64, data: &'a [u8]) -> NewBundle<'a> {
    NewBundle {
        kind: "rules",
        channel,
        version,
        created_us: 1,
        entries: 10,
        manifest_sha256: "ab",
        key_ids: "k",
        data,
    }
}

/// The store's rules for bundles, the same on both back-ends.
fn store_rules(s: &mut dyn Store) {
    s.publish_bundle(&new_bundle("a", 5, b"five"), 100).unwrap();
    s.publish_bundle(&new_bundle("b", 1, b"one"), 100).unwrap();
    for v in [5, 4] {
        match s.publish_bundle(&new_bundle("a", v, b"x"), 100) {
            Err(StoreError::BundleNotNewer { latest: 5, .. }) => {}
            other => panic!("version {v}: {other:?}"),
        }
    }
    s.publish_bundle(&new_bundle("a", 1 << 40, b"big"), 100)
        .unwrap();
    assert!(matches!(
        s.publish_bundle(&new_bundle("a", u64::MAX, b"x"), 100),
        Err(StoreError::OutOfRange(_))
    ));
    let all = s.bundles(None, None).unwrap();
    assert_eq!(
        all.iter()
            .map(|b| (b.channel.as_str(), b.version))
            .collect::<Vec<_>>(),
        [("a", 5), ("a", 1 << 40), ("b", 1)]
    );
    assert_eq!(
        s.latest_bundle("rules", "a").unwrap().unwrap().version,
        1 << 40
    );
    assert_eq!(s.latest_bundle("ioc", "a").unwrap(), None);
    assert_eq!(
        s.bundle_data("rules", "a", 5).unwrap().as_deref(),
        Some(&b"five"[..])
    );
    assert_eq!(s.bundle_data("rules", "a", 6).unwrap(), None);
    assert_eq!(
        s.bundles(Some("rules"), Some("b")).unwrap()[0].size_bytes,
        3
    );
}

#[test]
fn bundle_table_on_sqlite_including_a_database_made_before_it() {
    let dir = TempDir::new("bundles-store");
    let path = dir.path().join("old.db");
    // A database of the schema before bundles: the table is added when the store opens it.
    {
        let s = SqliteStore::open(&path, Default::default()).unwrap();
        drop(s);
        let c = rusqlite_conn(&path);
        c.execute_batch("DROP TABLE bundles").unwrap();
    }
    let mut s = SqliteStore::open(&path, Default::default()).unwrap();
    store_rules(&mut s);
}

fn rusqlite_conn(path: &PathBuf) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

#[test]
fn bundle_table_on_postgres() {
    let Some(pg) = Postgres::start() else { return };
    {
        let mut s = PgStore::connect(&pg.url).unwrap();
        store_rules(&mut s);
    }
    // Opening again keeps what is stored (the schema statement is idempotent).
    let mut s = PgStore::connect(&pg.url).unwrap();
    assert_eq!(s.bundles(None, None).unwrap().len(), 3);
}
