//! Building bundles: a rule set from a directory, an IOC set from entries; compressed,
//! hashed, unsigned (sign with [`crate::SecretKey::sign`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::format::{sha256_hex, BundleFile, FormatError, Limits, RawBundle, FORMAT_VERSION};
use crate::ioc::IocEntry;
use crate::manifest::{valid_channel, FileEntry, Kind, Manifest, Payload, Role};
use crate::time::Timestamp;

/// zstd level for payloads: bundles are built once and fetched by every sensor.
const ZSTD_LEVEL: i32 = 19;

/// A file to put in a bundle: its name, its role and its contents.
pub type NamedFile = (String, Role, Vec<u8>);

/// The name of the IOC file inside an IOC bundle.
pub const IOC_FILE_NAME: &str = "ioc.jsonl";

/// Why a bundle could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Reading the input.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The bundle would break the format.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The input is not usable.
    #[error("{0}")]
    Input(String),
}

/// What goes into a bundle besides its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildParams {
    /// Rules or IOCs.
    pub kind: Kind,
    /// The channel.
    pub channel: String,
    /// The version (above every earlier one on the channel).
    pub version: u64,
    /// The build time.
    pub created: Timestamp,
}

/// The role of a file of a rule-set directory by its name, or `None` for files left out.
pub fn rules_role(file_name: &str) -> Option<Role> {
    match file_name {
        "classification.config" => Some(Role::Classification),
        "threshold.config" => Some(Role::Threshold),
        "vars.conf" => Some(Role::Vars),
        n if n.ends_with(".rules") => Some(Role::Rules),
        _ => None,
    }
}

/// A rule set's files from `dir` (searched recursively, names relative to it, sorted):
/// `*.rules`, `classification.config`, `threshold.config`, `vars.conf`. Returns them and
/// the names of the other files, which are left out. Symbolic links are not followed.
pub fn rules_files_from_dir(
    dir: &Path,
    limits: &Limits,
) -> Result<(Vec<NamedFile>, Vec<String>), BuildError> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    let mut total: u64 = 0;
    while let Some((d, prefix)) = stack.pop() {
        let io = |source| BuildError::Io {
            path: d.clone(),
            source,
        };
        let mut entries: Vec<_> = std::fs::read_dir(&d)
            .map_err(io)?
            .collect::<Result<_, _>>()
            .map_err(io)?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = format!("{prefix}{name}");
            let ft = e.file_type().map_err(io)?;
            if name.starts_with('.') {
                continue;
            }
            if ft.is_dir() {
                stack.push((e.path(), format!("{rel}/")));
                continue;
            }
            let role = if ft.is_file() {
                rules_role(&name)
            } else {
                None
            };
            let Some(role) = role else {
                skipped.push(rel);
                continue;
            };
            let data = crate::format::read_bounded(&e.path(), limits.max_content_bytes)
                .map_err(|err| BuildError::Input(err.to_string()))?;
            total = total.saturating_add(data.len() as u64);
            if total > limits.max_content_bytes {
                return Err(FormatError::TooLarge {
                    what: "content",
                    size: total,
                    limit: limits.max_content_bytes,
                }
                .into());
            }
            files.push((rel, role, data));
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((files, skipped))
}

/// The IOC file of a bundle holding `entries`: sorted by type, value and source, one JSON
/// line each. Entries that expired at `now` are left out (their number is returned); the same
/// (type, value, source) twice is refused.
pub fn ioc_file(
    mut entries: Vec<IocEntry>,
    now: Timestamp,
) -> Result<(Vec<u8>, usize), BuildError> {
    let before = entries.len();
    entries.retain(|e| !e.expired_at(now));
    let expired = before - entries.len();
    entries
        .sort_by(|a, b| (a.ioc_type, &a.value, &a.source).cmp(&(b.ioc_type, &b.value, &b.source)));
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for e in &entries {
        if !seen.insert((e.ioc_type, e.value.as_str(), e.source.as_str())) {
            return Err(BuildError::Input(format!(
                "{} {} from {} is listed twice",
                e.ioc_type, e.value, e.source
            )));
        }
        serde_json::to_writer(&mut out, e).map_err(|err| BuildError::Input(err.to_string()))?;
        out.push(b'\n');
    }
    Ok((out, expired))
}

/// Builds an unsigned bundle of `files` (name, role, contents; in this order in the payload).
pub fn assemble(
    params: &BuildParams,
    files: Vec<NamedFile>,
    limits: &Limits,
) -> Result<RawBundle, BuildError> {
    if !valid_channel(&params.channel) {
        return Err(BuildError::Input(format!(
            "channel {:?}: expected 1 to 64 characters of a-z 0-9 . _ -",
            params.channel
        )));
    }
    let files: Vec<BundleFile> = files
        .into_iter()
        .map(|(name, role, data)| BundleFile {
            entry: FileEntry {
                name,
                role,
                bytes: data.len() as u64,
                sha256: sha256_hex(&data),
            },
            data,
        })
        .collect();
    let (entries, counts) = crate::content::counts(params.kind, &files)?;
    let mut content = Vec::with_capacity(files.iter().map(|f| f.data.len()).sum());
    for f in &files {
        content.extend_from_slice(&f.data);
    }
    let payload = zstd::bulk::compress(&content, ZSTD_LEVEL)
        .map_err(|e| BuildError::Input(format!("compressing: {e}")))?;
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        kind: params.kind,
        channel: params.channel.clone(),
        version: params.version,
        created: params.created,
        entries,
        counts,
        payload: Payload {
            compression: "zstd".into(),
            bytes: payload.len() as u64,
            sha256: sha256_hex(&payload),
            content_bytes: content.len() as u64,
        },
        files: files.into_iter().map(|f| f.entry).collect(),
    };
    manifest.validate(limits)?;
    let mut manifest_bytes =
        serde_json::to_vec_pretty(&manifest).map_err(|e| BuildError::Input(e.to_string()))?;
    manifest_bytes.push(b'\n');
    if manifest_bytes.len() as u64 > u64::from(limits.max_manifest_bytes) {
        return Err(FormatError::TooLarge {
            what: "manifest",
            size: manifest_bytes.len() as u64,
            limit: u64::from(limits.max_manifest_bytes),
        }
        .into());
    }
    Ok(RawBundle {
        manifest_bytes,
        manifest,
        signatures: Vec::new(),
        payload,
    })
}
