//! `tapwatch-center bundle ...`: signing keys, building, signing, publishing and listing the
//! rule and IOC bundles the center hands to sensors (format and policy: `tapwatch-bundle`).
//!
//! Publishing applies the center's side of the sensors' policy, so that a bad bundle is
//! stopped before any sensor has to refuse it: it must be signed (every signature valid, and
//! by one of `--trusted-key` when given), whole, not empty, above the latest version of its
//! kind and channel, and not under `min_percent` of the latest's entries unless the operator
//! says so (`--allow-shrink`: a feed that really shrank).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use tapwatch_bundle::build::{self, BuildParams, IOC_FILE_NAME};
use tapwatch_bundle::ioc::{self, IocInputFormat};
use tapwatch_bundle::{Keyring, Kind, Limits, PublicKey, RawBundle, Role, SecretKey, Timestamp};

use crate::store::{BundleInfo, NewBundle, Store};

/// Writes a new key pair: `<prefix>.key` (mode 0600) and `<prefix>.pub`. Returns both paths
/// and the key id.
pub fn keygen(prefix: &Path) -> anyhow::Result<(PathBuf, PathBuf, String)> {
    let with = |ext: &str| {
        let mut p = prefix.as_os_str().to_owned();
        p.push(ext);
        PathBuf::from(p)
    };
    let (secret, public) = (with(".key"), with(".pub"));
    if let Some(dir) = prefix.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let key = SecretKey::generate()?;
    key.write_pair(&secret, &public)?;
    Ok((secret, public, key.public().id.to_string()))
}

/// What `bundle build` reports besides the bundle.
#[derive(Debug, Default)]
pub struct BuildNotes {
    /// Files of a rule directory left out (not a rule set's file).
    pub skipped: Vec<String>,
    /// IOC entries left out because they had expired.
    pub expired: usize,
}

/// The IOC input format of `path`: by `format` when given, else by its extension (`.csv`;
/// `.jsonl`, `.json`, `.ndjson`).
pub fn ioc_format(path: &Path, format: Option<IocInputFormat>) -> anyhow::Result<IocInputFormat> {
    if let Some(f) = format {
        return Ok(f);
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => Ok(IocInputFormat::Csv),
        Some("jsonl" | "json" | "ndjson") => Ok(IocInputFormat::JsonLines),
        _ => bail!(
            "{}: cannot tell the IOC format from the extension (.csv or .jsonl): use --input-format",
            path.display()
        ),
    }
}

/// Builds an unsigned bundle: a rule set from the directory `inputs[0]`, or an IOC set from
/// the IOC files `inputs`.
pub fn build(
    params: &BuildParams,
    inputs: &[PathBuf],
    format: Option<IocInputFormat>,
    limits: &Limits,
) -> anyhow::Result<(RawBundle, BuildNotes)> {
    let mut notes = BuildNotes::default();
    let files = match params.kind {
        Kind::Rules => {
            let [dir] = inputs else {
                bail!("a rule bundle is built from one directory (--from DIR)");
            };
            let (files, skipped) = build::rules_files_from_dir(dir, limits)?;
            notes.skipped = skipped;
            if !files.iter().any(|f| f.1 == Role::Rules) {
                bail!("{}: no .rules file", dir.display());
            }
            files
        }
        Kind::Ioc => {
            if inputs.is_empty() {
                bail!("an IOC bundle is built from one or more files (--from FILE ...)");
            }
            let mut entries = Vec::new();
            for path in inputs {
                let data = tapwatch_bundle::format::read_bounded(path, limits.max_content_bytes)?;
                let text = String::from_utf8(data)
                    .map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", path.display()))?;
                let parsed = ioc::parse_input(&text, ioc_format(path, format)?)
                    .with_context(|| path.display().to_string())?;
                entries.extend(parsed);
            }
            let (file, expired) = build::ioc_file(entries, params.created)?;
            notes.expired = expired;
            vec![(IOC_FILE_NAME.to_owned(), Role::Ioc, file)]
        }
    };
    Ok((build::assemble(params, files, limits)?, notes))
}

/// Adds a signature by each of `keys` to the bundle file `input`, written to `output`
/// (atomically; may be `input`).
pub fn sign(
    input: &Path,
    keys: &[PathBuf],
    output: &Path,
    limits: &Limits,
) -> anyhow::Result<Vec<String>> {
    let mut raw = RawBundle::read_file(input, limits)?;
    let mut ids = Vec::new();
    for k in keys {
        let key = SecretKey::load(k)?;
        key.sign(&mut raw)?;
        ids.push(key.public().id.to_string());
    }
    write_atomic(output, &raw.to_bytes())?;
    Ok(ids)
}

/// Writes `data` to `path` through a temporary file renamed over it.
pub fn write_atomic(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, data).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// How `publish` judges a bundle.
#[derive(Debug, Clone)]
pub struct PublishPolicy {
    /// When not empty, a signature by one of these keys is required.
    pub trusted: Keyring,
    /// Entries below this share of the latest published are refused (0: off).
    pub min_percent: u8,
    /// Publish even when under `min_percent`.
    pub allow_shrink: bool,
    /// Bounds on the bundle.
    pub limits: Limits,
}

