//! The network fails: an outage mid-upload, a reset mid-part, throttling bursts, a stalled
//! body, corrupted bytes.

use super::*;

async fn outage_after_part_three(backend: Backend) {
    let env = Env::new(backend).await;
    let bytes = data(50 * MIB as usize, 50);
    write_file(&env.path("big.bin"), &bytes);
    env.proxy
        .add(Rule::new(Req::is_upload_part, Action::Outage).skip(3));
    let started = Instant::now();
    let r = env
        .run(job(
            JobKind::Copy,
            &env.local("big.bin"),
            &env.bucket.join("big.bin"),
            small_parts(),
        ))
        .await;
    let took = started.elapsed();
    assert!(env.proxy.in_outage());
    // Endpoint, operation and cause, after at most 3 attempts with backoff.
    assert_failed_with(
        &r,
        &[
            &format!("t ({})", env.proxy.url()),
            "upload part",
            "cannot reach",
        ],
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");
    let passed = env
        .proxy
        .count(|q| q.is_upload_part() && q.status == Some(200));
    assert!(passed <= 3, "{passed} parts went through");

    // The store comes back: the abort that failed during the outage is retried.
    env.proxy.restore();
    assert_eq!(env.uploads_after(Duration::from_secs(20)).await, vec![]);
    assert!(!env.exists("big.bin").await);
    assert_eq!(
        sha256(&std::fs::read(env.path("big.bin")).unwrap()),
        sha256(&bytes)
    );
    // And the journal knows it ended.
    let id = env
        .proxy
        .requests()
        .iter()
        .find_map(|q| q.param("uploadId").map(str::to_string))
        .unwrap();
    // (Compaction may since have dropped both lines; an open begin line is what must not be.)
    let journal = std::fs::read_to_string(journal::default_path().unwrap()).unwrap();
    let lines = |event: &str| {
        journal
            .lines()
            .filter(|l| l.contains(event) && l.contains(&id))
            .count()
    };
    assert_eq!(lines("\"begin\""), lines("\"end\""), "{id} still open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_after_part_three_s3s() {
    outage_after_part_three(Backend::S3s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_after_part_three_garage() {
    outage_after_part_three(Backend::Garage).await;
}

async fn reset_during_one_part(backend: Backend) {
    let env = Env::new(backend).await;
    let bytes = data(12 * MIB as usize, 12);
    write_file(&env.path("f.bin"), &bytes);
    env.proxy.add(
        Rule::new(Req::is_upload_part, Action::ResetUpAfter(MIB))
            .skip(1)
            .once(),
    );
    let r = env
        .run(job(
            JobKind::Copy,
            &env.local("f.bin"),
            &env.bucket.join("f.bin"),
            small_parts(),
        ))
        .await;
    assert_eq!(r.status, JobStatus::Finished, "{:?}", r.failures);
    let parts = env.proxy.count(Req::is_upload_part);
    assert_eq!(parts, 4, "3 parts and one retry");
    assert_eq!(env.proxy.count(|q| q.faulted), 1);
    assert_eq!(
        common::names(&env.storage, &env.bucket, true).await,
        ["f.bin"]
    );
    let got = common::read_all(&env.storage, &env.bucket.join("f.bin")).await;
    assert_eq!(sha256(&got), sha256(&bytes));
    assert_eq!(env.uploads().await, vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_during_one_part_s3s() {
    reset_during_one_part(Backend::S3s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_during_one_part_garage() {
    reset_during_one_part(Backend::Garage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_down_bursts_are_retried_with_jittered_backoff() {
    let env = Env::with(Backend::S3s, |c| c.max_attempts = Some(5)).await;
    let mut sums = BTreeMap::new();
    for i in 0..8 {
        let bytes = data(10_000 + i * 100, i as u64);
        write_file(&env.path(&format!("src/f{i}")), &bytes);
        sums.insert(format!("f{i}"), sha256(&bytes));
    }
    // Every PUT is throttled twice, then let through.
    let seen = Mutex::new(HashMap::<String, u32>::new());
    env.proxy.add(Rule::new(
        move |q: &Req| {
            if q.method != "PUT" {
                return false;
            }
            let mut seen = seen.lock().unwrap();
            let n = seen.entry(q.target.clone()).or_default();
            *n += 1;
            *n <= 2
        },
        Action::slow_down(),
    ));
    let (worker, mut rx) = Worker::new(env.storage.clone(), 8, None);
    worker.submit(job(
        JobKind::Copy,
        &env.local("src"),
        &env.bucket.join("dst/"),
        JobOptions {
            recursive: true,
            ..JobOptions::default()
        },
    ));
    // Meanwhile the endpoint answers other requests at once: nothing waits on the backoff.
    let mut slowest = Duration::ZERO;
    let report = loop {
        let t = Instant::now();
        let _ = env.storage.stat(&env.bucket.join("elsewhere")).await;
        slowest = slowest.max(t.elapsed());
        match tokio::time::timeout(Duration::from_millis(50), rx.recv()).await {
            Ok(Some(Event::Done(r))) => break r,
            Ok(Some(_)) | Err(_) => {}
            Ok(None) => panic!("no report"),
        }
    };
    assert_eq!(report.status, JobStatus::Finished, "{:?}", report.failures);
    assert!(slowest < Duration::from_secs(1), "a stat took {slowest:?}");
    let dst = env.bucket.join("dst/");
    let mut got = BTreeMap::new();
    for name in common::names(&env.storage, &dst, true).await {
        let bytes = common::read_all(&env.storage, &dst.join(&name)).await;
        got.insert(name, sha256(&bytes));
    }
    assert_eq!(got, sums);
    // Each PUT: 503, 503, 200, the retries spread by random (jittered) delays.
    let log = env.proxy.requests();
    let mut delays = Vec::new();
    for key in sums.keys() {
        let tries: Vec<&Req> = log
            .iter()
            .filter(|q| q.method == "PUT" && q.path().ends_with(&format!("/dst/{key}")))
            .collect();
        let statuses: Vec<Option<u16>> = tries.iter().map(|q| q.status).collect();
        assert_eq!(statuses, [Some(503), Some(503), Some(200)], "{key}");
        delays.push(tries[1].at - tries[0].at);
        delays.push(tries[2].at - tries[1].at);
    }
    let (min, max) = (delays.iter().min().unwrap(), delays.iter().max().unwrap());
    assert!(*max < Duration::from_secs(5), "{delays:?}");
    assert!(
        *max - *min > Duration::from_millis(30),
        "no jitter: {delays:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_download_times_out_and_leaves_the_destination_alone() {
    let env = Env::with(Backend::S3s, |c| c.stall_timeout_secs = Some(2)).await;
    env.put("obj", &data(3 * MIB as usize, 3)).await;
    let out = env.path("out");
    write_file(&out.join("obj"), b"the old content");
    env.proxy.add(Rule::new(
        |q: &Req| q.method == "GET" && q.path().ends_with("/obj"),
        Action::StallAfter(MIB),
    ));
    let started = Instant::now();
    let r = env
        .run(job(
            JobKind::Copy,
            &env.bucket.join("obj"),
            &Location::Local(out.join("obj")),
            JobOptions {
                conflict: ConflictPolicy::Overwrite,
                ..JobOptions::default()
            },
        ))
        .await;
    assert_failed_with(&r, &["timed out", "\"obj\""]);
    assert_eq!(r.bytes, 0, "a failed file's bytes are not counted as moved");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(std::fs::read(out.join("obj")).unwrap(), b"the old content");
    assert_eq!(dir_names(&out), ["obj"], "no temp file left");
}

/// Downloads (and streams) of objects whose bytes the proxy corrupts on the way.
async fn flipped_bytes(backend: Backend, checksums: Checksums) {
    let env = Env::with(backend, |c| c.checksums = checksums).await;
    // One single-part object (with a CRC32 when the SDK sends one), one multipart.
    env.put("one", &data(300_000, 1)).await;
    env.put("multi", &data(11 * MIB as usize, 2)).await;
    let out = env.path("out");
    std::fs::create_dir_all(&out).unwrap();
    for key in ["one", "multi"] {
        let target = format!("/{key}");
        env.proxy.add(
            Rule::new(
                move |q: &Req| q.method == "GET" && q.path().ends_with(&target),
                Action::FlipAt(123_456),
            )
            .times(2),
        );
        let r = env
            .run(job(
                JobKind::Copy,
                &env.bucket.join(key),
                &Location::Local(out.join(key)),
                JobOptions::default(),
            ))
            .await;
        assert_failed_with(&r, &["integrity check failed", &format!("{key:?}")]);
        assert_eq!(
            dir_names(&out),
            Vec::<String>::new(),
            "{key}: nothing landed"
        );
        // Streamed into another bucket: no object, no upload left.
        let other = env.bucket.join("copy/");
        let r = env
            .run(job(
                JobKind::Copy,
                &env.bucket.join(key),
                &other,
                JobOptions {
                    mode: s3ferry::transfer::Mode::Streamed,
                    part_size: 5 * MIB,
                    ..JobOptions::default()
                },
            ))
            .await;
        assert_failed_with(&r, &["integrity check failed"]);
        assert!(!env.exists(&format!("copy/{key}")).await);
        assert_eq!(env.uploads_after(Duration::from_secs(5)).await, vec![]);
    }
    assert_eq!(env.proxy.count(|q| q.faulted), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_bytes_s3s() {
    flipped_bytes(Backend::S3s, Checksums::WhenSupported).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_bytes_without_sdk_checksums_s3s() {
    flipped_bytes(Backend::S3s, Checksums::WhenRequired).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_bytes_garage() {
    flipped_bytes(Backend::Garage, Checksums::WhenSupported).await;
}

/// A multipart object made with a part size no tool's default would guess (5 MiB + 12,345
/// bytes) downloads and verifies: the part size is asked of the store, not guessed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_download_is_verified_with_its_real_part_size() {
    let env = Env::with(Backend::S3s, |c| c.checksums = Checksums::WhenRequired).await;
    let bytes = data(11 * MIB as usize, 7);
    let opts = WriteOptions {
        part_size: 5 * MIB + 12_345,
        ..WriteOptions::default()
    };
    let out = env
        .storage
        .write(
            &env.bucket.join("odd"),
            common::body(bytes.clone(), 1 << 20),
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(out.parts, 3);
    env.proxy.clear_log();
    let got = common::read_all(&env.storage, &env.bucket.join("odd")).await;
    assert_eq!(sha256(&got), sha256(&bytes));
    assert_eq!(
        env.proxy
            .count(|q| q.method == "HEAD" && q.param("partNumber") == Some("1")),
        1
    );
    // The same object with one byte flipped fails.
    env.proxy.add(Rule::new(
        |q: &Req| q.method == "GET",
        Action::FlipAt(6 * MIB),
    ));
    let mut stream = env
        .storage
        .read(&env.bucket.join("odd"), None)
        .await
        .unwrap();
    let mut last = None;
    while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
        last = Some(chunk.map(|_| ()));
    }
    let e = last.unwrap().unwrap_err();
    assert!(e.to_string().contains("integrity check failed"), "{e}");
}
