//! Protocol anomalies the parser reports, named as Suricata names its HTTP events.

/// An HTTP protocol anomaly. [`name`](HttpAnomaly::name) gives Suricata's event name as it
/// appears in EVE `anomaly` records (`app-layer-event:http.<lowercase name>` in rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpAnomaly {
    /// A request header line without a colon.
    RequestFieldMissingColon,
    /// A response header line without a colon.
    ResponseFieldMissingColon,
    /// A request chunk-size line that is not a hexadecimal length.
    InvalidRequestChunkLen,
    /// A response chunk-size line that is not a hexadecimal length.
    InvalidResponseChunkLen,
    /// A request `Transfer-Encoding` other than `chunked`.
    InvalidTransferEncodingValueInRequest,
    /// A response `Transfer-Encoding` other than `chunked`.
    InvalidTransferEncodingValueInResponse,
    /// A request `Content-Length` that is not a decimal number.
    InvalidContentLengthFieldInRequest,
    /// A response `Content-Length` that is not a decimal number.
    InvalidContentLengthFieldInResponse,
    /// Two `Content-Length` headers with different values in a request.
    DuplicateContentLengthFieldInRequest,
    /// Two `Content-Length` headers with different values in a response.
    DuplicateContentLengthFieldInResponse,
    /// A second `100 Continue` for the same transaction.
    ContinueAlreadySeen,
    /// A response with no request left to pair it with.
    UnableToMatchResponseToRequest,
    /// The port of the `Host` header is not a number.
    InvalidServerPortInRequest,
    /// The port of an absolute or authority-form URI is not a number.
    InvalidAuthorityPort,
    /// A request header with an empty name or whitespace in its name.
    RequestHeaderInvalid,
    /// A response header with an empty name or whitespace in its name.
    ResponseHeaderInvalid,
    /// An HTTP/1.1 request without a `Host` header.
    MissingHostHeader,
    /// The host of an absolute URI and the `Host` header differ.
    HostHeaderAmbiguous,
    /// A folded (continuation) line with no header before it, in a request.
    InvalidRequestFieldFolding,
    /// A folded (continuation) line with no header before it, in a response.
    InvalidResponseFieldFolding,
    /// A request line or header (block) longer than the configured bound.
    RequestFieldTooLong,
    /// A status line or header (block) longer than the configured bound.
    ResponseFieldTooLong,
    /// The host part of the request URI is not a valid host name.
    RequestUriHostInvalid,
    /// The `Host` header is not a valid host name.
    RequestHeaderHostInvalid,
    /// The method is followed by a delimiter other than a space.
    MethodDelimNonCompliant,
    /// The URI is followed by a delimiter other than a space.
    UriDelimNonCompliant,
    /// The request line starts with whitespace.
    RequestLineLeadingWhitespace,
    /// A request header name seen a second time (raised once per repeated name).
    RequestHeaderRepetition,
    /// A response header name seen a second time (raised once per repeated name).
    ResponseHeaderRepetition,
    /// A chunked response whose status line says HTTP/1.0 or older.
    ResponseChunkedOldProto,
    /// The status line's protocol is not `HTTP/<digit>.<digit>`.
    ResponseLineInvalidProtocol,
    /// The status code is not a three-digit number.
    ResponseInvalidStatus,
    /// A request line with a known method whose protocol is malformed.
    RequestLineInvalid,
    /// A request line with a known method and no protocol (HTTP/0.9).
    RequestLineMissingProtocol,
    /// A request line with an unknown method and a valid protocol.
    RequestLineUnknownMethod,
    /// A request line with an unknown method and no protocol.
    RequestLineUnknownMethodNoProtocol,
    /// A request line with an unknown method and a malformed protocol.
    RequestLineUnknownMethodInvalidProtocol,
    /// More request headers than the configured bound.
    RequestTooManyHeaders,
    /// More response headers than the configured bound.
    ResponseTooManyHeaders,
    /// A request chunk-size line with a chunk extension.
    RequestChunkExtension,
    /// A response chunk-size line with a chunk extension.
    ResponseChunkExtension,
    /// A gzip or deflate response body that failed to decode.
    GzipDecompressionFailed,
    /// Decompression passed its size or ratio bound.
    CompressionBomb,
    /// A stream gap where the parser could not skip it (outside a body of known length).
    InvalidGap,
    /// A `multipart/*` request body with a part header line that is not a header field
    /// (raised once per request).
    MultipartInvalidHeader,
    /// A request `Authorization` scheme other than Basic, Digest or Bearer.
    RequestAuthUnrecognized,
    /// A response that cannot have a body (to HEAD, 204, 304) declaring one with
    /// `Content-Length` or `Transfer-Encoding`.
    ResponseBodyUnexpected,
}

