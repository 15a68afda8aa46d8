//! Listing keys as S3 does: prefix, delimiter (common prefixes), start-after / marker and
//! continuation tokens, max-keys (default and cap 1,000), and `EncodingType=url`. The paging
//! itself is pure, over any sorted map, so it is unit-tested directly; ListObjects (v1) and
//! ListObjectsV2 are built on it.

use std::collections::BTreeMap;
use std::ops::Bound;

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::store::{ObjectMeta, Store, etag, read};

/// Default and largest page.
pub(crate) const MAX_KEYS: usize = 1000;

/// One row of a page: a key with its value, or a common prefix (ending in the delimiter).
#[derive(Debug, PartialEq)]
pub(crate) enum Item<'a, V> {
    Key(&'a str, &'a V),
    Prefix(&'a str),
}

impl<V> Item<'_, V> {
    fn name(&self) -> &str {
        match self {
            Item::Key(k, _) | Item::Prefix(k) => k,
        }
    }
}

/// A page of a listing; when truncated, the next page starts after its last item.
#[derive(Debug)]
pub(crate) struct Page<'a, V> {
    pub items: Vec<Item<'a, V>>,
    pub truncated: bool,
}

impl<V> Page<'_, V> {
    /// Where the next page starts (after this), when there is one.
    pub(crate) fn next_after(&self) -> Option<&str> {
        self.items
            .last()
            .filter(|_| self.truncated)
            .map(|i| i.name())
    }
}

/// Up to `max` items of the keys starting with `prefix` and sorting after `after`, keys
/// holding `delimiter` past the prefix rolled up into one common prefix each. A common prefix
/// equal to `after` (returned on the previous page) is not repeated.
pub(crate) fn page<'a, V>(
    index: &'a BTreeMap<String, V>,
    prefix: &str,
    delimiter: Option<&str>,
    after: Option<&str>,
    max: usize,
) -> Page<'a, V> {
    let mut items: Vec<Item<'a, V>> = Vec::new();
    if max == 0 {
        return Page {
            items,
            truncated: false,
        };
    }
    let start = match after {
        Some(a) if a >= prefix => Bound::Excluded(a),
        _ => Bound::Included(prefix),
    };
    let delimiter = delimiter.filter(|d| !d.is_empty());
    let mut last_prefix: Option<&str> = None;
    for (key, value) in index.range::<str, _>((start, Bound::Unbounded)) {
        // Keys with a prefix are contiguous in sorted order: the first without it ends them.
        let Some(rest) = key.strip_prefix(prefix) else {
            break;
        };
        let item = match delimiter.and_then(|d| rest.find(d).map(|i| i + d.len())) {
            Some(end) => {
                let cp = &key[..prefix.len() + end];
                if last_prefix == Some(cp) || after == Some(cp) {
                    continue;
                }
                Item::Prefix(cp)
            }
            None => Item::Key(key, value),
        };
        if items.len() == max {
            return Page {
                items,
                truncated: true,
            };
        }
        if let Item::Prefix(cp) = item {
            last_prefix = Some(cp);
        }
        items.push(item);
    }
    Page {
        items,
        truncated: false,
    }
}

/// `EncodingType=url` as S3 applies it: bytes other than `A-Z a-z 0-9 - _ . * /` are
/// percent-encoded, a space becomes `+`.
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' | b'/' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// An opaque continuation token for "after this key".
pub(crate) fn encode_token(after: &str) -> String {
    aws_smithy_types::base64::encode(after.as_bytes())
}

pub(crate) fn decode_token(token: &str) -> S3Result<String> {
    aws_smithy_types::base64::decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "The continuation token provided is incorrect"
            )
        })
}

/// Whether to URL-encode the response; anything but `url` is refused, as S3 does.
pub(crate) fn url_encoding(e: Option<&EncodingType>) -> S3Result<bool> {
    match e.map(|e| e.as_str()) {
        None => Ok(false),
        Some(e) if e.eq_ignore_ascii_case(EncodingType::URL) => Ok(true),
        Some(_) => Err(s3_error!(
            InvalidArgument,
            "Invalid Encoding Method specified in Request"
        )),
    }
}

/// `max-keys` (or `max-uploads`, `max-parts`): default and cap 1,000.
pub(crate) fn max_items(n: Option<i32>) -> S3Result<usize> {
    match n {
        None => Ok(MAX_KEYS),
        Some(n) if n < 0 => Err(s3_error!(InvalidArgument, "max-keys cannot be negative")),
        Some(n) => Ok((n as usize).min(MAX_KEYS)),
    }
}

