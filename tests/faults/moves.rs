//! Moves keep their sources unless the copy is verified; deletes report each refused key.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_whose_copy_fails_keeps_its_source_and_sends_no_delete() {
    let src = Env::new(Backend::S3s).await;
    let dst = Env::new(Backend::S3s).await;
    // Two endpoints, two accounts: one storage that knows both.
    let mut named = BTreeMap::new();
    for (name, env) in [("src", &src), ("dst", &dst)] {
        let mut cfg = EndpointConfig::with_keys(
            &env.proxy.url(),
            &env.server.access_key,
            &env.server.secret_key,
        );
        cfg.max_attempts = Some(2);
        named.insert(name.to_string(), cfg);
    }
    let storage = Arc::new(Storage::new(EndpointConfig::default(), named));
    let (sb, db) = (src.bucket_name(), dst.bucket_name());
    let at = |ep: &str, b: &str, k: &str| Location::s3(EndpointRef::Named(ep.into()), b, k);
    let bytes = data(2 * MIB as usize, 5);
    src.put("m/a.bin", &bytes).await;
    src.put("m/b.bin", &bytes).await;
    src.proxy.clear_log();
    dst.proxy.add(Rule::new(
        |q: &Req| q.method == "PUT" && q.path().ends_with("/a.bin"),
        Action::access_denied(),
    ));
    let run = |from: Location, to: Location| {
        let storage = storage.clone();
        async move {
            let (worker, mut rx) = Worker::new(storage, 4, None);
            worker.submit(job(JobKind::Move, &from, &to, JobOptions::default()));
            wait_done(&mut rx).await
        }
    };
    let r = run(at("src", &sb, "m/a.bin"), at("dst", &db, "a.bin")).await;
    assert_failed_with(&r, &["access denied"]);
    assert_eq!(src.proxy.count(Req::is_delete), 0, "no delete was sent");
    let left = common::read_all(&storage, &at("src", &sb, "m/a.bin")).await;
    assert_eq!(sha256(&left), sha256(&bytes));
    assert!(!dst.exists("a.bin").await);

    // The same move without the fault deletes exactly once, after the copy.
    let r = run(at("src", &sb, "m/b.bin"), at("dst", &db, "b.bin")).await;
    assert_eq!(r.status, JobStatus::Finished, "{:?}", r.failures);
    assert_eq!(src.proxy.count(Req::is_delete), 1);
    assert!(!src.exists("m/b.bin").await);
    let moved = common::read_all(&storage, &at("dst", &db, "b.bin")).await;
    assert_eq!(sha256(&moved), sha256(&bytes));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_whose_source_delete_is_denied_says_so_once() {
    let env = Env::new(Backend::S3s).await;
    let bytes = data(100_000, 6);
    for (i, action) in [
        // The whole request refused.
        Action::access_denied(),
        // The key refused inside a `200 OK` DeleteObjects answer.
        Action::Respond {
            status: 200,
            body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeleteResult><Error><Key>k1</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>".into(),
        },
    ]
    .into_iter()
    .enumerate()
    {
        let key = format!("k{i}");
        env.put(&key, &bytes).await;
        env.proxy.clear();
        env.proxy.clear_log();
        env.proxy.add(Rule::new(Req::is_delete_objects, action));
        let out = env.path(&format!("out{i}"));
        let r = env
            .run(job(
                JobKind::Move,
                &env.bucket.join(&key),
                &Location::Local(out.clone()),
                JobOptions::default(),
            ))
            .await;
        assert_failed_with(
            &r,
            &["copied and verified, source not deleted: AccessDenied"],
        );
        assert_eq!(env.proxy.count(Req::is_delete), 1, "not retried");
        assert_eq!(sha256(&std::fs::read(&out).unwrap()), sha256(&bytes));
        assert!(env.exists(&key).await, "the source stays");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2500_key_delete_with_one_key_refused() {
    let env = Env::new(Backend::S3s).await;
    let root = env.bucket.join("d/");
    futures::StreamExt::for_each_concurrent(futures::stream::iter(0..2500), 32, |i| {
        let loc = root.join(&format!("k{i:04}"));
        let storage = env.storage.clone();
        async move {
            storage
                .write(
                    &loc,
                    common::body(vec![i as u8], 1),
                    &WriteOptions::default(),
                )
                .await
                .unwrap();
        }
    })
    .await;
    env.proxy.clear_log();
    env.proxy.add(Rule::new(
        Req::is_delete_objects,
        Action::DeleteError {
            key: "d/k1234".into(),
            code: "AccessDenied".into(),
            message: "Access Denied".into(),
        },
    ));
    let r = env
        .run(JobSpec {
            kind: JobKind::Delete,
            sources: vec![root.clone()],
            dest: None,
            options: JobOptions {
                recursive: true,
                ..JobOptions::default()
            },
        })
        .await;
    assert_eq!(env.proxy.count(Req::is_delete_objects), 3);
    assert_eq!(r.files_done, 2499);
    assert_eq!(
        r.failures,
        [(
            "d/k1234".to_string(),
            "AccessDenied: Access Denied".to_string()
        )]
    );
    assert_eq!(r.status, JobStatus::Failed);
    // The 2,499 others are gone. (The proxy adds the refusal to the server's answer, so the
    // server itself did delete d/k1234: what is checked is that s3ferry reports what it is told.)
    let left = common::names(&env.storage, &root, true).await;
    assert!(left.iter().all(|k| k == "k1234"), "{left:?}");
}
