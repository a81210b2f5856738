//! Ed25519 signing keys, key files, the signature records of a bundle and the keyring of
//! trusted public keys.
//!
//! A key's id is the first 8 bytes of the SHA-256 of its 32-byte public key, written as 16
//! hex digits. Each signature record holds the key id, the public key and the signature of
//! `SIGNING_CONTEXT || manifest bytes`; the id is checked against the key when the record is
//! read, and trust comes only from the keyring: a sensor accepts a bundle when one signature
//! is by a key of its keyring and verifies (`verify_strict`).
//!
//! Key files are one line of text (`#` comments and blank lines allowed):
//!
//! ```text
//! tapwatch-bundle-public-key v1 <key id> <base64 of the 32-byte public key>
//! tapwatch-bundle-secret-key v1 <key id> <base64 of the 32-byte secret seed>
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

use crate::format::{FormatError, RawBundle, SIGNATURE_RECORD_BYTES};

/// What every signature signs before the manifest's bytes (domain separation: a tapwatch
/// bundle signature cannot be taken for a signature of anything else).
pub const SIGNING_CONTEXT: &[u8] = b"tapwatch-bundle-manifest-v1\0";

const PUBLIC_TAG: &str = "tapwatch-bundle-public-key";
const SECRET_TAG: &str = "tapwatch-bundle-secret-key";

/// A public key's id: the first 8 bytes of its SHA-256.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub [u8; 8]);

impl KeyId {
    /// The id of `key`.
    pub fn of(key: &VerifyingKey) -> Self {
        let d = Sha256::digest(key.as_bytes());
        let mut id = [0; 8];
        id.copy_from_slice(&d[..8]);
        Self(id)
    }

    /// Parses 16 hex digits.
    pub fn parse(s: &str) -> Option<Self> {
        if s.len() != 16 {
            return None;
        }
        let mut id = [0; 8];
        for (i, b) in id.iter_mut().enumerate() {
            *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(id))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::format::hex(&self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// One signature of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureRecord {
    /// The signer's key id (checked against `public_key`).
    pub key_id: KeyId,
    /// The signer's public key.
    pub public_key: VerifyingKey,
    /// The signature of `SIGNING_CONTEXT || manifest bytes`.
    pub signature: Signature,
}

impl SignatureRecord {
    /// Reads a record, checking that the key id is the key's.
    pub fn from_bytes(b: &[u8; SIGNATURE_RECORD_BYTES]) -> Result<Self, FormatError> {
        let mut id = [0; 8];
        id.copy_from_slice(&b[..8]);
        let named = KeyId(id);
        let mut pk = [0; 32];
        pk.copy_from_slice(&b[8..40]);
        let public_key =
            VerifyingKey::from_bytes(&pk).map_err(|_| FormatError::BadPublicKey(named))?;
        let actual = KeyId::of(&public_key);
        if actual != named {
            return Err(FormatError::KeyIdMismatch { named, actual });
        }
        let mut sig = [0; 64];
        sig.copy_from_slice(&b[40..]);
        Ok(Self {
            key_id: named,
            public_key,
            signature: Signature::from_bytes(&sig),
        })
    }

    /// The record's bytes.
    pub fn to_bytes(&self) -> [u8; SIGNATURE_RECORD_BYTES] {
        let mut b = [0; SIGNATURE_RECORD_BYTES];
        b[..8].copy_from_slice(&self.key_id.0);
        b[8..40].copy_from_slice(self.public_key.as_bytes());
        b[40..].copy_from_slice(&self.signature.to_bytes());
        b
    }

    /// Whether the signature verifies over `manifest` with the record's own key.
    pub fn verifies(&self, manifest: &[u8]) -> bool {
        self.public_key
            .verify_strict(&signed_message(manifest), &self.signature)
            .is_ok()
    }
}

fn signed_message(manifest: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNING_CONTEXT.len() + manifest.len());
    m.extend_from_slice(SIGNING_CONTEXT);
    m.extend_from_slice(manifest);
    m
}

/// A key file or inline key that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a key file of the expected kind.
    #[error("{0}")]
    Malformed(String),
    /// The stated key id is not the key's.
    #[error("key id {stated} is not the id of this key ({actual})")]
    IdMismatch {
        /// As written.
        stated: String,
        /// The key's.
        actual: KeyId,
    },
    /// The system's random source failed.
    #[error("no randomness for a new key: {0}")]
    Random(String),
    /// The key file exists already.
    #[error("{0} exists already: refusing to overwrite a key")]
    Exists(std::path::PathBuf),
}

