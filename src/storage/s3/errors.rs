//! Maps SDK errors to [`StorageError`]s that say what to do. Nothing here panics on any answer a
//! server gives, and nothing copies request headers (so no signature) into a message.

use std::error::Error as _;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response;

use crate::storage::endpoint::InsecureHttp;
use crate::storage::error::StorageError;

/// What was being done, for error messages.
pub(crate) struct Ctx<'a> {
    pub endpoint: &'a str,
    pub op: &'static str,
    pub bucket: &'a str,
    pub key: &'a str,
}

impl Ctx<'_> {
    fn what(&self) -> String {
        match (self.bucket.is_empty(), self.key.is_empty()) {
            (true, _) => self.endpoint.to_string(),
            (false, true) => format!("bucket {:?}", self.bucket),
            (false, false) => format!("{:?} in bucket {:?}", self.key, self.bucket),
        }
    }
}

/// The whole chain of causes, for transport errors ("connection refused", "tls handshake").
fn causes(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut src = err.source();
    while let Some(s) = src {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        src = s.source();
    }
    out
}

/// The first error of type `T` in the chain of causes.
fn find_cause<'a, T: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(t) = e.downcast_ref::<T>() {
            return Some(t);
        }
        cur = e.source();
    }
    None
}

/// Converts an SDK error into a storage error.
pub(crate) fn map<E>(err: SdkError<E, Response>, ctx: &Ctx<'_>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let endpoint = ctx.endpoint.to_string();
    if let Some(refusal) = find_cause::<InsecureHttp>(&err) {
        return StorageError::Config(format!("endpoint {endpoint}: {refusal}"));
    }
    match &err {
        SdkError::TimeoutError(_) => StorageError::Timeout {
            endpoint,
            op: ctx.op,
            what: ctx.what(),
        },
        SdkError::DispatchFailure(d) if d.is_timeout() => StorageError::Timeout {
            endpoint,
            op: ctx.op,
            what: ctx.what(),
        },
        SdkError::DispatchFailure(_) => StorageError::Unreachable {
            endpoint,
            op: ctx.op,
            cause: err.source().map(causes).unwrap_or_else(|| err.to_string()),
        },
        SdkError::ServiceError(se) => {
            let raw = se.raw();
            let status = raw.status().as_u16();
            let code = se.err().code().unwrap_or("").to_string();
            let message = se.err().message().unwrap_or("").to_string();
            let region = raw.headers().get("x-amz-bucket-region").map(str::to_string);
            classify(ctx, status, code, message, region)
        }
        _ => StorageError::Service {
            op: ctx.op,
            what: ctx.what(),
            code: "ClientError".into(),
            message: err.source().map(causes).unwrap_or_else(|| err.to_string()),
        },
    }
}

fn classify(
    ctx: &Ctx<'_>,
    status: u16,
    code: String,
    message: String,
    region: Option<String>,
) -> StorageError {
    let endpoint = ctx.endpoint.to_string();
    // A HEAD has no body, so a regional endpoint's answer to one signed for the wrong region is a
    // bare 400 (or 301) with only the `x-amz-bucket-region` header to go by.
    if let Some(region) = region.filter(|_| {
        status == 301
            || (status == 400 && code.is_empty())
            || code == "PermanentRedirect"
            || code == "AuthorizationHeaderMalformed"
    }) {
        return StorageError::WrongRegion {
            bucket: ctx.bucket.to_string(),
            region,
        };
    }
    match code.as_str() {
        "NoSuchBucket" => StorageError::NoSuchBucket {
            endpoint,
            bucket: ctx.bucket.to_string(),
        },
        "NoSuchKey" | "NotFound" | "NoSuchUpload" => StorageError::NotFound { what: ctx.what() },
        "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "InvalidToken"
        | "ExpiredToken"
        | "TokenRefreshRequired" => StorageError::BadCredentials { endpoint, code },
        // Some stores (Garage) answer a bad signature with AccessDenied and say so in the text.
        "AccessDenied" | "Forbidden" if mentions_bad_key(&message) => {
            StorageError::BadCredentials {
                endpoint,
                code: format!("{code}: {message}"),
            }
        }
        "AccessDenied" | "AllAccessDisabled" | "Forbidden" => StorageError::AccessDenied {
            op: ctx.op,
            what: ctx.what(),
        },
        "SlowDown"
        | "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "TooManyRequests" => StorageError::Throttled {
            endpoint,
            op: ctx.op,
            what: ctx.what(),
        },
        "InvalidObjectState" => StorageError::Archived {
            what: ctx.what(),
            class: "archived storage class".into(),
        },
        "BucketAlreadyOwnedByYou" | "BucketAlreadyExists" => StorageError::AlreadyExists {
            what: format!("bucket {:?}", ctx.bucket),
        },
        _ if is_checksum_complaint(&code, &message) => StorageError::ChecksumRejected {
            endpoint,
            op: ctx.op,
            what: ctx.what(),
            message: if message.is_empty() { code } else { message },
        },
        // HEAD answers carry no body, so only the status tells.
        "" if status == 404 => {
            if ctx.key.is_empty() {
                StorageError::NoSuchBucket {
                    endpoint,
                    bucket: ctx.bucket.to_string(),
                }
            } else {
                StorageError::NotFound { what: ctx.what() }
            }
        }
        "" if status == 403 => StorageError::AccessDenied {
            op: ctx.op,
            what: ctx.what(),
        },
        "" if status == 503 || status == 429 => StorageError::Throttled {
            endpoint,
            op: ctx.op,
            what: ctx.what(),
        },
        _ => StorageError::Service {
            op: ctx.op,
            what: ctx.what(),
            code: if code.is_empty() {
                format!("HTTP {status}")
            } else {
                code
            },
            message,
        },
    }
}

