//! A store that rejects the checksums the SDKs send since early 2025.

use super::*;

/// What the SDKs send since early 2025 and several S3-compatible stores refuse.
fn carries_sdk_checksums(q: &Req) -> bool {
    q.headers.iter().any(|(n, _)| {
        let n = n.to_ascii_lowercase();
        (n.starts_with("x-amz-checksum-") && n != "x-amz-checksum-mode")
            || n == "x-amz-sdk-checksum-algorithm"
            || n == "x-amz-trailer"
    })
}

fn reject_sdk_checksums(proxy: &Proxy) {
    proxy.add(Rule::new(
        carries_sdk_checksums,
        Action::error(
            400,
            "InvalidArgument",
            "Unsupported header 'x-amz-sdk-checksum-algorithm' received for this API call.",
        ),
    ));
    proxy.add(Rule::new(
        |q: &Req| q.is_delete_objects() && q.header("content-md5").is_none(),
        Action::error(
            400,
            "MissingContentMD5",
            "Missing required header for this request: Content-MD5",
        ),
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_rejecting_sdk_checksums_is_named_and_when_required_works() {
    let env = Env::new(Backend::S3s).await;
    reject_sdk_checksums(&env.proxy);
    // The same server and bucket through a second proxy, as an endpoint set to when_required.
    let proxy = Proxy::start(&env.server.url).await;
    reject_sdk_checksums(&proxy);
    let mut cfg =
        EndpointConfig::with_keys(&proxy.url(), &env.server.access_key, &env.server.secret_key);
    cfg.checksums = Checksums::WhenRequired;
    let required = Arc::new(Storage::new(
        EndpointConfig::default(),
        BTreeMap::from([("r".to_string(), cfg)]),
    ));
    let at_r = |key: &str| Location::s3(EndpointRef::Named("r".into()), &env.bucket_name(), key);
    let (small, big) = (data(100_000, 1), data(11 * MIB as usize, 2));
    write_file(&env.path("small.bin"), &small);
    write_file(&env.path("big.bin"), &big);

    let hint = "checksums = \"when_required\"";
    for name in ["small.bin", "big.bin"] {
        let r = env
            .run(job(
                JobKind::Copy,
                &env.local(name),
                &env.bucket.join(name),
                small_parts(),
            ))
            .await;
        assert_failed_with(&r, &[hint]);
        assert!(!env.exists(name).await);
    }

    let run_r = |spec: JobSpec| {
        let required = required.clone();
        async move {
            let (worker, mut rx) = Worker::new(required, 4, None);
            worker.submit(spec);
            wait_done(&mut rx).await
        }
    };
    for (name, bytes) in [("small.bin", &small), ("big.bin", &big)] {
        let r = run_r(job(
            JobKind::Copy,
            &env.local(name),
            &at_r(name),
            small_parts(),
        ))
        .await;
        assert_eq!(r.status, JobStatus::Finished, "{:?}", r.failures);
        let got = common::read_all(&required, &at_r(name)).await;
        assert_eq!(sha256(&got), sha256(bytes), "{name}");
    }
    // Deleting: refused with the hint on one endpoint, done with Content-MD5 on the other.
    let delete = |loc: Location| JobSpec {
        kind: JobKind::Delete,
        sources: vec![loc],
        dest: None,
        options: JobOptions::default(),
    };
    let r = env.run(delete(env.bucket.join("small.bin"))).await;
    assert_failed_with(&r, &[hint]);
    let r = run_r(delete(at_r("small.bin"))).await;
    assert_eq!(r.status, JobStatus::Finished, "{:?}", r.failures);
    assert!(!env.exists("small.bin").await && env.exists("big.bin").await);
    assert_eq!(proxy.count(carries_sdk_checksums), 0);
    assert_eq!(proxy.count(|q| q.status == Some(400)), 0);
    assert!(proxy.count(|q| q.is_upload_part() && q.header("content-md5").is_some()) >= 3);
}