fn decode_key_line(text: &str, tag: &str) -> Result<(Option<String>, [u8; 32]), KeyError> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| KeyError::Malformed("no key line".into()))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (id, b64) = match fields.as_slice() {
        [t, "v1", id, b64] if *t == tag => (Some((*id).to_owned()), *b64),
        [b64] => (None, *b64),
        [t, ..] if *t != tag && (*t == PUBLIC_TAG || *t == SECRET_TAG) => {
            return Err(KeyError::Malformed(format!(
                "expected a {tag}, found a {t}"
            )))
        }
        _ => {
            return Err(KeyError::Malformed(format!(
                "expected \"{tag} v1 <key id> <base64>\""
            )))
        }
    };
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| KeyError::Malformed(format!("key is not base64: {e}")))?;
    let key: [u8; 32] = raw
        .try_into()
        .map_err(|r: Vec<u8>| KeyError::Malformed(format!("key is {} bytes, not 32", r.len())))?;
    Ok((id, key))
}

fn check_id(stated: Option<&str>, key: &VerifyingKey) -> Result<KeyId, KeyError> {
    let actual = KeyId::of(key);
    match stated {
        Some(s) if KeyId::parse(s) != Some(actual) => Err(KeyError::IdMismatch {
            stated: s.to_owned(),
            actual,
        }),
        _ => Ok(actual),
    }
}

/// A trusted public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// Its id.
    pub id: KeyId,
    /// The key.
    pub key: VerifyingKey,
}

impl PublicKey {
    /// Parses a public key file's text, or a bare base64 key; a stated key id must be the
    /// key's.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let (id, bytes) = decode_key_line(text, PUBLIC_TAG)?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| KeyError::Malformed("not an Ed25519 public key".into()))?;
        Ok(Self {
            id: check_id(id.as_deref(), &key)?,
            key,
        })
    }

    /// An inline base64 key whose id, when given, must be the key's.
    pub fn from_base64(b64: &str, stated_id: Option<&str>) -> Result<Self, KeyError> {
        let k = Self::parse(b64)?;
        check_id(stated_id, &k.key)?;
        Ok(k)
    }

    /// Reads a public key file.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = read_small(path)?;
        Self::parse(&text).map_err(|e| match e {
            KeyError::Malformed(m) => KeyError::Malformed(format!("{}: {m}", path.display())),
            e => e,
        })
    }

    /// The key file's text.
    pub fn to_file_text(&self) -> String {
        format!(
            "{PUBLIC_TAG} v1 {} {}\n",
            self.id,
            base64::engine::general_purpose::STANDARD.encode(self.key.as_bytes())
        )
    }

    /// The key as base64 (for `[bundles] trusted_keys` inline).
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.key.as_bytes())
    }
}

fn read_small(path: &Path) -> Result<String, KeyError> {
    let bytes = crate::format::read_bounded(path, 64 << 10).map_err(|e| match e {
        crate::format::ReadError::Io { path, source } => KeyError::Io { path, source },
        crate::format::ReadError::Format(f) => {
            KeyError::Malformed(format!("{}: {f}", path.display()))
        }
    })?;
    String::from_utf8(bytes)
        .map_err(|_| KeyError::Malformed(format!("{}: not UTF-8 text", path.display())))
}

/// A signing key (the center's; never on a sensor).
#[derive(Debug)]
pub struct SecretKey {
    key: SigningKey,
}

