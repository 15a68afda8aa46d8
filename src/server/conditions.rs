//! What a read asks for: the preconditions of GET, HEAD, copies and conditional writes
//! (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since), and the bytes selected by a
//! Range header or a part number.

use std::sync::Arc;
use std::time::SystemTime;

use s3s::dto::*;
use s3s::{S3ErrorCode, S3Result, s3_error};

use super::store::ObjectMeta;

/// The bytes a GET or HEAD asks for.
pub(crate) struct Selection {
    pub range: std::ops::Range<u64>,
    pub content_range: Option<String>,
    pub parts_count: Option<i32>,
    /// The whole object, so its checksum applies.
    pub whole: bool,
}

pub(crate) fn select(
    meta: &ObjectMeta,
    range: Option<&Range>,
    part: Option<i32>,
) -> S3Result<Selection> {
    let size = meta.size;
    let invalid_range = || s3_error!(InvalidRange, "The requested range is not satisfiable");
    let (r, parts_count) = match (range, part) {
        (Some(_), Some(_)) => {
            return Err(s3_error!(
                InvalidRequest,
                "Cannot specify both Range header and partNumber query parameter"
            ));
        }
        (Some(r), None) => {
            let r = r.check(size).map_err(|_| invalid_range())?;
            if r.is_empty() {
                return Err(invalid_range());
            }
            (r, None)
        }
        (None, Some(n)) if meta.parts.is_empty() && n == 1 => (0..size, None),
        (None, Some(n)) if n >= 1 && (n as usize) <= meta.parts.len() => {
            let start: u64 = meta.parts[..n as usize - 1].iter().sum();
            let r = start..start + meta.parts[n as usize - 1];
            (r, Some(meta.parts.len() as i32))
        }
        (None, Some(_)) => {
            let mut e = s3s::S3Error::with_message(
                S3ErrorCode::Custom("InvalidPartNumber".into()),
                "The requested partnumber is not satisfiable",
            );
            if let Some(status) = S3ErrorCode::InvalidRange.status_code() {
                e.set_status_code(status);
            }
            return Err(e);
        }
        (None, None) => {
            return Ok(Selection {
                range: 0..size,
                content_range: None,
                parts_count: None,
                whole: true,
            });
        }
    };
    Ok(Selection {
        content_range: Some(format!("bytes {}-{}/{size}", r.start, r.end - 1)),
        whole: r.start == 0 && r.end == size && parts_count.is_none(),
        range: r,
        parts_count,
    })
}

fn etag_matches(cond: &ETagCondition, value: &str) -> bool {
    match cond {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value() == value,
    }
}

/// Whole seconds, as HTTP dates carry.
fn secs(t: SystemTime) -> i64 {
    time::OffsetDateTime::from(t).unix_timestamp()
}

fn ts_secs(t: &Timestamp) -> i64 {
    time::OffsetDateTime::from(t.clone()).unix_timestamp()
}

/// If-Match, If-Unmodified-Since (→ 412), If-None-Match, If-Modified-Since (→ `unchanged`: 304
/// for GET and HEAD, 412 for a copy source), with S3's precedence.
pub(crate) fn check_conditions(
    meta: &ObjectMeta,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
    modified_since: Option<&Timestamp>,
    unmodified_since: Option<&Timestamp>,
    unchanged: S3ErrorCode,
) -> S3Result<()> {
    let failed = || {
        s3_error!(
            PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold"
        )
    };
    let m = secs(meta.modified);
    match (if_match, unmodified_since) {
        (Some(c), _) if !etag_matches(c, &meta.etag) => return Err(failed()),
        (None, Some(t)) if m > ts_secs(t) => return Err(failed()),
        _ => {}
    }
    let not_modified = match (if_none_match, modified_since) {
        (Some(c), _) => etag_matches(c, &meta.etag),
        (None, Some(t)) => m <= ts_secs(t),
        _ => false,
    };
    if not_modified {
        return Err(if unchanged == S3ErrorCode::NotModified {
            s3_error!(NotModified)
        } else {
            failed()
        });
    }
    Ok(())
}

/// A PUT's or a completion's If-Match / If-None-Match against the current object.
pub(crate) fn check_write_conditions(
    current: Option<&Arc<ObjectMeta>>,
    (if_match, if_none_match): &(Option<ETagCondition>, Option<ETagCondition>),
) -> S3Result<()> {
    let failed = |why: &str| s3_error!(PreconditionFailed, "{why}");
    if let Some(c) = if_none_match
        && let Some(cur) = current
        && etag_matches(c, &cur.etag)
    {
        return Err(failed(
            "At least one of the pre-conditions you specified did not hold",
        ));
    }
    if let Some(c) = if_match {
        match current {
            None => return Err(s3_error!(NoSuchKey, "The specified key does not exist.")),
            Some(cur) if !etag_matches(c, &cur.etag) => {
                return Err(failed(
                    "At least one of the pre-conditions you specified did not hold",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}
