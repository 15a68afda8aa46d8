//! The server's access check, run on every request once its signature is verified: refuses
//! anonymous requests (s3s's default), counts the request, and answers a request signed for
//! another region the way AWS does, naming the bucket's region in `x-amz-bucket-region`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use s3s::access::{S3Access, S3AccessContext};
use s3s::{S3Error, S3Result, s3_error};

use super::stats::ServerStats;

/// How the server answers a request signed for a region other than its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WrongRegion {
    /// `400 AuthorizationHeaderMalformed` ("the region 'X' is wrong; expecting 'Y'"), as a
    /// regional AWS endpoint answers.
    #[default]
    Malformed,
    /// `301 PermanentRedirect`, as AWS's global endpoint answers for a bucket elsewhere.
    Redirect,
}

pub(crate) struct Access {
    pub region: String,
    pub wrong_region: WrongRegion,
    pub stats: Arc<ServerStats>,
}

/// The region in a SigV4 credential scope (`AK/DATE/REGION/s3/aws4_request`), from the
/// `Authorization` header or a presigned URL's `X-Amz-Credential`.
fn signing_region(authorization: Option<&str>, query: Option<&str>) -> Option<String> {
    let scope = match (authorization, query) {
        (Some(h), _) if h.starts_with("AWS4-") => {
            let rest = &h[h.find("Credential=")? + "Credential=".len()..];
            rest.split([',', ' ']).next()?.to_string()
        }
        (_, Some(q)) => {
            let v = q
                .split('&')
                .find_map(|kv| kv.strip_prefix("X-Amz-Credential="))?;
            percent_encoding::percent_decode_str(v)
                .decode_utf8()
                .ok()?
                .into_owned()
        }
        _ => return None,
    };
    scope.split('/').nth(2).map(str::to_string)
}

impl Access {
    fn check_now(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        if cx.credentials().is_none() {
            return Err(s3_error!(AccessDenied, "Signature is required"));
        }
        self.stats.count(cx.s3_op().name());
        // Listing buckets is global; everything addressed to a bucket is regional.
        if matches!(cx.s3_path(), s3s::path::S3Path::Root) {
            return Ok(());
        }
        let auth = cx
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        let Some(region) = signing_region(auth, cx.uri().query()) else {
            return Ok(());
        };
        if region == self.region {
            return Ok(());
        }
        let mut err = match self.wrong_region {
            WrongRegion::Malformed => s3_error!(
                AuthorizationHeaderMalformed,
                "The authorization header is malformed; the region '{region}' is wrong; expecting '{}'",
                self.region
            ),
            WrongRegion::Redirect => s3_error!(
                PermanentRedirect,
                "The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint."
            ),
        };
        let mut headers = cx.headers().clone();
        headers.clear();
        let value = self.region.parse().map_err(|_| -> S3Error {
            s3_error!(InternalError, "the server's region is not a header value")
        })?;
        headers.insert("x-amz-bucket-region", value);
        err.set_headers(headers);
        Err(err)
    }
}

impl S3Access for Access {
    fn check<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        cx: &'life1 mut S3AccessContext<'life2>,
    ) -> Pin<Box<dyn Future<Output = S3Result<()>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        let result = self.check_now(cx);
        Box::pin(async move { result })
    }
}

#[cfg(test)]
mod tests {
    use super::signing_region;

    #[test]
    fn finds_the_region_of_a_signature() {
        let h = "AWS4-HMAC-SHA256 Credential=AK/20250101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=ab";
        assert_eq!(signing_region(Some(h), None).as_deref(), Some("eu-west-1"));
        let q = "x-id=GetObject&X-Amz-Credential=AK%2F20250101%2Fus-east-2%2Fs3%2Faws4_request&X-Amz-Date=1";
        assert_eq!(signing_region(None, Some(q)).as_deref(), Some("us-east-2"));
        assert_eq!(signing_region(Some("AWS AK:sig"), None), None);
    }
}