impl SecretKey {
    /// A new key from the system's random source.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        let key = SigningKey::from_bytes(&seed);
        seed.fill(0);
        Ok(Self { key })
    }

    /// A key from its 32-byte seed (tests).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// Parses a secret key file's text.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let (id, seed) = decode_key_line(text, SECRET_TAG)?;
        let key = SigningKey::from_bytes(&seed);
        check_id(id.as_deref(), &key.verifying_key())?;
        Ok(Self { key })
    }

    /// Reads a secret key file.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = read_small(path)?;
        Self::parse(&text).map_err(|e| match e {
            KeyError::Malformed(m) => KeyError::Malformed(format!("{}: {m}", path.display())),
            e => e,
        })
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        let key = self.key.verifying_key();
        PublicKey {
            id: KeyId::of(&key),
            key,
        }
    }

    /// The key file's text.
    pub fn to_file_text(&self) -> String {
        format!(
            "# tapwatch bundle signing key: keep it secret (mode 0600), never on a sensor\n\
             {SECRET_TAG} v1 {} {}\n",
            self.public().id,
            base64::engine::general_purpose::STANDARD.encode(self.key.to_bytes())
        )
    }

    /// Writes the key pair: `secret` created with mode 0600 (refused when it exists),
    /// `public` beside it.
    pub fn write_pair(&self, secret: &Path, public: &Path) -> Result<(), KeyError> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        for p in [secret, public] {
            if p.exists() {
                return Err(KeyError::Exists(p.to_path_buf()));
            }
        }
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| KeyError::Io { path, source }
        };
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(secret)
            .map_err(io(secret))?;
        f.write_all(self.to_file_text().as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(io(secret))?;
        std::fs::write(public, self.public().to_file_text()).map_err(io(public))
    }

    /// Signs `bundle`'s manifest, adding (or replacing) this key's signature.
    pub fn sign(&self, bundle: &mut RawBundle) -> Result<(), FormatError> {
        let public = self.public();
        let record = SignatureRecord {
            key_id: public.id,
            public_key: public.key,
            signature: self.key.sign(&signed_message(&bundle.manifest_bytes)),
        };
        let count = bundle.signatures.len();
        match bundle.signatures.iter_mut().find(|s| s.key_id == public.id) {
            Some(s) => *s = record,
            None if count >= crate::format::MAX_SIGNATURES => {
                return Err(FormatError::TooManySignatures(count + 1))
            }
            None => bundle.signatures.push(record),
        }
        Ok(())
    }
}

/// Why a bundle's signatures are not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No signature at all.
    #[error("unsigned bundle")]
    Unsigned,
    /// Signed, but by no trusted key.
    #[error("signed only by untrusted keys ({})", list(.0))]
    UntrustedKey(Vec<KeyId>),
    /// A trusted key's signature does not verify: the manifest (or the signature) was changed.
    #[error(
        "signature by trusted key {0} does not verify: the manifest was tampered with or damaged"
    )]
    BadSignature(KeyId),
}

fn list(ids: &[KeyId]) -> String {
    ids.iter()
        .map(KeyId::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The public keys a sensor trusts, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keyring {
    keys: BTreeMap<KeyId, VerifyingKey>,
}

impl Keyring {
    /// An empty keyring (trusts nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a trusted key.
    pub fn add(&mut self, key: PublicKey) {
        self.keys.insert(key.id, key.key);
    }

    /// The trusted key ids.
    pub fn ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        self.keys.keys().copied()
    }

    /// Whether no key is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The trusted key that signed `bundle`'s manifest. A trusted key's signature that does
    /// not verify refuses the bundle even when another verifies: it means the manifest was
    /// changed after signing (or the signature damaged), never a benign state.
    pub fn verify(&self, bundle: &RawBundle) -> Result<KeyId, SignatureError> {
        if bundle.signatures.is_empty() {
            return Err(SignatureError::Unsigned);
        }
        let mut good = None;
        for s in &bundle.signatures {
            let Some(trusted) = self.keys.get(&s.key_id) else {
                continue;
            };
            if trusted != &s.public_key {
                // Another key under a trusted id (a 64-bit id collision): not this key.
                continue;
            }
            if !s.verifies(&bundle.manifest_bytes) {
                return Err(SignatureError::BadSignature(s.key_id));
            }
            good.get_or_insert(s.key_id);
        }
        good.ok_or_else(|| {
            SignatureError::UntrustedKey(bundle.signatures.iter().map(|s| s.key_id).collect())
        })
    }
}
