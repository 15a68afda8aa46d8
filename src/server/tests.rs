//! The server through the AWS SDK, for what the storage contract suite does not reach: S3's
//! error codes, multipart validation, copies, part numbers, url-encoded listings.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumMode, CompletedMultipartUpload, CompletedPart, Delete, EncodingType, MetadataDirective,
    ObjectIdentifier,
};
use md5::{Digest, Md5};

use super::LocalS3Server;
use crate::storage::EndpointConfig;

const MIB: usize = 1024 * 1024;

async fn start() -> (LocalS3Server, Client, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalS3Server::start_fs(dir.path(), "AK", "SK")
        .await
        .unwrap();
    let cfg = EndpointConfig::with_keys(&server.url(), "AK", "SK");
    let client = crate::storage::endpoint::build_client(&cfg).await;
    client.create_bucket().bucket("bkt").send().await.unwrap();
    (server, client, dir)
}

async fn put(c: &Client, key: &str, data: &[u8]) -> String {
    let r = c
        .put_object()
        .bucket("bkt")
        .key(key)
        .body(ByteStream::from(data.to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {key:?}: {e:?}"));
    r.e_tag().unwrap().to_string()
}

async fn get(c: &Client, key: &str, range: Option<&str>) -> Vec<u8> {
    let r = c
        .get_object()
        .bucket("bkt")
        .key(key)
        .set_range(range.map(str::to_string))
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {key:?}: {e:?}"));
    r.body.collect().await.unwrap().to_vec()
}

fn code<E: ProvideErrorMetadata>(r: Result<impl std::fmt::Debug, E>) -> String {
    r.err()
        .and_then(|e| e.code().map(str::to_string))
        .unwrap_or_default()
}

fn md5_hex(parts: &[&[u8]]) -> String {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    hex::encode(h.finalize())
}

#[tokio::test]
async fn buckets_keys_and_ranges() {
    let (_s, c, _d) = start().await;
    assert_eq!(
        code(c.create_bucket().bucket("bkt").send().await),
        "BucketAlreadyOwnedByYou"
    );
    let keys = [
        "a",
        "a/b",
        "dir/",
        "..",
        "/abs",
        "back\\slash",
        "x\r\ny",
        "\u{1}ctl",
        "a b+c",
    ];
    for k in keys {
        put(&c, k, k.as_bytes()).await;
    }
    for k in keys {
        assert_eq!(get(&c, k, None).await, k.as_bytes(), "{k:?}");
    }
    let head = |k: &'static str| c.head_object().bucket("bkt").key(k).send();
    assert_eq!(head("dir/").await.unwrap().content_length(), Some(4));
    assert_eq!(code(head("dir").await), "NotFound");

    let page = c
        .list_objects_v2()
        .bucket("bkt")
        .delimiter("/")
        .encoding_type(EncodingType::Url)
        .send()
        .await
        .unwrap();
    let listed: Vec<&str> = page.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        listed,
        ["%01ctl", "..", "a", "a+b%2Bc", "back%5Cslash", "x%0D%0Ay"]
    );
    let prefixes: Vec<&str> = page
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, ["/", "a/", "dir/"]);
    let a = &page.contents()[2];
    assert_eq!(
        a.e_tag(),
        Some(format!("\"{}\"", md5_hex(&[b"a"])).as_str())
    );
    assert_eq!(
        (a.size(), a.storage_class().map(|s| s.as_str())),
        (Some(1), Some("STANDARD"))
    );

    // ListObjects (v1) pages with markers.
    let (mut marker, mut seen) = (None::<String>, Vec::new());
    loop {
        let r = c
            .list_objects()
            .bucket("bkt")
            .encoding_type(EncodingType::Url)
            .max_keys(4)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        seen.extend(r.contents().iter().map(|o| o.key().unwrap().to_string()));
        if r.is_truncated() != Some(true) {
            break;
        }
        marker = seen.last().cloned();
    }
    assert_eq!(seen.len(), keys.len());

    let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    put(&c, "r", &data).await;
    assert_eq!(get(&c, "r", Some("bytes=10-19")).await, &data[10..20]);
    assert_eq!(get(&c, "r", Some("bytes=990-")).await, &data[990..]);
    assert_eq!(get(&c, "r", Some("bytes=-5")).await, &data[995..]);
    let r = c
        .get_object()
        .bucket("bkt")
        .key("r")
        .range("bytes=1000-")
        .send()
        .await;
    assert_eq!(code(r), "InvalidRange");

    assert_eq!(
        code(c.delete_bucket().bucket("bkt").send().await),
        "BucketNotEmpty"
    );
    let ids: Vec<ObjectIdentifier> = (0..1001)
        .map(|i| {
            ObjectIdentifier::builder()
                .key(format!("k{i}"))
                .build()
                .unwrap()
        })
        .collect();
    let too_many = Delete::builder().set_objects(Some(ids)).build().unwrap();
    let r = c
        .delete_objects()
        .bucket("bkt")
        .delete(too_many)
        .send()
        .await;
    assert_eq!(code(r), "MalformedXML");
    let delete = |keys: &[&str], quiet: bool| {
        let ids = keys
            .iter()
            .map(|k| ObjectIdentifier::builder().key(*k).build().unwrap())
            .collect();
        let d = Delete::builder().set_objects(Some(ids)).quiet(quiet);
        c.delete_objects()
            .bucket("bkt")
            .delete(d.build().unwrap())
            .send()
    };
    // Quiet: only errors come back (a key with a control character could not be echoed).
    let r = delete(&keys, true).await.unwrap();
    assert_eq!((r.deleted().len(), r.errors().len()), (0, 0));
    let r = delete(&["r", "never-existed"], false).await.unwrap();
    assert_eq!((r.deleted().len(), r.errors().len()), (2, 0));
    let left = c.list_objects_v2().bucket("bkt").send().await.unwrap();
    assert_eq!(left.key_count(), Some(0));
    c.delete_object()
        .bucket("bkt")
        .key("gone")
        .send()
        .await
        .unwrap();
    c.delete_bucket().bucket("bkt").send().await.unwrap();
    assert_eq!(code(c.head_bucket().bucket("bkt").send().await), "NotFound");
}

