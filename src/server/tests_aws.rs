//! The server answering as AWS does where s3ferry's messages depend on it: archived objects,
//! requests signed for another region; and its own test hooks (counters, seeding, latency).

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::StorageClass;

use super::{LocalS3Server, ServerOptions, WrongRegion};
use crate::storage::EndpointConfig;

async fn client(server: &LocalS3Server, region: &str) -> aws_sdk_s3::Client {
    let mut cfg = EndpointConfig::with_keys(&server.url(), "AK", "SK");
    cfg.region = Some(region.into());
    cfg.max_attempts = Some(1);
    crate::storage::endpoint::build_client(&cfg).await
}

/// The status, code and `x-amz-bucket-region` of a failed request.
fn failure<T, E: ProvideErrorMetadata>(
    r: Result<T, aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>>,
) -> (u16, String, Option<String>) {
    let Err(e) = r else {
        panic!("the request succeeded")
    };
    let raw = e.raw_response().expect("a response");
    (
        raw.status().as_u16(),
        e.code().unwrap_or_default().to_string(),
        raw.headers().get("x-amz-bucket-region").map(str::to_string),
    )
}

#[tokio::test]
async fn an_archived_object_is_listed_and_headed_but_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalS3Server::start_fs(dir.path(), "AK", "SK")
        .await
        .unwrap();
    let c = client(&server, "us-east-1").await;
    c.create_bucket().bucket("bkt").send().await.unwrap();
    c.put_object()
        .bucket("bkt")
        .key("cold")
        .storage_class(StorageClass::Glacier)
        .body(ByteStream::from_static(b"ice"))
        .send()
        .await
        .unwrap();
    let head = c
        .head_object()
        .bucket("bkt")
        .key("cold")
        .send()
        .await
        .unwrap();
    assert_eq!(head.storage_class(), Some(&StorageClass::Glacier));
    let get = c.get_object().bucket("bkt").key("cold").send().await;
    assert_eq!(failure(get), (403, "InvalidObjectState".into(), None));
    let copy = c
        .copy_object()
        .bucket("bkt")
        .key("warm")
        .copy_source("bkt/cold")
        .send()
        .await;
    assert_eq!(failure(copy).1, "InvalidObjectState");
}

#[tokio::test]
async fn a_request_for_another_region_names_the_right_one() {
    let dir = tempfile::tempdir().unwrap();
    for (how, status, code) in [
        (WrongRegion::Malformed, 400, "AuthorizationHeaderMalformed"),
        (WrongRegion::Redirect, 301, "PermanentRedirect"),
    ] {
        let options = ServerOptions {
            region: "eu-west-1".into(),
            wrong_region: how,
            ..ServerOptions::default()
        };
        let server = LocalS3Server::start_with(dir.path(), "AK", "SK", options)
            .await
            .unwrap();
        let right = client(&server, "eu-west-1").await;
        right.create_bucket().bucket("bkt").send().await.unwrap();
        let loc = right
            .get_bucket_location()
            .bucket("bkt")
            .send()
            .await
            .unwrap();
        assert_eq!(
            loc.location_constraint().map(|l| l.as_str()),
            Some("eu-west-1")
        );
        let wrong = client(&server, "us-east-1").await;
        let region = Some("eu-west-1".to_string());
        let list = wrong.list_objects_v2().bucket("bkt").send().await;
        assert_eq!(failure(list), (status, code.to_string(), region.clone()));
        // HEAD answers carry no body: the status and the header are all there is.
        let head = wrong.head_object().bucket("bkt").key("k").send().await;
        assert_eq!(failure(head), (status, String::new(), region));
        // Listing buckets is global.
        assert!(wrong.list_buckets().send().await.is_ok());
    }
}

#[tokio::test]
async fn counts_requests_and_operations_in_flight_and_seeds_keys() {
    let dir = tempfile::tempdir().unwrap();
    let options = ServerOptions {
        latency: Some(std::time::Duration::from_millis(50)),
        ..ServerOptions::default()
    };
    let server = LocalS3Server::start_with(dir.path(), "AK", "SK", options)
        .await
        .unwrap();
    assert_eq!(
        server
            .seed("bkt", (0..1500).map(|i| format!("k{i:04}")), b"seeded")
            .unwrap(),
        1500
    );
    let c = client(&server, "us-east-1").await;
    server.stats().reset();
    let heads = (0..5).map(|i| c.head_object().bucket("bkt").key(format!("k{i:04}")).send());
    for h in futures::future::join_all(heads).await {
        assert_eq!(h.unwrap().content_length(), Some(6));
    }
    let page = c.list_objects_v2().bucket("bkt").send().await.unwrap();
    assert_eq!(page.key_count(), Some(1000));
    let stats = server.stats();
    assert_eq!(
        (
            stats.requests("HeadObject"),
            stats.requests("ListObjectsV2")
        ),
        (5, 1)
    );
    assert_eq!(stats.total_requests(), 6);
    assert_eq!(
        stats.max_object_ops_in_flight(),
        5,
        "five HEADs at once, 50 ms each"
    );
    assert_eq!(stats.in_flight(), 0);
}
