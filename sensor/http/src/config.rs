//! Limits and switches of the HTTP parser.

/// Bounds and options of one [`HttpParser`](crate::HttpParser).
///
/// Every buffer the parser keeps is bounded by one of these values, so the memory a flow
/// can make the parser hold is known in advance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Most bytes of one message's start line and header block (each line and the block as
    /// a whole); a longer line is truncated and later headers of an over-long block are
    /// dropped, with a `*_FIELD_TOO_LONG` anomaly. Also bounds the bytes held back while a
    /// direction waits for the other one. Default 64 KiB.
    pub max_header_bytes: usize,
    /// Most headers (and trailers) kept per message; more raise `*_TOO_MANY_HEADERS`.
    /// Default 256.
    pub max_headers: usize,
    /// Bytes of decoded request body kept for inspection. Default 100 KiB.
    pub request_body_limit: usize,
    /// Bytes of decoded (de-chunked, decompressed) response body kept. Default 100 KiB.
    pub response_body_limit: usize,
    /// Most transactions open at once (pipelining bound); the oldest is emitted unfinished
    /// when a new request would pass it. Default 64; 0 counts as 1.
    pub max_pending_transactions: usize,
    /// Decode gzip and deflate response bodies named by `Content-Encoding`. Default true.
    pub decompress: bool,
    /// Most `Content-Encoding` codings undone in one response, as Suricata's
    /// `response-body-decompress-layer-limit` (0: no limit). Default 2.
    pub decompress_layer_limit: usize,
    /// Most bytes one response's decompressor may produce; past it decompression stops
    /// with a `COMPRESSION_BOMB` anomaly. Default 1 MiB (decompression also stops, silently,
    /// once the kept body is full).
    pub max_decompressed_bytes: usize,
    /// Largest tolerated ratio of decompressed to compressed bytes, checked once the output
    /// passes 64 KiB; past it decompression stops with `COMPRESSION_BOMB`. Default 2048.
    pub max_decompression_ratio: u64,
    /// Hashes computed for every file a transaction carries (request and response bodies,
    /// see the crate's file rules). Default none.
    pub file_hashes: tapwatch_files::FileHashes,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_header_bytes: 64 * 1024,
            max_headers: 256,
            request_body_limit: 100 * 1024,
            response_body_limit: 100 * 1024,
            max_pending_transactions: 64,
            decompress: true,
            decompress_layer_limit: 2,
            max_decompressed_bytes: 1024 * 1024,
            max_decompression_ratio: 2048,
            file_hashes: tapwatch_files::FileHashes::NONE,
        }
    }
}
