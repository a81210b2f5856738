//! `[bundles]`: signed rule and IOC bundles from the national center (`tapwatch-bundle`):
//! the keys trusted to sign them, where the bundles in force are kept, the drop directory of
//! an air-gapped sensor, the channels followed and the acceptance thresholds.

use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tapwatch_bundle::{Keyring, Kind, Limits, Policy, PublicKey};

use super::detect::Percent;

/// `[bundles]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BundlesSection {
    /// Public keys trusted to sign bundles: `{ file = "..." }` (a key file written by
    /// `tapwatch-center bundle keygen`) or `{ key_id = "...", public_key = "base64" }`.
    /// Empty: every bundle is refused.
    pub trusted_keys: Vec<TrustedKey>,
    /// Where the bundles in force are kept (`<kind>-<channel>.twb`); relative paths are
    /// resolved against the configuration file's directory.
    pub dir: PathBuf,
    /// A directory watched for bundle files (`*.twb`) brought by hand to an air-gapped
    /// sensor; accepted ones are installed and removed, refused ones renamed `.refused` with
    /// the reason beside them. Unset: none.
    pub drop_dir: Option<PathBuf>,
    /// The channel whose rule bundles this sensor takes.
    pub rules_channel: Channel,
    /// The channel whose IOC bundles this sensor takes.
    pub ioc_channel: Channel,
    /// A bundle with fewer rules or IOC entries than this share of the one in force is
    /// refused (a truncated file, a lost feed). 0 turns the check off.
    pub min_percent: Percent,
    /// Largest bundle file accepted.
    pub max_bundle_bytes: NonZeroU64,
    /// Largest content of a bundle once decompressed.
    pub max_content_bytes: NonZeroU64,
}

impl Default for BundlesSection {
    fn default() -> Self {
        Self {
            trusted_keys: Vec::new(),
            dir: PathBuf::from("/var/lib/tapwatch/bundles"),
            drop_dir: None,
            rules_channel: Channel("national".into()),
            ioc_channel: Channel("national".into()),
            min_percent: Percent::new(50).unwrap_or_default(),
            max_bundle_bytes: NonZeroU64::new(256 << 20).unwrap_or(NonZeroU64::MIN),
            max_content_bytes: NonZeroU64::new(1 << 30).unwrap_or(NonZeroU64::MIN),
        }
    }
}

/// A channel name: 1 to 64 characters of `a-z 0-9 . _ -`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Channel(String);

impl Channel {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Channel {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        if tapwatch_bundle::manifest::valid_channel(&s) {
            Ok(Self(s))
        } else {
            Err(format!(
                "invalid channel {s:?}: expected 1 to 64 characters of a-z 0-9 . _ -"
            ))
        }
    }
}

/// A trusted public key, from a file or inline.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "TrustedKeyFields")]
pub enum TrustedKey {
    /// A key file, read when the keyring is built (`tapwatch check` reports a bad one).
    File(PathBuf),
    /// An inline key, checked when the configuration is read.
    Inline(PublicKey),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustedKeyFields {
    file: Option<PathBuf>,
    key_id: Option<String>,
    public_key: Option<String>,
}

impl TryFrom<TrustedKeyFields> for TrustedKey {
    type Error = String;

    fn try_from(f: TrustedKeyFields) -> Result<Self, String> {
        match (f.file, f.key_id, f.public_key) {
            (Some(file), None, None) => Ok(TrustedKey::File(file)),
            (None, Some(id), Some(key)) => PublicKey::from_base64(&key, Some(&id))
                .map(TrustedKey::Inline)
                .map_err(|e| format!("trusted key {id}: {e}")),
            _ => Err(
                "a trusted key is { file = \"PATH\" } or { key_id = \"16 hex digits\", \
                 public_key = \"base64\" }"
                    .to_owned(),
            ),
        }
    }
}

fn resolve(path: &Path, config_dir: Option<&Path>) -> PathBuf {
    match config_dir {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path.to_path_buf(),
    }
}

impl BundlesSection {
    /// Whether bundles are in use: a trusted key or a drop directory is configured.
    pub fn in_use(&self) -> bool {
        !self.trusted_keys.is_empty() || self.drop_dir.is_some()
    }