/// Checks the bundle file `path` and stores it. Returns what was published.
pub fn publish(
    store: &mut dyn Store,
    path: &Path,
    policy: &PublishPolicy,
    now_us: i64,
) -> anyhow::Result<BundleInfo> {
    let data = tapwatch_bundle::format::read_bounded(path, policy.limits.max_bundle_bytes)?;
    let raw = RawBundle::parse(&data, &policy.limits)?;
    if raw.signatures.is_empty() {
        bail!("{}: unsigned: sign it first (bundle sign)", path.display());
    }
    for s in &raw.signatures {
        if !s.verifies(&raw.manifest_bytes) {
            bail!(
                "{}: the signature by key {} does not verify: the manifest was changed after signing",
                path.display(),
                s.key_id
            );
        }
    }
    if !policy.trusted.is_empty() {
        policy
            .trusted
            .verify(&raw)
            .with_context(|| format!("{}: not signed by a --trusted-key", path.display()))?;
    }
    raw.open_content()
        .with_context(|| format!("{}: content does not match its manifest", path.display()))?;
    let m = &raw.manifest;
    if m.entries == 0 {
        bail!("{}: empty bundle: refusing to publish it", path.display());
    }
    let kind = m.kind.as_str();
    if let Some(latest) = store.latest_bundle(kind, &m.channel)? {
        let shrunk = u128::from(m.entries) * 100
            < u128::from(latest.entries) * u128::from(policy.min_percent);
        if shrunk && !policy.allow_shrink && m.version > latest.version {
            bail!(
                "{}: {} entries is under {}% of the {} of version {} published: a lost or \
                 truncated feed? (--allow-shrink publishes it anyway)",
                path.display(),
                m.entries,
                policy.min_percent,
                latest.entries,
                latest.version
            );
        }
    }
    let manifest_sha256 = raw.manifest_sha256();
    let key_ids = raw
        .signatures
        .iter()
        .map(|s| s.key_id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let created_us = m.created.0.saturating_mul(1_000_000);
    store.publish_bundle(
        &NewBundle {
            kind,
            channel: &m.channel,
            version: m.version,
            created_us,
            entries: m.entries,
            manifest_sha256: &manifest_sha256,
            key_ids: &key_ids,
            data: &data,
        },
        now_us,
    )?;
    store
        .bundle_data(kind, &m.channel, m.version)?
        .filter(|d| *d == data)
        .context("the published bundle does not read back")?;
    Ok(BundleInfo {
        kind: kind.to_owned(),
        channel: m.channel.clone(),
        version: m.version,
        created_us,
        published_us: now_us,
        entries: m.entries,
        manifest_sha256,
        key_ids,
        size_bytes: data.len() as u64,
    })
}

/// A keyring of the public key files `paths`.
pub fn keyring(paths: &[PathBuf]) -> anyhow::Result<Keyring> {
    let mut k = Keyring::new();
    for p in paths {
        k.add(PublicKey::load(p)?);
    }
    Ok(k)
}

fn time_us(us: i64) -> String {
    Timestamp(us.div_euclid(1_000_000)).to_string()
}

/// Published bundles as an aligned table.
pub fn table(bundles: &[BundleInfo]) -> String {
    let mut s = format!(
        "{:<6} {:<16} {:>12} {:<20} {:<20} {:>9} {:>10}  {:<16} {}\n",
        "KIND",
        "CHANNEL",
        "VERSION",
        "CREATED",
        "PUBLISHED",
        "ENTRIES",
        "BYTES",
        "MANIFEST",
        "KEYS"
    );
    for b in bundles {
        let _ = writeln!(
            s,
            "{:<6} {:<16} {:>12} {:<20} {:<20} {:>9} {:>10}  {:<16} {}",
            b.kind,
            b.channel,
            b.version,
            time_us(b.created_us),
            time_us(b.published_us),
            b.entries,
            b.size_bytes,
            b.manifest_sha256.get(..16).unwrap_or(&b.manifest_sha256),
            b.key_ids
        );
    }
    s
}

/// A manifest summary for `build`, `sign` and `publish` output.
pub fn describe(raw: &RawBundle) -> String {
    let m = &raw.manifest;
    let mut s = format!(
        "{} bundle, channel {}, version {}, created {}: {} {} in {} files, {} bytes ({} compressed)\nmanifest sha256 {}\n",
        m.kind,
        m.channel,
        m.version,
        m.created,
        m.entries,
        if m.kind == Kind::Rules { "rules" } else { "entries" },
        m.files.len(),
        m.payload.content_bytes,
        m.payload.bytes,
        raw.manifest_sha256()
    );
    for sig in &raw.signatures {
        let _ = writeln!(s, "signed by key {}", sig.key_id);
    }
    if raw.signatures.is_empty() {
        s.push_str("unsigned\n");
    }
    s
}
