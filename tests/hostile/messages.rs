//! Mistakes a person has to fix get a message that says what to do: an invalid bucket name
//! (refused before any request, naming the rule), wrong credentials, a missing bucket, an
//! archived object, and a bucket in another region.

use std::collections::BTreeMap;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::StorageClass;
use s3ferry::server::{LocalS3Server, ServerOptions, WrongRegion};
use s3ferry::storage::{EndpointConfig, EndpointRef, Location, Storage};

use crate::common::Backend;
use crate::{Cli, Env, Output};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_bucket_names_are_refused_before_any_request_with_the_rule() {
    let env = Env::new(Backend::S3s).await;
    let server = env.info.server.as_ref().unwrap();
    server.stats().reset();
    for (name, rule) in [
        ("ab", "bucket names are 3 to 63 characters long"),
        (
            "My_Bucket",
            "bucket names hold only lowercase letters, digits, '.' and '-'",
        ),
        ("-dash", "bucket names begin and end with a letter or digit"),
        ("a..b", "bucket names cannot hold two adjacent dots"),
        ("10.0.0.1", "bucket names cannot look like an IP address"),
        ("xn--punycode", "reserved prefix 'xn--'"),
    ] {
        let loc = Location::s3(EndpointRef::Named("t".into()), name, "");
        let err = env.storage.create_dir(&loc).await.unwrap_err().to_string();
        assert!(
            err.contains(rule) && err.contains(&format!("{name:?}")),
            "{name}: {err}"
        );
    }
    assert_eq!(server.stats().all_requests(), BTreeMap::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_and_a_missing_bucket_say_what_to_do() {
    let env = Env::new(Backend::S3s).await;
    env.put("f.txt", b"x").await;
    let bad = Cli::new(&env.info.url, &env.info.access_key, "not-the-secret", None);
    let dst = env.path("dst/");
    let file = format!("t:{}/f.txt", env.bucket);
    for args in [
        vec!["ls", "t:"],
        vec!["cp", file.as_str(), dst.to_str().unwrap()],
    ] {
        let out = bad.run(&args).await;
        assert_ne!(out.code, 0);
        // A listing gets S3's error code; a HEAD (the first request of a download) gets a bare
        // 403, which cannot tell a wrong secret from a missing permission.
        assert!(
            out.stderr
                .contains("rejected the credentials (SignatureDoesNotMatch): check the access key and secret, or the profile")
                || out.stderr.contains("access denied to \"f.txt\" in bucket")
                    && out.stderr.contains("check the credentials"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("not-the-secret"), "{}", out.stderr);
    }

    let cli = env.cli();
    let out = cli.run(&["ls", "t:no-such-bucket-here/"]).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("no such bucket \"no-such-bucket-here\" on t ("),
        "{}",
        out.stderr
    );
    let out = cli
        .run(&[
            "cp",
            env.path("").to_str().unwrap(),
            "t:no-such-bucket-here/k",
        ])
        .await;
    assert_ne!(out.code, 0);
}

/// An object in the GLACIER class, put with the SDK (s3ferry has no storage-class option).
async fn archived(env: &Env) {
    let cfg = EndpointConfig::with_keys(&env.info.url, &env.info.access_key, &env.info.secret_key);
    let client = s3ferry::storage::endpoint::build_client(&cfg).await;
    client
        .put_object()
        .bucket(&env.bucket)
        .key("cold.bin")
        .storage_class(StorageClass::Glacier)
        .body(ByteStream::from_static(b"frozen"))
        .send()
        .await
        .unwrap();
    let info = env.storage.stat(&env.key("cold.bin")).await.unwrap();
    assert_eq!(info.storage_class.as_deref(), Some("GLACIER"));
}

fn assert_archived(what: &str, out: &Output) {
    assert_eq!(out.code, 1, "{what}");
    assert!(
        out.stderr.contains("\"cold.bin\" in bucket")
            && out.stderr.contains("is archived")
            && out.stderr.contains("restore it before reading"),
        "{what}: {}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archived_object_says_restore_it() {
    let env = Env::new(Backend::S3s).await;
    archived(&env).await;
    let dst = env.path("dst/");
    std::fs::create_dir_all(&dst).unwrap();
    let cold = format!("t:{}/cold.bin", env.bucket);
    let out = env.cli().run(&["cp", &cold, dst.to_str().unwrap()]).await;
    assert_archived("download", &out);
    assert!(crate::tree(&dst).is_empty(), "no partial download");
}

/// The archived object is the copy's source, and the message must name it (not the
/// destination key).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archived_source_of_a_server_side_copy_is_named() {
    let env = Env::new(Backend::S3s).await;
    archived(&env).await;
    let cold = format!("t:{}/cold.bin", env.bucket);
    let copy = format!("t:{}/copy.bin", env.bucket);
    let out = env.cli().run(&["cp", &cold, &copy]).await;
    assert_archived("server-side copy", &out);
}

async fn regional_server(env_dir: &std::path::Path, how: WrongRegion) -> (LocalS3Server, String) {
    let options = ServerOptions {
        region: "eu-west-1".into(),
        wrong_region: how,
        ..ServerOptions::default()
    };
    let server = LocalS3Server::start_with(env_dir, "AKIDEU", "eu-secret", options)
        .await
        .unwrap();
    // Set up with the right region.
    let mut cfg = EndpointConfig::with_keys(&server.url(), "AKIDEU", "eu-secret");
    cfg.region = Some("eu-west-1".into());
    let storage = Storage::new(
        EndpointConfig::default(),
        BTreeMap::from([("eu".to_string(), cfg)]),
    );
    let bucket = crate::common::fresh_bucket();
    let root = Location::s3(EndpointRef::Named("eu".into()), &bucket, "");
    storage.create_dir(&root).await.unwrap();
    crate::common::put(&storage, &root.join("f.txt"), b"hello").await;
    (server, bucket)
}

/// Runs `args` (`{b}` is the bucket) signed for us-east-1 against a server in eu-west-1.
async fn in_the_wrong_region(how: WrongRegion, args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let (server, bucket) = regional_server(dir.path(), how).await;
    let cli = Cli::new(&server.url(), "AKIDEU", "eu-secret", Some("us-east-1"));
    let dst = cli.dir.path().join("dst/");
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            a.replace("{b}", &bucket)
                .replace("{dst}", dst.to_str().unwrap())
        })
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = cli.run(&args).await;
    assert_ne!(out.code, 0, "{how:?} {args:?}");
    assert!(
        out.stderr.contains(&format!(
            "bucket {bucket:?} is in region \"eu-west-1\": set region = \"eu-west-1\" for this endpoint"
        )),
        "{how:?} {args:?}: {}",
        out.stderr
    );
    // With the region set, the same command works.
    let fixed = Cli::new(&server.url(), "AKIDEU", "eu-secret", Some("eu-west-1"));
    let out = fixed.run(&args).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_in_another_region_names_the_region_to_set() {
    for how in [WrongRegion::Malformed, WrongRegion::Redirect] {
        in_the_wrong_region(how, &["ls", "t:{b}/"]).await;
    }
    in_the_wrong_region(WrongRegion::Redirect, &["cp", "t:{b}/f.txt", "{dst}"]).await;
}

/// A HEAD (the first request of a download) signed for the wrong region gets a bare
/// `400` with `x-amz-bucket-region` from a regional endpoint: no error code to go by.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_in_another_region_names_the_region_to_set() {
    in_the_wrong_region(WrongRegion::Malformed, &["cp", "t:{b}/f.txt", "{dst}"]).await;
}
