//! `tapwatch bundle verify FILE`: what a signed rule or IOC bundle holds and whether this
//! sensor would take it, by the same policy it applies to bundles from the center or its
//! drop directory (`tapwatch_bundle::policy`, `[bundles]`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use tapwatch_bundle::format::read_bounded;
use tapwatch_bundle::policy::check_raw;
use tapwatch_bundle::{BundleDir, PublicKey, RawBundle, ReadError, Refusal};
use tapwatch_pipeline::config::Config;

/// `tapwatch bundle verify` arguments.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The bundle file (.twb).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The sensor's configuration: its [bundles] trusted keys, channels, thresholds and the
    /// bundles in force. Without it, only keys given with --key are trusted and nothing is in
    /// force.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also trust this public key file (repeatable).
    #[arg(long = "key", value_name = "PUBFILE")]
    pub keys: Vec<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `tapwatch bundle verify`: exit 0 when the bundle would be accepted, 1 when refused.
pub fn verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let config = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    let config_dir = args.config.as_deref().and_then(Path::parent);
    let b = &config.bundles;
    let mut keyring = b.keyring(config_dir).context("[bundles] trusted_keys")?;
    for k in &args.keys {
        keyring.add(PublicKey::load(k)?);
    }
    let limits = b.limits();
    let data = match read_bounded(&args.file, limits.max_bundle_bytes) {
        Ok(d) => Ok(d),
        Err(ReadError::Io { path, source }) => {
            return Err(anyhow::anyhow!("{}: {source}", path.display()))
        }
        Err(ReadError::Format(e)) => Err(Refusal::Malformed(e)),
    };
    let raw = data.and_then(|d| RawBundle::parse(&d, &limits).map_err(Refusal::Malformed));
    let raw = match raw {
        Ok(r) => r,
        Err(refusal) => return report(args, None, None, Err(&refusal)),
    };
    let policy = b.policy(raw.manifest.kind);
    let dir = BundleDir::new(b.resolved_dir(config_dir));
    let in_force = if args.config.is_some() {
        dir.in_force(policy.kind, &policy.channel, &limits)?
    } else {
        None
    };
    let mut sigs = Vec::new();
    for s in &raw.signatures {
        sigs.push(serde_json::json!({
            "key_id": s.key_id.to_string(),
            "trusted": keyring.ids().any(|id| id == s.key_id),
            "valid": s.verifies(&raw.manifest_bytes),
        }));
    }
    let described = describe(&raw, &sigs, in_force.as_ref());
    let json_head = serde_json::json!({
        "file": args.file.display().to_string(),
        "manifest": raw.manifest,
        "manifest_sha256": raw.manifest_sha256(),
        "signatures": sigs,
        "channel_followed": policy.channel,
        "in_force": in_force.as_ref().map(|f| serde_json::json!({
            "version": f.version, "entries": f.entries, "created": f.created.to_string(),
            "manifest_sha256": f.manifest_sha256,
        })),
    });
    let verdict = check_raw(raw, &keyring, &policy, in_force.as_ref());
    report(
        args,
        Some(described),
        Some(json_head),
        verdict.as_ref().map(|_| ()),
    )
}

fn refusal_json(r: &Refusal) -> serde_json::Value {
    serde_json::json!({ "code": r.code(), "reason": r.to_string() })
}

fn report(
    args: &VerifyArgs,
    text: Option<String>,
    head: Option<serde_json::Value>,
    verdict: Result<(), &Refusal>,
) -> anyhow::Result<ExitCode> {
    if args.json {
        let mut v =
            head.unwrap_or_else(|| serde_json::json!({ "file": args.file.display().to_string() }));
        match verdict {
            Ok(()) => v["verdict"] = "accepted".into(),
            Err(r) => {
                v["verdict"] = "refused".into();
                v["refusal"] = refusal_json(r);
            }
        }
        println!("{v:#}");
    } else {
        print!("{}", text.unwrap_or_default());
        match verdict {
            Ok(()) => println!("{}: accepted", args.file.display()),
            Err(r) => println!("{}: refused ({}): {r}", args.file.display(), r.code()),
        }
    }
    Ok(if verdict.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn describe(
    raw: &RawBundle,
    sigs: &[serde_json::Value],
    in_force: Option<&tapwatch_bundle::InForce>,
) -> String {
    let m = &raw.manifest;
    let mut s = String::new();
    let _ = writeln!(s, "kind:            {}", m.kind);
    let _ = writeln!(s, "channel:         {}", m.channel);
    let _ = writeln!(s, "version:         {}", m.version);
    let _ = writeln!(s, "created:         {}", m.created);
    let _ = writeln!(
        s,
        "entries:         {} {}",
        m.entries,
        if m.kind == tapwatch_bundle::Kind::Rules {
            "rules"
        } else {
            "IOC entries"
        }
    );
    for (k, n) in &m.counts {
        let _ = writeln!(s, "  {k}: {n}");
    }
    let _ = writeln!(
        s,
        "content:         {} bytes in {} files, {} bytes compressed",
        m.payload.content_bytes,
        m.files.len(),
        m.payload.bytes
    );
    for f in &m.files {
        let _ = writeln!(
            s,
            "  {} ({}, {} bytes, sha256 {})",
            f.name,
            f.role.as_str(),
            f.bytes,
            f.sha256
        );
    }
    let _ = writeln!(s, "manifest sha256: {}", raw.manifest_sha256());
    if sigs.is_empty() {
        let _ = writeln!(s, "signatures:      none");
    }
    for sig in sigs {
        let _ = writeln!(
            s,
            "signature:       key {} ({}, {})",
            sig["key_id"].as_str().unwrap_or(""),
            if sig["trusted"] == true {
                "trusted"
            } else {
                "not trusted"
            },
            if sig["valid"] == true {
                "valid"
            } else {
                "INVALID"
            },
        );
    }
    match in_force {
        Some(f) => {
            let _ = writeln!(
                s,
                "in force:        version {} ({} entries, created {})",
                f.version, f.entries, f.created
            );
        }
        None => {
            let _ = writeln!(s, "in force:        none");
        }
    }
    s
}