    /// The trusted keys, key files read (relative to `config_dir`).
    pub fn keyring(&self, config_dir: Option<&Path>) -> Result<Keyring, tapwatch_bundle::KeyError> {
        let mut ring = Keyring::new();
        for k in &self.trusted_keys {
            ring.add(match k {
                TrustedKey::File(p) => PublicKey::load(&resolve(p, config_dir))?,
                TrustedKey::Inline(k) => k.clone(),
            });
        }
        Ok(ring)
    }

    /// The bounds on a bundle.
    pub fn limits(&self) -> Limits {
        Limits {
            max_bundle_bytes: self.max_bundle_bytes.get(),
            max_content_bytes: self.max_content_bytes.get(),
            ..Limits::default()
        }
    }

    /// The acceptance policy for bundles of `kind`.
    pub fn policy(&self, kind: Kind) -> Policy {
        Policy {
            kind,
            channel: match kind {
                Kind::Rules => self.rules_channel.as_str(),
                Kind::Ioc => self.ioc_channel.as_str(),
            }
            .to_owned(),
            min_percent: self.min_percent.get(),
            limits: self.limits(),
        }
    }

    /// The directory of the bundles in force.
    pub fn resolved_dir(&self, config_dir: Option<&Path>) -> PathBuf {
        resolve(&self.dir, config_dir)
    }

    /// The drop directory, if any.
    pub fn resolved_drop_dir(&self, config_dir: Option<&Path>) -> Option<PathBuf> {
        self.drop_dir.as_deref().map(|d| resolve(d, config_dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn keys_channels_and_thresholds_are_read_and_checked() {
        let key = tapwatch_bundle::SecretKey::from_seed(&[3; 32]).public();
        let c = Config::parse(
            &format!(
                "[bundles]\ntrusted_keys = [{{ file = \"keys/a.pub\" }}, \
                 {{ key_id = \"{}\", public_key = \"{}\" }}]\ndir = \"b\"\ndrop_dir = \"/srv/drop\"\n\
                 ioc_channel = \"sector-energy\"\nmin_percent = 0\nmax_bundle_bytes = 1000\n",
                key.id,
                key.to_base64()
            ),
            "t",
        )
        .unwrap();
        let b = &c.bundles;
        assert!(b.in_use());
        assert_eq!(
            b.trusted_keys[0],
            TrustedKey::File(PathBuf::from("keys/a.pub"))
        );
        assert_eq!(b.trusted_keys[1], TrustedKey::Inline(key));
        assert_eq!(
            b.resolved_dir(Some(Path::new("/etc/tapwatch"))),
            PathBuf::from("/etc/tapwatch/b")
        );
        assert_eq!(
            b.resolved_drop_dir(Some(Path::new("/etc/tapwatch"))),
            Some(PathBuf::from("/srv/drop"))
        );
        let p = b.policy(Kind::Ioc);
        assert_eq!((p.channel.as_str(), p.min_percent), ("sector-energy", 0));
        assert_eq!(p.limits.max_bundle_bytes, 1000);
        assert_eq!(b.policy(Kind::Rules).channel, "national");
        // The key file is read when the keyring is built.
        assert!(matches!(
            b.keyring(Some(Path::new("/nonexistent"))),
            Err(tapwatch_bundle::KeyError::Io { .. })
        ));
        assert!(!Config::default().bundles.in_use());

        for (bad, what) in [
            ("[bundles]\nrules_channel = \"Nat\"\n", "invalid channel"),
            ("[bundles]\nmin_percent = 101\n", "percentage"),
            ("[bundles]\ntrusted_keys = [{ key_id = \"00\" }]\n", "a trusted key is"),
            ("[bundles]\ntrusted_keys = [{ key_id = \"0000000000000000\", public_key = \"AAAA\" }]\n", "32"),
            ("[bundles]\ntrusted_keys = [{ file = \"a\", path = \"b\" }]\n", "unknown field"),
            ("[bundles]\nmax_content_bytes = 0\n", "nonzero"),
            ("[bundles]\ndrop = \"x\"\n", "unknown field `drop`"),
        ] {
            let msg = format!("{:#}", Config::parse(bad, "t").unwrap_err());
            assert!(msg.contains("line 2"), "{bad}: {msg}");
            assert!(msg.contains(what), "{bad}: {msg}");
        }
    }
}