/// Encodes names for the response when asked to.
pub(crate) struct Enc(pub bool);

impl Enc {
    pub(crate) fn s(&self, s: &str) -> String {
        if self.0 { url_encode(s) } else { s.to_string() }
    }

    pub(crate) fn opt(&self, s: Option<&str>) -> Option<String> {
        s.map(|s| self.s(s))
    }
}

/// The listing rows of a page as S3's DTOs: objects and common prefixes.
fn rows(page: &Page<'_, std::sync::Arc<ObjectMeta>>, enc: &Enc) -> (ObjectList, CommonPrefixList) {
    let (mut objects, mut prefixes) = (Vec::new(), Vec::new());
    for item in &page.items {
        match item {
            Item::Key(key, meta) => objects.push(Object {
                key: Some(enc.s(key)),
                last_modified: Some(meta.modified.into()),
                e_tag: Some(etag(&meta.etag)),
                size: Some(meta.size as i64),
                storage_class: Some(ObjectStorageClass::from(
                    meta.attrs
                        .storage_class
                        .clone()
                        .unwrap_or_else(|| ObjectStorageClass::STANDARD.to_string()),
                )),
                checksum_algorithm: meta
                    .checksum
                    .as_ref()
                    .map(|s| vec![ChecksumAlgorithm::from(s.algo.name().to_string())]),
                checksum_type: meta
                    .checksum
                    .as_ref()
                    .and_then(|s| s.to_dto().checksum_type),
                ..Default::default()
            }),
            Item::Prefix(p) => prefixes.push(CommonPrefix {
                prefix: Some(enc.s(p)),
            }),
        }
    }
    (objects, prefixes)
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

impl Store {
    pub(crate) async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let i = req.input;
        let bucket = self.bucket(&i.bucket)?;
        let enc = Enc(url_encoding(i.encoding_type.as_ref())?);
        let max = max_items(i.max_keys)?;
        let prefix = i.prefix.clone().unwrap_or_default();
        let delimiter = i.delimiter.clone().filter(|d| !d.is_empty());
        let after = match &i.continuation_token {
            Some(t) => Some(decode_token(t)?),
            None => i.start_after.clone(),
        };
        let index = read(&bucket.objects);
        let page = page(&index, &prefix, delimiter.as_deref(), after.as_deref(), max);
        let (objects, prefixes) = rows(&page, &enc);
        let next = page.next_after().map(encode_token);
        let truncated = page.truncated;
        drop(index);
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(i.bucket),
            prefix: Some(enc.s(&prefix)),
            delimiter: enc.opt(delimiter.as_deref()),
            start_after: enc.opt(i.start_after.as_deref()),
            encoding_type: i.encoding_type,
            max_keys: Some(max as i32),
            key_count: Some((objects.len() + prefixes.len()) as i32),
            is_truncated: Some(truncated),
            continuation_token: i.continuation_token,
            next_continuation_token: next,
            contents: non_empty(objects),
            common_prefixes: non_empty(prefixes),
            ..Default::default()
        }))
    }

    pub(crate) async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let i = req.input;
        let bucket = self.bucket(&i.bucket)?;
        let enc = Enc(url_encoding(i.encoding_type.as_ref())?);
        let max = max_items(i.max_keys)?;
        let prefix = i.prefix.clone().unwrap_or_default();
        let delimiter = i.delimiter.clone().filter(|d| !d.is_empty());
        let index = read(&bucket.objects);
        let page = page(
            &index,
            &prefix,
            delimiter.as_deref(),
            i.marker.as_deref(),
            max,
        );
        let (objects, prefixes) = rows(&page, &enc);
        // S3 gives NextMarker only with a delimiter; without, the last key is the marker.
        let next = page
            .next_after()
            .filter(|_| delimiter.is_some())
            .map(|n| enc.s(n));
        let truncated = page.truncated;
        drop(index);
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(i.bucket),
            prefix: Some(enc.s(&prefix)),
            delimiter: enc.opt(delimiter.as_deref()),
            marker: Some(enc.s(i.marker.as_deref().unwrap_or(""))),
            encoding_type: i.encoding_type,
            max_keys: Some(max as i32),
            is_truncated: Some(truncated),
            next_marker: next,
            contents: non_empty(objects),
            common_prefixes: non_empty(prefixes),
            ..Default::default()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(keys: &[&str]) -> BTreeMap<String, ()> {
        keys.iter().map(|k| (k.to_string(), ())).collect()
    }

    fn names(p: &Page<'_, ()>) -> Vec<String> {
        p.items
            .iter()
            .map(|i| match i {
                Item::Key(k, _) => k.to_string(),
                Item::Prefix(p) => format!("[{p}]"),
            })
            .collect()
    }

    /// Every page in turn, following `next_after` as a client follows its token.
    fn all_pages(
        idx: &BTreeMap<String, ()>,
        prefix: &str,
        delim: Option<&str>,
        max: usize,
    ) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let p = page(idx, prefix, delim, after.as_deref(), max);
            out.push(names(&p));
            match p.next_after() {
                Some(n) => after = Some(n.to_string()),
                None => return out,
            }
        }
    }

    #[test]
    fn delimiter_rolls_up_and_keeps_a_key_beside_its_prefix() {
        let idx = index(&["a", "a/b", "a/c/d", "b/", "b/x", "c", "dir/"]);
        let p = page(&idx, "", Some("/"), None, 1000);
        assert_eq!(names(&p), ["a", "[a/]", "[b/]", "c", "[dir/]"]);
        assert!(!p.truncated);
        let p = page(&idx, "a/", Some("/"), None, 1000);
        assert_eq!(names(&p), ["a/b", "[a/c/]"]);
        // A folder marker lists itself under its own prefix.
        assert_eq!(names(&page(&idx, "dir/", Some("/"), None, 1000)), ["dir/"]);
        // No delimiter (or an empty one): every key.
        assert_eq!(names(&page(&idx, "", Some(""), None, 1000)).len(), 7);
        assert_eq!(names(&page(&idx, "b", None, None, 1000)), ["b/", "b/x"]);
    }

    #[test]
    fn pages_continue_without_repeats_or_gaps() {
        let idx = index(&["a", "a/1", "a/2", "b", "c/1", "c/2", "d", "e/", "f"]);
        assert_eq!(
            all_pages(&idx, "", Some("/"), 2),
            [
                vec!["a", "[a/]"],
                vec!["b", "[c/]"],
                vec!["d", "[e/]"],
                vec!["f"]
            ]
        );
        let flat: Vec<String> = all_pages(&idx, "", None, 4).concat();
        assert_eq!(flat, idx.keys().cloned().collect::<Vec<_>>());
        // Exactly full: the last page is not marked truncated.
        let p = page(&idx, "c/", None, None, 2);
        assert_eq!((names(&p).len(), p.truncated), (2, false));
        assert!(page(&idx, "", None, None, 0).items.is_empty());
    }

    #[test]
    fn start_after_and_prefix_bounds() {
        let idx = index(&["a", "b/1", "b/2", "ba", "c"]);
        assert_eq!(
            names(&page(&idx, "b", None, Some("b/1"), 10)),
            ["b/2", "ba"]
        );
        // A start-after before the prefix starts at the prefix.
        assert_eq!(
            names(&page(&idx, "b/", None, Some("a"), 10)),
            ["b/1", "b/2"]
        );
        // A start-after inside a common prefix still shows the rest of it rolled up.
        assert_eq!(
            names(&page(&idx, "", Some("/"), Some("b/1"), 10)),
            ["[b/]", "ba", "c"]
        );
        assert!(page(&idx, "b/", None, Some("z"), 10).items.is_empty());
    }

    #[test]
    fn multi_character_delimiter() {
        let idx = index(&["x--y--z", "x--q", "xy"]);
        assert_eq!(
            names(&page(&idx, "", Some("--"), None, 10)),
            ["[x--]", "xy"]
        );
        assert_eq!(
            names(&page(&idx, "x--", Some("--"), None, 10)),
            ["x--q", "[x--y--]"]
        );
    }

    #[test]
    fn url_encoding_matches_s3() {
        assert_eq!(url_encode("a b+c/d"), "a+b%2Bc/d");
        assert_eq!(url_encode("100%"), "100%25");
        assert_eq!(url_encode("cr\rlf\n"), "cr%0Dlf%0A");
        assert_eq!(url_encode("ü~*-_."), "%C3%BC%7E*-_.");
        assert_eq!(url_encode("what?#&="), "what%3F%23%26%3D");
    }

    #[test]
    fn tokens_round_trip_any_key() {
        for k in ["", "a b", "cr\r\n", "ü/ß", "%2F"] {
            assert_eq!(decode_token(&encode_token(k)).unwrap(), k);
        }
        assert!(decode_token("!!!").is_err());
    }

    #[test]
    fn max_keys_default_and_cap() {
        assert_eq!(max_items(None).unwrap(), 1000);
        assert_eq!(max_items(Some(5000)).unwrap(), 1000);
        assert_eq!(max_items(Some(7)).unwrap(), 7);
        assert!(max_items(Some(-1)).is_err());
    }
}