fn mentions_bad_key(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("signature") || m.contains("access key") || m.contains("no such key")
}

/// Stores that predate the SDKs' default CRC32 checksums answer with one of these: a complaint
/// about the checksum headers or trailers (`x-amz-checksum-crc32`, `x-amz-sdk-checksum-algorithm`,
/// `x-amz-trailer`, `STREAMING-UNSIGNED-PAYLOAD-TRAILER`), or a demand for the `Content-MD5`
/// that the SDK no longer sends on DeleteObjects.
fn is_checksum_complaint(code: &str, message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    code.contains("Checksum")
        || code == "XAmzContentSHA256Mismatch"
        || code == "MissingContentMD5"
        || (code == "InvalidArgument"
            || code == "NotImplemented"
            || code == "InvalidRequest"
            || code == "InvalidHeader"
            || code == "BadRequest")
            && (m.contains("checksum")
                || m.contains("trailer")
                || m.contains("aws-chunked")
                || m.contains("content-md5")
                || m.contains("streaming-unsigned-payload"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Ctx<'static> {
        Ctx {
            endpoint: "ep",
            op: "get",
            bucket: "b",
            key: "k\x1b[2J",
        }
    }

    #[test]
    fn classifies_codes_and_statuses() {
        let c =
            |status, code: &str, msg: &str| classify(&ctx(), status, code.into(), msg.into(), None);
        assert!(matches!(
            c(404, "NoSuchKey", ""),
            StorageError::NotFound { .. }
        ));
        assert!(matches!(c(404, "", ""), StorageError::NotFound { .. }));
        assert!(matches!(
            c(403, "SignatureDoesNotMatch", ""),
            StorageError::BadCredentials { .. }
        ));
        assert!(matches!(
            c(403, "AccessDenied", ""),
            StorageError::AccessDenied { .. }
        ));
        assert!(matches!(
            c(403, "AccessDenied", "Forbidden: Invalid signature"),
            StorageError::BadCredentials { .. }
        ));
        assert!(matches!(
            c(503, "SlowDown", ""),
            StorageError::Throttled { .. }
        ));
        assert!(matches!(
            c(400, "InvalidArgument", "x-amz-trailer is not supported"),
            StorageError::ChecksumRejected { .. }
        ));
        for (code, msg) in [
            (
                "InvalidArgument",
                "Unsupported header 'x-amz-sdk-checksum-algorithm' received for this API call.",
            ),
            (
                "NotImplemented",
                "STREAMING-UNSIGNED-PAYLOAD-TRAILER not implemented",
            ),
            (
                "MissingContentMD5",
                "Missing required header for this request: Content-MD5",
            ),
        ] {
            let e = c(400, code, msg);
            assert!(
                matches!(e, StorageError::ChecksumRejected { .. })
                    && e.to_string().contains("checksums = \"when_required\""),
                "{e}"
            );
        }
        assert!(matches!(
            c(500, "InternalError", "boom"),
            StorageError::Service { .. }
        ));
        let bare = classify(&ctx(), 400, "".into(), "".into(), Some("eu-west-1".into()));
        assert!(matches!(bare, StorageError::WrongRegion { .. }), "{bare}");
        let redirect = classify(
            &ctx(),
            301,
            "PermanentRedirect".into(),
            "".into(),
            Some("eu-west-1".into()),
        );
        assert!(redirect.to_string().contains("eu-west-1"), "{redirect}");
    }

    #[test]
    fn keys_in_messages_are_escaped() {
        let shown = classify(&ctx(), 404, "NoSuchKey".into(), "".into(), None).to_string();
        assert!(!shown.contains('\x1b'), "{shown:?}");
        assert!(shown.contains("\\u{1b}[2J"), "{shown}");
    }
}
