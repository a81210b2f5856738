//! Dataset files as Suricata reads and writes them: one value per line in its text form
//! ([`Key::parse`]), followed by `,<value>` for a `datarep` set. Empty lines and lines
//! starting with `#` are skipped; a file is either all plain values or all reputation
//! values (Suricata refuses the mix).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};

use crate::set::{AddOutcome, Dataset};
use crate::value::{DataType, Key};

/// A dataset or reputation file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// The file could not be opened or read.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's message.
        reason: String,
    },
    /// A line is not valid.
    #[error("{path}:{line}: {reason}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
}

/// One line of a dataset file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The value.
    pub key: Key,
    /// The reputation, for a `datarep` line.
    pub rep: Option<u16>,
}

/// Parses one non-empty line of a set of type `ty` named `set` (the name goes into the
/// messages, as Suricata's do).
pub fn parse_line(ty: DataType, set: &str, text: &str) -> Result<Line, String> {
    let (value, rep) = match text.split_once(',') {
        Some((v, r)) => {
            let r = r.trim();
            let rep = r
                .parse::<u16>()
                .map_err(|_| format!("invalid datarep value {set}: '{r}'"))?;
            (v.trim(), Some(rep))
        }
        None => (text.trim(), None),
    };
    let key = Key::parse(ty, value).map_err(|e| match ty {
        DataType::String => format!("bad base64 encoding {set}: {e}"),
        _ => format!("bad {} value {set}: {e}", ty.name()),
    })?;
    Ok(Line { key, rep })
}

/// Reads `path` into `set`. Every line is checked before the next is read; the first bad
/// line ends the load with its number. Entries the memcap leaves no room for are an error
/// too ("dataset too large for set memcap", as Suricata refuses to start).
pub fn load(set: &Dataset, path: &Path) -> Result<u64, FileError> {
    let file = std::fs::File::open(path).map_err(|e| FileError::Io {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    load_from(set, BufReader::new(file), path)
}

/// [`load`] from any reader (`path` names it in errors).
pub fn load_from(set: &Dataset, reader: impl BufRead, path: &Path) -> Result<u64, FileError> {
    let line_err = |line: u64, reason: String| FileError::Line {
        path: path.to_owned(),
        line,
        reason,
    };
    let mut added = 0;
    for (i, raw) in reader.split(b'\n').enumerate() {
        let n = i as u64 + 1;
        let raw = raw.map_err(|e| FileError::Io {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let text = std::str::from_utf8(&raw).map_err(|_| line_err(n, "not UTF-8 text".into()))?;
        let text = text.trim_end_matches('\r');
        if text.trim().is_empty() || text.starts_with('#') {
            continue;
        }
        let line = parse_line(set.data_type(), set.name(), text).map_err(|r| line_err(n, r))?;
        if !set.mark_reputation(line.rep.is_some()) {
            return Err(line_err(
                n,
                format!(
                    "Cannot mix dataset and datarep values for set {}",
                    set.name()
                ),
            ));
        }
        match set.add(line.key, line.rep.unwrap_or(0)) {
            AddOutcome::Added => added += 1,
            AddOutcome::Present => {}
            AddOutcome::MemcapFull => {
                return Err(line_err(
                    n,
                    format!(
                        "dataset too large for set memcap: {} ({} bytes)",
                        set.name(),
                        set.stats().memcap
                    ),
                ))
            }
        }
    }
    Ok(added)
}

/// The file's text for `set`'s entries, in the order they were added.
pub fn render(set: &Dataset) -> String {
    let with_rep = set.has_reputation() == Some(true);
    let mut out = String::new();
    for (key, rep) in set.entries() {
        key.write_text(&mut out);
        if with_rep {
            let _ = write!(out, ",{rep}");
        }
        out.push('\n');
    }
    out
}

/// Writes `set` to `path` (through a temporary file renamed over it, so a crash never
/// leaves half a file).
pub fn save(set: &Dataset, path: &Path) -> Result<(), FileError> {
    let io = |e: std::io::Error| FileError::Io {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(render(set).as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::set::SetSpec;

    fn set(ty: DataType, memcap: u64) -> Dataset {
        Dataset::new(SetSpec {
            name: "dns_string".into(),
            data_type: ty,
            load: None,
            save: None,
            memcap,
            hashsize: 16,
            dynamic: false,
        })
    }

    fn load_text(d: &Dataset, text: &str) -> Result<u64, FileError> {
        load_from(d, text.as_bytes(), Path::new("list.csv"))
    }

    #[test]
    fn base64_lines_load_and_save_back() {
        let d = set(DataType::String, 1 << 20);
        let text = "Y3VybC83LjQzLjA=\n\n# comment\r\nL3RhdGE=\r\n";
        assert_eq!(load_text(&d, text).unwrap(), 2);
        assert!(d.contains(&Key::Str(b"curl/7.43.0".as_slice().into())));
        assert!(d.contains(&Key::Str(b"/tata".as_slice().into())));
        assert_eq!(render(&d), "Y3VybC83LjQzLjA=\nL3RhdGE=\n");
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let d = set(DataType::String, 1 << 20);
        let e = load_text(&d, "Y3VybC83LjQzLjA=\nZ29vZ2xlLm;NvbQ==\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "list.csv:2: bad base64 encoding dns_string: bad base64 encoding 'Z29vZ2xlLm;NvbQ=='"
        );
        let d = set(DataType::String, 1 << 20);
        let e = load_text(&d, "Z29vZ2xlLmNvbQ==,-1\n").unwrap_err();
        assert!(
            e.to_string().contains("invalid datarep value dns_string"),
            "{e}"
        );
        let d = set(DataType::Md5, 1 << 20);
        let e = load_text(&d, "00112233\n").unwrap_err();
        assert!(matches!(e, FileError::Line { line: 1, .. }), "{e}");
    }

    #[test]
    fn plain_and_reputation_lines_do_not_mix() {
        for text in [
            "Z29vZ2xlLmNvbQ==,1\nYmxhaA==\n",
            "Y3VybC83LjQzLjA=\nYmxhaA==,1\n",
        ] {
            let d = set(DataType::String, 1 << 20);
            let e = load_text(&d, text).unwrap_err();
            assert!(e
                .to_string()
                .contains("Cannot mix dataset and datarep values"));
        }
        let d = set(DataType::String, 1 << 20);
        load_text(&d, "Z29vZ2xlLmNvbQ==,300\n").unwrap();
        assert_eq!(
            d.reputation(&Key::Str(b"google.com".as_slice().into())),
            Some(300)
        );
        assert_eq!(render(&d), "Z29vZ2xlLmNvbQ==,300\n");
    }

    #[test]
    fn memcap_overflow_while_loading_is_an_error() {
        let one = Key::Str(b"curl/7.43.0".as_slice().into()).cost();
        let d = set(DataType::String, one);
        let e = load_text(&d, "Y3VybC83LjQzLjA=\nL3RhdGE=\n").unwrap_err();
        assert!(
            e.to_string().contains("dataset too large for set memcap"),
            "{e}"
        );
        assert_eq!(d.stats().memcap_refused, 1);
    }

    #[test]
    fn save_writes_the_file_atomically() {
        let dir = std::env::temp_dir().join(format!("tw-ds-save-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d = set(DataType::Ip, 1 << 20);
        load_text(&d, "4:5::6\n10.0.0.1\n").unwrap();
        let p = dir.join("state.csv");
        save(&d, &p).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "0004:0005:0000:0000:0000:0000:0000:0006\n10.0.0.1\n"
        );
        let again = set(DataType::Ip, 1 << 20);
        assert_eq!(load(&again, &p).unwrap(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