impl HttpAnomaly {
    /// Suricata's event name, e.g. `"RESPONSE_HEADER_REPETITION"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::RequestFieldMissingColon => "REQUEST_FIELD_MISSING_COLON",
            Self::ResponseFieldMissingColon => "RESPONSE_FIELD_MISSING_COLON",
            Self::InvalidRequestChunkLen => "INVALID_REQUEST_CHUNK_LEN",
            Self::InvalidResponseChunkLen => "INVALID_RESPONSE_CHUNK_LEN",
            Self::InvalidTransferEncodingValueInRequest => {
                "INVALID_TRANSFER_ENCODING_VALUE_IN_REQUEST"
            }
            Self::InvalidTransferEncodingValueInResponse => {
                "INVALID_TRANSFER_ENCODING_VALUE_IN_RESPONSE"
            }
            Self::InvalidContentLengthFieldInRequest => "INVALID_CONTENT_LENGTH_FIELD_IN_REQUEST",
            Self::InvalidContentLengthFieldInResponse => "INVALID_CONTENT_LENGTH_FIELD_IN_RESPONSE",
            Self::DuplicateContentLengthFieldInRequest => {
                "DUPLICATE_CONTENT_LENGTH_FIELD_IN_REQUEST"
            }
            Self::DuplicateContentLengthFieldInResponse => {
                "DUPLICATE_CONTENT_LENGTH_FIELD_IN_RESPONSE"
            }
            Self::ContinueAlreadySeen => "100_CONTINUE_ALREADY_SEEN",
            Self::UnableToMatchResponseToRequest => "UNABLE_TO_MATCH_RESPONSE_TO_REQUEST",
            Self::InvalidServerPortInRequest => "INVALID_SERVER_PORT_IN_REQUEST",
            Self::InvalidAuthorityPort => "INVALID_AUTHORITY_PORT",
            Self::RequestHeaderInvalid => "REQUEST_HEADER_INVALID",
            Self::ResponseHeaderInvalid => "RESPONSE_HEADER_INVALID",
            Self::MissingHostHeader => "MISSING_HOST_HEADER",
            Self::HostHeaderAmbiguous => "HOST_HEADER_AMBIGUOUS",
            Self::InvalidRequestFieldFolding => "INVALID_REQUEST_FIELD_FOLDING",
            Self::InvalidResponseFieldFolding => "INVALID_RESPONSE_FIELD_FOLDING",
            Self::RequestFieldTooLong => "REQUEST_FIELD_TOO_LONG",
            Self::ResponseFieldTooLong => "RESPONSE_FIELD_TOO_LONG",
            Self::RequestUriHostInvalid => "REQUEST_URI_HOST_INVALID",
            Self::RequestHeaderHostInvalid => "REQUEST_HEADER_HOST_INVALID",
            Self::MethodDelimNonCompliant => "METHOD_DELIM_NON_COMPLIANT",
            Self::UriDelimNonCompliant => "URI_DELIM_NON_COMPLIANT",
            Self::RequestLineLeadingWhitespace => "REQUEST_LINE_LEADING_WHITESPACE",
            Self::RequestHeaderRepetition => "REQUEST_HEADER_REPETITION",
            Self::ResponseHeaderRepetition => "RESPONSE_HEADER_REPETITION",
            Self::ResponseChunkedOldProto => "RESPONSE_CHUNKED_OLD_PROTO",
            Self::ResponseLineInvalidProtocol => "RESPONSE_LINE_INVALID_PROTOCOL",
            Self::ResponseInvalidStatus => "RESPONSE_INVALID_STATUS",
            Self::RequestLineInvalid => "REQUEST_LINE_INVALID",
            Self::RequestLineMissingProtocol => "REQUEST_LINE_MISSING_PROTOCOL",
            Self::RequestLineUnknownMethod => "REQUEST_LINE_UNKNOWN_METHOD",
            Self::RequestLineUnknownMethodNoProtocol => "REQUEST_LINE_UNKNOWN_METHOD_NO_PROTOCOL",
            Self::RequestLineUnknownMethodInvalidProtocol => {
                "REQUEST_LINE_UNKNOWN_METHOD_INVALID_PROTOCOL"
            }
            Self::RequestTooManyHeaders => "REQUEST_TOO_MANY_HEADERS",
            Self::ResponseTooManyHeaders => "RESPONSE_TOO_MANY_HEADERS",
            Self::RequestChunkExtension => "REQUEST_CHUNK_EXTENSION",
            Self::ResponseChunkExtension => "RESPONSE_CHUNK_EXTENSION",
            Self::GzipDecompressionFailed => "GZIP_DECOMPRESSION_FAILED",
            Self::CompressionBomb => "COMPRESSION_BOMB",
            Self::InvalidGap => "INVALID_GAP",
            Self::MultipartInvalidHeader => "MULTIPART_INVALID_HEADER",
            Self::RequestAuthUnrecognized => "REQUEST_AUTH_UNRECOGNIZED",
            Self::ResponseBodyUnexpected => "RESPONSE_BODY_UNEXPECTED",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_suricata_spelling() {
        assert_eq!(
            HttpAnomaly::ContinueAlreadySeen.name(),
            "100_CONTINUE_ALREADY_SEEN"
        );
        assert_eq!(
            HttpAnomaly::ResponseHeaderRepetition.name(),
            "RESPONSE_HEADER_REPETITION"
        );
        assert_eq!(
            HttpAnomaly::RequestLineUnknownMethodInvalidProtocol.name(),
            "REQUEST_LINE_UNKNOWN_METHOD_INVALID_PROTOCOL"
        );
        assert_eq!(HttpAnomaly::InvalidGap.name(), "INVALID_GAP");
    }
}
