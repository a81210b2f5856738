//! Batch payloads: records as length-delimited protobuf messages, concatenated, then
//! optionally compressed with zstd (with an optional dictionary).
//!
//! Decoding is bounded: a caller states how many records and how many decompressed bytes it
//! accepts, and a payload that would exceed either (a zstd bomb, a lying header) is refused
//! before the memory is spent.

use std::io::Read as _;

use prost::Message;

use crate::v1::Compression;

/// Why a payload could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// zstd failed to compress (bad level or dictionary).
    #[error("zstd compression failed: {0}")]
    Compress(std::io::Error),
    /// The compressed data is corrupt or was made with another dictionary.
    #[error("corrupt zstd payload: {0}")]
    Decompress(std::io::Error),
    /// Decompressing would produce more than the allowed bytes.
    #[error("decompressed payload exceeds {limit} bytes")]
    TooLarge {
        /// The limit that was reached.
        limit: usize,
    },
    /// More records than allowed.
    #[error("payload holds more than {limit} records")]
    TooManyRecords {
        /// The limit that was reached.
        limit: usize,
    },
    /// A record does not decode.
    #[error("record {index} malformed: {source}")]
    Malformed {
        /// Index of the record in the payload.
        index: usize,
        /// The protobuf error.
        source: prost::DecodeError,
    },
    /// The compression value is not one this version knows.
    #[error("unknown compression {0}")]
    UnknownCompression(i32),
}

/// Encodes `records` as a batch payload. `level` is the zstd level (used only when
/// `compression` is zstd); `dict`, when given, is a zstd dictionary the receiver also has.
pub fn encode_batch<M: Message>(
    records: &[M],
    compression: Compression,
    level: i32,
    dict: Option<&[u8]>,
) -> Result<Vec<u8>, BatchError> {
    let plain_len: usize = records
        .iter()
        .map(|r| {
            let n = r.encoded_len();
            n + prost::length_delimiter_len(n)
        })
        .sum();
    let mut plain = Vec::with_capacity(plain_len);
    for r in records {
        // Cannot fail: the buffer grows as needed.
        r.encode_length_delimited(&mut plain)
            .map_err(|e| BatchError::Compress(std::io::Error::other(e)))?;
    }
    match compression {
        Compression::None => Ok(plain),
        Compression::Zstd => compress(&plain, level, dict),
    }
}

/// Compresses `plain` with zstd at `level`, with `dict` when given.
pub fn compress(plain: &[u8], level: i32, dict: Option<&[u8]>) -> Result<Vec<u8>, BatchError> {
    let mut c = match dict {
        Some(d) => zstd::bulk::Compressor::with_dictionary(level, d),
        None => zstd::bulk::Compressor::new(level),
    }
    .map_err(BatchError::Compress)?;
    c.compress(plain).map_err(BatchError::Compress)
}

/// Decompresses `payload` (per `compression`) into at most `max_decompressed_bytes`.
pub fn decompress(
    payload: &[u8],
    compression: i32,
    dict: Option<&[u8]>,
    max_decompressed_bytes: usize,
) -> Result<Vec<u8>, BatchError> {
    match Compression::try_from(compression) {
        Ok(Compression::None) => {
            if payload.len() > max_decompressed_bytes {
                return Err(BatchError::TooLarge {
                    limit: max_decompressed_bytes,
                });
            }
            Ok(payload.to_vec())
        }
        Ok(Compression::Zstd) => {
            let decoder = match dict {
                Some(d) => zstd::stream::read::Decoder::with_dictionary(payload, d),
                None => zstd::stream::read::Decoder::with_buffer(payload),
            }
            .map_err(BatchError::Decompress)?;
            // Read one byte past the limit: if it arrives, the payload is too large. The
            // frame header's content size is not trusted.
            let limit = max_decompressed_bytes as u64;
            // Room for a typical ratio up front (alert batches expand 10-30x), so that the
            // buffer is not regrown and copied from empty; the limit still bounds it.
            let mut out =
                Vec::with_capacity(payload.len().saturating_mul(16).min(max_decompressed_bytes));
            decoder
                .take(limit.saturating_add(1))
                .read_to_end(&mut out)
                .map_err(BatchError::Decompress)?;
            if out.len() > max_decompressed_bytes {
                return Err(BatchError::TooLarge {
                    limit: max_decompressed_bytes,
                });
            }
            Ok(out)
        }
        Err(_) => Err(BatchError::UnknownCompression(compression)),
    }
}

/// Room for the records of `plain` without regrowing the vector (records are moved on each
/// regrowth), bounded by `max_count` and by one record per 16 bytes.
fn capacity_hint(plain: &[u8], max_count: usize) -> usize {
    max_count.min(plain.len() / 16 + 1)
}

