//! Signed bundles (`tapwatch-bundle`): the reader, the content checks and the acceptance
//! policy on untrusted bytes, within small limits.

use tapwatch_bundle::{Keyring, Kind, Limits, Policy, RawBundle, SecretKey};

/// Small limits, so that the target runs fast and a limit is reached often.
pub(crate) fn limits() -> Limits {
    Limits {
        max_bundle_bytes: 64 << 10,
        max_manifest_bytes: 16 << 10,
        max_content_bytes: 256 << 10,
        max_files: 32,
    }
}

/// The key the built-in seeds are signed with, trusted by the target's keyring.
pub(crate) fn seed_key() -> SecretKey {
    SecretKey::from_seed(&[7; 32])
}

/// Reads `data` as a bundle file and checks: a bundle that reads writes back to the same
/// bytes; its manifest respects the limits; opened content has the manifest's files, sizes
/// and total; the acceptance policy returns a verdict (never panics), and accepts only what
/// reads and opens. The IOC readers run on the same bytes as text.
pub fn bundle(data: &[u8]) {
    let l = limits();
    let mut ring = Keyring::new();
    ring.add(seed_key().public());
    let parsed = RawBundle::parse(data, &l);
    if let Ok(raw) = &parsed {
        assert_eq!(
            raw.to_bytes(),
            data,
            "a bundle that reads writes back to its bytes"
        );
        let m = &raw.manifest;
        assert!(m.files.len() <= l.max_files);
        assert!(m.payload.content_bytes <= l.max_content_bytes);
        assert_eq!(m.payload.bytes, raw.payload.len() as u64);
        if let Ok(files) = raw.open_content() {
            assert_eq!(files.len(), m.files.len());
            let total: u64 = files.iter().map(|f| f.data.len() as u64).sum();
            assert_eq!(total, m.payload.content_bytes);
            for (f, e) in files.iter().zip(&m.files) {
                assert_eq!(f.data.len() as u64, e.bytes);
            }
        }
    }
    for kind in [Kind::Rules, Kind::Ioc] {
        let policy = Policy {
            kind,
            channel: "national".into(),
            min_percent: 50,
            limits: l,
        };
        if let Ok(a) = tapwatch_bundle::check(data, &ring, &policy, None) {
            let raw = parsed.as_ref().expect("an accepted bundle reads");
            assert_eq!(a.bundle.manifest, raw.manifest);
            assert!(a.bundle.manifest.entries > 0);
            assert_eq!(a.bundle.manifest.kind, kind);
        }
    }
    let text = String::from_utf8_lossy(data);
    let _ = tapwatch_bundle::ioc::parse_csv(&text);
    if let Ok(entries) = tapwatch_bundle::ioc::parse_json_lines(&text) {
        for e in entries {
            // A normalised entry is its own normal form.
            assert_eq!(e.clone().normalize().as_ref(), Ok(&e));
        }
    }
}
