//! zstd dictionaries: training from recorded alerts, and reading a dictionary's id.

use std::io::{BufRead as _, BufReader};
use std::path::Path;

use prost::Message;
use tapwatch_proto::v1::Alert;

/// Magic of a zstd dictionary with a header (and so an id).
const DICT_MAGIC: u32 = 0xEC30_A437;

/// Why a dictionary could not be trained or used.
#[derive(Debug, thiserror::Error)]
pub enum DictError {
    /// Reading the EVE file failed.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// zstd's trainer failed (usually: too few or too uniform samples).
    #[error("zstd dictionary training failed: {0}")]
    Train(std::io::Error),
    /// No alerts to train on.
    #[error("no alert records to train on")]
    NoSamples,
    /// The bytes are not a zstd dictionary with an id.
    #[error("not a zstd dictionary with an id (trained dictionaries start with 37 A4 30 EC)")]
    NoId,
}

/// Trains a zstd dictionary of at most `size` bytes on the protobuf encodings of `samples`
/// (the bytes the batcher compresses, so the dictionary fits them).
pub fn train_dictionary(
    samples: impl Iterator<Item = Alert>,
    size: usize,
) -> Result<Vec<u8>, DictError> {
    let encoded: Vec<Vec<u8>> = samples
        .map(|a| a.encode_length_delimited_to_vec())
        .collect();
    if encoded.is_empty() {
        return Err(DictError::NoSamples);
    }
    zstd::dict::from_samples(&encoded, size).map_err(DictError::Train)
}

/// Reads the `alert` records of an EVE JSON lines file (other event types and lines that do
/// not convert are skipped and counted). Returns the alerts and the number skipped.
pub fn alerts_from_eve_file(path: &Path) -> Result<(Vec<Alert>, u64), DictError> {
    let io = |source| DictError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut alerts = Vec::new();
    let mut skipped = 0;
    for line in BufReader::new(file).lines() {
        let line = line.map_err(io)?;
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            skipped += 1;
            continue;
        };
        if v.get("event_type").and_then(|t| t.as_str()) != Some("alert") {
            continue;
        }
        match tapwatch_proto::eve::alert_from_eve(&v) {
            Ok(a) => alerts.push(a),
            Err(_) => skipped += 1,
        }
    }
    Ok((alerts, skipped))
}

/// The id zstd wrote in the dictionary's header.
pub fn dictionary_id(dict: &[u8]) -> Result<u32, DictError> {
    let word = |r: std::ops::Range<usize>| {
        dict.get(r)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    };
    match (word(0..4), word(4..8)) {
        (Some(DICT_MAGIC), Some(id)) if id != 0 => Ok(id),
        _ => Err(DictError::NoId),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(i: u32) -> Alert {
        Alert {
            timestamp_us: 1_700_000_000_000_000 + i64::from(i) * 1000,
            sid: 2_010_000 + i % 50,
            gid: 1,
            rev: 3,
            action: "allowed".into(),
            severity: 1 + i % 3,
            category: "A Network Trojan was detected".into(),
            signature: format!("ET MALWARE Something {}", i % 50),
            src_ip: vec![10, 0, (i >> 8) as u8, i as u8],
            dst_ip: vec![192, 0, 2, (i % 7) as u8],
            src_port: 40_000 + i % 1000,
            dst_port: 443,
            proto: "TCP".into(),
            app_proto: "tls".into(),
            ..Alert::default()
        }
    }

    #[test]
    fn reads_alerts_from_an_eve_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("eve.json");
        let mut text = String::new();
        for i in 0..20 {
            let v = tapwatch_proto::eve::alert_to_eve(&alert(i), "s1");
            text.push_str(&serde_json::to_string(&v).expect("json"));
            text.push('\n');
        }
        text.push_str("{\"event_type\":\"dns\"}\nnot json\n");
        std::fs::write(&path, text).expect("write");
        let (alerts, skipped) = alerts_from_eve_file(&path).expect("read");
        assert_eq!((alerts.len(), skipped), (20, 1));
        assert_eq!(alerts[3].sid, alert(3).sid);
        assert_eq!(alerts[3].signature, alert(3).signature);
    }

    #[test]
    fn trains_and_reads_id() {
        let dict = train_dictionary((0..2000).map(alert), 4096).expect("train");
        assert!(dict.len() <= 4096);
        assert!(dictionary_id(&dict).expect("id") != 0);
        assert!(dictionary_id(b"nope").is_err());
        assert!(matches!(
            train_dictionary(std::iter::empty(), 4096),
            Err(DictError::NoSamples)
        ));
    }
}