/// Splits decompressed bytes into records, refusing more than `max_count`.
pub fn decode_records<M: Message + Default>(
    mut plain: &[u8],
    max_count: usize,
) -> Result<Vec<M>, BatchError> {
    let mut out = Vec::with_capacity(capacity_hint(plain, max_count));
    while !plain.is_empty() {
        if out.len() >= max_count {
            return Err(BatchError::TooManyRecords { limit: max_count });
        }
        let index = out.len();
        let m = M::decode_length_delimited(&mut plain)
            .map_err(|source| BatchError::Malformed { index, source })?;
        out.push(m);
    }
    Ok(out)
}

/// Decodes a batch payload: decompression bounded by `max_decompressed_bytes`, then at most
/// `max_count` records.
pub fn decode_batch<M: Message + Default>(
    payload: &[u8],
    compression: i32,
    dict: Option<&[u8]>,
    max_count: usize,
    max_decompressed_bytes: usize,
) -> Result<Vec<M>, BatchError> {
    let plain = decompress(payload, compression, dict, max_decompressed_bytes)?;
    decode_records(&plain, max_count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::Alert;

    fn alerts(n: usize) -> Vec<Alert> {
        (0..n)
            .map(|i| Alert {
                timestamp_us: 1_700_000_000_000_000 + i as i64,
                sid: 2_000_000 + (i % 7) as u32,
                signature: format!("ET TEST signature {}", i % 7),
                src_ip: vec![10, 0, 0, 1],
                dst_ip: vec![10, 0, 0, 2],
                proto: "TCP".into(),
                ..Alert::default()
            })
            .collect()
    }

    #[test]
    fn round_trip_plain_zstd_and_dictionary() {
        let a = alerts(100);
        let plain = encode_batch(&a, Compression::None, 0, None).expect("encode");
        let back: Vec<Alert> =
            decode_batch(&plain, Compression::None as i32, None, 100, 1 << 20).expect("decode");
        assert_eq!(back, a);
        let z = encode_batch(&a, Compression::Zstd, 3, None).expect("encode");
        assert!(z.len() < plain.len() / 2, "{} vs {}", z.len(), plain.len());
        let back: Vec<Alert> =
            decode_batch(&z, Compression::Zstd as i32, None, 100, 1 << 20).expect("decode");
        assert_eq!(back, a);
        let dict = plain[..2000].to_vec();
        let zd = encode_batch(&a, Compression::Zstd, 3, Some(&dict)).expect("encode");
        let back: Vec<Alert> =
            decode_batch(&zd, Compression::Zstd as i32, Some(&dict), 100, 1 << 20).expect("decode");
        assert_eq!(back, a);
    }

    #[test]
    fn zstd_bomb_is_refused() {
        let zeros = vec![0u8; 64 << 20];
        let bomb = compress(&zeros, 19, None).expect("compress");
        assert!(bomb.len() < 64 << 10);
        let r: Result<Vec<Alert>, _> =
            decode_batch(&bomb, Compression::Zstd as i32, None, 10, 1 << 20);
        assert!(matches!(r, Err(BatchError::TooLarge { limit }) if limit == 1 << 20));
    }

    #[test]
    fn corrupt_and_malformed_and_too_many() {
        let a = alerts(10);
        let mut z = encode_batch(&a, Compression::Zstd, 3, None).expect("encode");
        let mid = z.len() / 2;
        z[mid] ^= 0xff;
        z.truncate(z.len() - 3);
        let r: Result<Vec<Alert>, _> =
            decode_batch(&z, Compression::Zstd as i32, None, 10, 1 << 20);
        assert!(matches!(r, Err(BatchError::Decompress(_))), "{r:?}");
        let r: Result<Vec<Alert>, _> = decode_batch(
            &[0xff, 0xff, 0xff],
            Compression::None as i32,
            None,
            10,
            1 << 20,
        );
        assert!(
            matches!(r, Err(BatchError::Malformed { index: 0, .. })),
            "{r:?}"
        );
        let plain = encode_batch(&a, Compression::None, 0, None).expect("encode");
        let r: Result<Vec<Alert>, _> =
            decode_batch(&plain, Compression::None as i32, None, 9, 1 << 20);
        assert!(matches!(r, Err(BatchError::TooManyRecords { limit: 9 })));
        let r: Result<Vec<Alert>, _> = decode_batch(&plain, 7, None, 9, 1 << 20);
        assert!(matches!(r, Err(BatchError::UnknownCompression(7))));
    }
}