#[tokio::test]
async fn put_digests_and_copies() {
    let (_s, c, _d) = start().await;
    let bad_md5 = aws_smithy_types::base64::encode(Md5::digest(b"other"));
    let r = c
        .put_object()
        .bucket("bkt")
        .key("k")
        .content_md5(bad_md5)
        .body(ByteStream::from_static(b"data"))
        .send()
        .await;
    assert_eq!(code(r), "BadDigest");
    assert!(code(c.head_object().bucket("bkt").key("k").send().await) == "NotFound");
    c.put_object()
        .bucket("bkt")
        .key("k")
        .content_type("text/plain")
        .metadata("colour", "blue")
        .body(ByteStream::from_static(b"data"))
        .send()
        .await
        .unwrap();
    let h = c
        .head_object()
        .bucket("bkt")
        .key("k")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(
        h.e_tag(),
        Some(format!("\"{}\"", md5_hex(&[b"data"])).as_str())
    );
    assert_eq!(h.content_type(), Some("text/plain"));
    assert_eq!(h.metadata().unwrap()["colour"], "blue");
    assert!(h.checksum_crc32().is_some(), "the SDK's CRC32 is kept");

    let copy = |to: &str| c.copy_object().bucket("bkt").key(to).copy_source("bkt/k");
    assert_eq!(code(copy("k").send().await), "InvalidRequest");
    copy("c1").send().await.unwrap();
    let h = c
        .head_object()
        .bucket("bkt")
        .key("c1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (h.content_type(), h.metadata().unwrap()["colour"].as_str()),
        (Some("text/plain"), "blue")
    );
    copy("c2")
        .metadata_directive(MetadataDirective::Replace)
        .content_type("x/y")
        .send()
        .await
        .unwrap();
    let h = c
        .head_object()
        .bucket("bkt")
        .key("c2")
        .send()
        .await
        .unwrap();
    assert_eq!(h.content_type(), Some("x/y"));
    assert!(h.metadata().is_none_or(|m| m.is_empty()));
    assert_eq!(get(&c, "c2", None).await, b"data");
    let r = c
        .copy_object()
        .bucket("bkt")
        .key("c3")
        .copy_source("bkt/none")
        .send()
        .await;
    assert_eq!(code(r), "NoSuchKey");
}

