//! `tapwatch bundle verify` and `tapwatch check` on `[bundles]`, end to end with the real
//! binaries: bundles made, signed, published and fetched by `tapwatch-center bundle ...`,
//! judged by the sensor with its configuration's trusted keys, channels, thresholds and the
//! bundles in force.

mod center_support;

use std::path::Path;
use std::process::{Command, Output};

use center_support::{center_bin, sensor_bin};
use tapwatch_bundle::{BundleDir, Keyring, Kind, PublicKey};

fn run(bin: &Path, args: &[&str]) -> Output {
    Command::new(bin).args(args).output().expect("run")
}

fn center(args: &[&str]) -> String {
    let o = run(&center_bin(), args);
    assert!(
        o.status.success(),
        "tapwatch-center {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// `tapwatch bundle verify` with `args`: exit status and stdout.
fn verify(args: &[&str]) -> (i32, String) {
    let mut a = vec!["bundle", "verify"];
    a.extend_from_slice(args);
    let o = run(&sensor_bin(), &a);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Builds and signs a rule bundle of `rules` rules at `version` with `key`.
fn rules_bundle(
    dir: &Path,
    name: &str,
    version: u64,
    rules: usize,
    key: Option<&Path>,
) -> std::path::PathBuf {
    let src = dir.join(format!("src-{name}"));
    std::fs::create_dir_all(&src).unwrap();
    let text: String = (0..rules)
        .map(|i| {
            format!(
                "alert tcp any any -> any any (msg:\"r{i}\"; content:\"x{i}\"; sid:{};)\n",
                100 + i
            )
        })
        .collect();
    std::fs::write(src.join("local.rules"), text).unwrap();
    let out = dir.join(format!("{name}.twb"));
    let v = version.to_string();
    center(&[
        "bundle",
        "build",
        "--kind",
        "rules",
        "--from",
        s(&src),
        "--version",
        &v,
        "--out",
        s(&out),
    ]);
    if let Some(k) = key {
        center(&["bundle", "sign", s(&out), "--key", s(k)]);
    }
    out
}

#[test]
fn verify_accepts_the_centers_bundles_and_refuses_every_bad_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    center(&["bundle", "keygen", "--out", s(&dir.join("keys/center"))]);
    center(&["bundle", "keygen", "--out", s(&dir.join("keys/rogue"))]);
    let key = dir.join("keys/center.key");
    let rogue = dir.join("keys/rogue.key");
    let public = PublicKey::load(&dir.join("keys/center.pub")).unwrap();

    // Published at the center and fetched back: the file a sensor gets.
    let v1 = rules_bundle(dir, "v1", 1, 10, Some(&key));
    let center_cfg = dir.join("center.toml");
    std::fs::write(
        &center_cfg,
        format!("[storage]\npath = \"{}\"\n", s(&dir.join("c.db"))),
    )
    .unwrap();
    center(&["bundle", "publish", s(&v1), "--config", s(&center_cfg)]);
    let fetched = dir.join("fetched.twb");
    center(&[
        "bundle",
        "fetch",
        "--config",
        s(&center_cfg),
        "--kind",
        "rules",
        "--out",
        s(&fetched),
    ]);

    let cfg = dir.join("tapwatch.toml");
    std::fs::write(
        &cfg,
        "[bundles]\ntrusted_keys = [{ file = \"keys/center.pub\" }]\ndir = \"in-force\"\n",
    )
    .unwrap();
    let (code, out) = verify(&[s(&fetched), "--config", s(&cfg)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("version:         1"), "{out}");
    assert!(out.contains("entries:         10 rules"), "{out}");
    assert!(
        out.contains(&format!("key {} (trusted, valid)", public.id)),
        "{out}"
    );
    assert!(out.contains("in force:        none"), "{out}");
    assert!(out.ends_with(": accepted\n"), "{out}");

    // A tampered copy: one byte of the payload, then one byte of the manifest.
    let bytes = std::fs::read(&fetched).unwrap();
    let tampered = dir.join("tampered.twb");
    let mut t = bytes.clone();
    let last = t.len() - 1;
    t[last] ^= 0x40;
    std::fs::write(&tampered, &t).unwrap();
    let (code, out) = verify(&[s(&tampered), "--config", s(&cfg)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("refused (tampered)"), "{out}");
    let pos = bytes
        .windows(11)
        .position(|w| w == b"\"version\": ")
        .unwrap()
        + 11;
    let mut t = bytes.clone();
    t[pos] = b'9';
    std::fs::write(&tampered, &t).unwrap();
    let (code, out) = verify(&[s(&tampered), "--config", s(&cfg)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("refused (bad_signature)"), "{out}");
    assert!(out.contains("INVALID"), "{out}");

    // Other keys, no signature, no keys at all.
    let by_rogue = rules_bundle(dir, "rogue", 5, 10, Some(&rogue));
    let (code, out) = verify(&[s(&by_rogue), "--config", s(&cfg)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("refused (untrusted_key)"), "{out}");
    assert!(out.contains("(not trusted, valid)"), "{out}");
    let unsigned = rules_bundle(dir, "unsigned", 5, 10, None);
    let (code, out) = verify(&[s(&unsigned), "--config", s(&cfg)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("refused (unsigned)"), "{out}");
    let (code, out) = verify(&[s(&fetched)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("refused (no_trusted_keys)"), "{out}");
    let (code, out) = verify(&[s(&fetched), "--key", s(&dir.join("keys/center.pub"))]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = verify(&[s(&dir.join("keys/center.pub")), "--config", s(&cfg)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("refused (malformed)"), "{out}");
    let (code, out) = verify(&[s(&dir.join("missing.twb")), "--config", s(&cfg)]);
    assert_eq!(code, 2, "{out}");

    // Version 2 in force: version 1 is a replay, a version 3 with 2 rules is shrunk, a
    // version 3 with 10 is taken.
    let v2 = rules_bundle(dir, "v2", 2, 10, Some(&key));
    let mut ring = Keyring::new();
    ring.add(public.clone());
    let cfg_parsed = tapwatch_pipeline::config::Config::load(&cfg).unwrap();
    let store = BundleDir::new(dir.join("in-force"));
    store
        .offer(
            &std::fs::read(&v2).unwrap(),
            &ring,
            &cfg_parsed.bundles.policy(Kind::Rules),
        )
        .unwrap()
        .expect("v2 accepted");
    let (code, out) = verify(&[s(&fetched), "--config", s(&cfg), "--json"]);
    assert_eq!(code, 1, "{out}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["verdict"], "refused");
    assert_eq!(j["refusal"]["code"], "not_newer");
    assert_eq!(j["in_force"]["version"], 2);
    assert_eq!(j["manifest"]["version"], 1);
    let small = rules_bundle(dir, "v3small", 3, 2, Some(&key));
    let (code, out) = verify(&[s(&small), "--config", s(&cfg)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("refused (shrunk)"), "{out}");
    let v3 = rules_bundle(dir, "v3", 3, 10, Some(&key));
    let (code, out) = verify(&[s(&v3), "--config", s(&cfg)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("in force:        version 2"), "{out}");

    // An inline key, another channel, min_percent 0.
    let cfg2 = dir.join("inline.toml");
    std::fs::write(
        &cfg2,
        format!(
            "[bundles]\ntrusted_keys = [{{ key_id = \"{}\", public_key = \"{}\" }}]\ndir = \"in-force\"\n\
             rules_channel = \"test\"\n",
            public.id,
            public.to_base64()
        ),
    )
    .unwrap();
    let (code, out) = verify(&[s(&v3), "--config", s(&cfg2)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("refused (channel_mismatch)"), "{out}");
    std::fs::write(
        &cfg2,
        format!(
            "[bundles]\ntrusted_keys = [{{ key_id = \"0000000000000000\", public_key = \"{}\" }}]\n",
            public.to_base64()
        ),
    )
    .unwrap();
    let (code, out) = verify(&[s(&v3), "--config", s(&cfg2)]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("is not the id of this key"), "{out}");
    assert!(out.contains("line 2"), "{out}");
}

#[test]
fn check_reports_bundle_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    center(&["bundle", "keygen", "--out", s(&dir.join("center"))]);
    let check = |text: &str| {
        let cfg = dir.join("t.toml");
        std::fs::write(&cfg, text).unwrap();
        let o = run(&sensor_bin(), &["check", "--config", s(&cfg)]);
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    std::fs::create_dir(dir.join("drop")).unwrap();
    let (code, out) = check(
        "[bundles]\ntrusted_keys = [{ file = \"center.pub\" }]\ndir = \"in-force\"\ndrop_dir = \"drop\"\n",
    );
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("[bundles]"), "{out}");
    let (code, out) =
        check("[bundles]\ntrusted_keys = [{ file = \"missing.pub\" }]\ndir = \"in-force\"\n");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("error: [bundles] trusted_keys"), "{out}");
    let (code, out) = check("[bundles]\ndrop_dir = \"nowhere\"\ndir = \"in-force\"\n");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("trusted_keys is empty"), "{out}");
    assert!(out.contains("drop_dir"), "{out}");
    // A damaged bundle in force.
    std::fs::create_dir_all(dir.join("in-force")).unwrap();
    std::fs::write(dir.join("in-force/rules-national.twb"), b"TWBUNDLE garbage").unwrap();
    let (code, out) =
        check("[bundles]\ntrusted_keys = [{ file = \"center.pub\" }]\ndir = \"in-force\"\n");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the rules bundle in force does not read"),
        "{out}"
    );
}