#[tokio::test]
async fn multipart_rules_and_etags() {
    let (_s, c, _d) = start().await;
    let create = || async {
        let r = c
            .create_multipart_upload()
            .bucket("bkt")
            .key("m")
            .send()
            .await
            .unwrap();
        r.upload_id().unwrap().to_string()
    };
    let part = |id: String, n: i32, data: Vec<u8>| {
        c.upload_part()
            .bucket("bkt")
            .key("m")
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(data))
            .send()
    };
    let done = |n: i32, etag: &str| CompletedPart::builder().part_number(n).e_tag(etag).build();
    let complete = |id: String, parts: Vec<CompletedPart>| {
        c.complete_multipart_upload()
            .bucket("bkt")
            .key("m")
            .upload_id(id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
    };
    let (p1, p2) = (vec![1u8; 5 * MIB], vec![2u8; 1000]);
    let id = create().await;
    let e1 = part(id.clone(), 1, p1.clone())
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string();
    let e2 = part(id.clone(), 2, p2.clone())
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string();
    let r = complete(id.clone(), vec![done(2, &e2), done(1, &e1)]).await;
    assert_eq!(code(r), "InvalidPartOrder");
    let r = complete(id.clone(), vec![done(1, &e2), done(2, &e2)]).await;
    assert_eq!(code(r), "InvalidPart");
    let listed = c
        .list_multipart_uploads()
        .bucket("bkt")
        .prefix("m")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.uploads().len(), 1);
    let parts = c
        .list_parts()
        .bucket("bkt")
        .key("m")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    let numbers: Vec<i32> = parts
        .parts()
        .iter()
        .filter_map(|p| p.part_number())
        .collect();
    assert_eq!(numbers, [1, 2]);
    let r = complete(id.clone(), vec![done(1, &e1), done(2, &e2)])
        .await
        .unwrap();
    let md5s = [Md5::digest(&p1), Md5::digest(&p2)].concat();
    assert_eq!(
        r.e_tag(),
        Some(format!("\"{}-2\"", md5_hex(&[&md5s])).as_str())
    );
    let h = c
        .head_object()
        .bucket("bkt")
        .key("m")
        .part_number(2)
        .send()
        .await
        .unwrap();
    assert_eq!((h.parts_count(), h.content_length()), (Some(2), Some(1000)));
    assert!(
        c.list_multipart_uploads()
            .bucket("bkt")
            .send()
            .await
            .unwrap()
            .uploads()
            .is_empty()
    );

    // A small part that is not the last is refused; abort makes the upload unknown.
    let id = create().await;
    let e1 = part(id.clone(), 1, vec![3u8; 1000])
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string();
    let e2 = part(id.clone(), 2, vec![4u8; 10])
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string();
    let r = complete(id.clone(), vec![done(1, &e1), done(2, &e2)]).await;
    assert_eq!(code(r), "EntityTooSmall");
    c.abort_multipart_upload()
        .bucket("bkt")
        .key("m")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(code(part(id.clone(), 3, vec![0]).await), "NoSuchUpload");

    // UploadPartCopy ranges of the multipart object, and a copy of it gets a plain MD5 ETag.
    let id = create().await;
    let copy = |n: i32, range: &str| {
        c.upload_part_copy()
            .bucket("bkt")
            .key("m")
            .upload_id(&id)
            .part_number(n)
            .copy_source("bkt/m")
            .copy_source_range(range)
            .send()
    };
    let whole: Vec<u8> = [p1.clone(), p2.clone()].concat();
    let c1 = copy(1, &format!("bytes=0-{}", 5 * MIB)).await.unwrap();
    let c2 = copy(2, &format!("bytes={}-{}", 5 * MIB + 1, whole.len() - 1))
        .await
        .unwrap();
    assert_eq!(code(copy(3, "bytes=0-99999999").await), "InvalidRange");
    let tag = |r: &aws_sdk_s3::operation::upload_part_copy::UploadPartCopyOutput| {
        r.copy_part_result().unwrap().e_tag().unwrap().to_string()
    };
    complete(id.clone(), vec![done(1, &tag(&c1)), done(2, &tag(&c2))])
        .await
        .unwrap();
    assert_eq!(get(&c, "m", None).await, whole);
    let r = c
        .copy_object()
        .bucket("bkt")
        .key("plain")
        .copy_source("bkt/m")
        .send()
        .await
        .unwrap();
    let etag = r.copy_object_result().unwrap().e_tag().unwrap();
    assert_eq!(etag, format!("\"{}\"", md5_hex(&[&whole])));
}
