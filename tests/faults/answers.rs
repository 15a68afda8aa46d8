//! Answers that lie: `200 OK` with an `<Error>` body, or claiming a success that never was.

use super::*;

fn fake_complete_ok() -> Action {
    Action::Respond {
        status: 200,
        body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><ETag>\"0123456789abcdef0123456789abcdef-3\"</ETag></CompleteMultipartUploadResult>".into(),
    }
}

fn fake_copy_ok() -> Action {
    Action::Respond {
        status: 200,
        body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyObjectResult><ETag>\"0123456789abcdef0123456789abcdef\"</ETag><LastModified>2026-01-01T00:00:00.000Z</LastModified></CopyObjectResult>".into(),
    }
}

async fn ok_with_an_error_body(backend: Backend) {
    let env = Env::new(backend).await;
    let bytes = data(11 * MIB as usize, 11);
    write_file(&env.path("f.bin"), &bytes);
    let upload = |env: &Env, key: &str| {
        job(
            JobKind::Copy,
            &env.local("f.bin"),
            &env.bucket.join(key),
            small_parts(),
        )
    };

    // CompleteMultipartUpload answering `200 OK` + <Error>, every time: a failure, and aborted.
    env.proxy
        .add(Rule::new(Req::is_complete, Action::ok_with_error()).times(3));
    let r = env.run(upload(&env, "a.bin")).await;
    assert_failed_with(&r, &["complete multipart upload", "InternalError"]);
    assert!(!env.exists("a.bin").await);
    assert_eq!(env.uploads_after(Duration::from_secs(5)).await, vec![]);

    // Once: the SDK retries it, and the object is confirmed by HEAD before it counts.
    env.proxy.clear();
    env.proxy.clear_log();
    env.proxy
        .add(Rule::new(Req::is_complete, Action::ok_with_error()).once());
    let r = env.run(upload(&env, "b.bin")).await;
    assert_eq!(r.status, JobStatus::Finished, "{:?}", r.failures);
    let log = env.proxy.requests();
    let last_complete = log.iter().rposition(Req::is_complete).unwrap();
    assert_eq!(log.iter().filter(|q| q.is_complete()).count(), 2);
    assert!(
        log[last_complete..]
            .iter()
            .any(|q| q.method == "HEAD" && q.path().ends_with("/b.bin")),
        "confirmed by HEAD"
    );
    let got = common::read_all(&env.storage, &env.bucket.join("b.bin")).await;
    assert_eq!(sha256(&got), sha256(&bytes));

    // A `200 OK` that claims success for an upload never completed: HEAD finds no object.
    env.proxy.clear();
    env.proxy
        .add(Rule::new(Req::is_complete, fake_complete_ok()).once());
    let r = env.run(upload(&env, "c.bin")).await;
    assert_failed_with(&r, &["integrity check failed", "not there"]);
    assert!(!env.exists("c.bin").await);
    assert_eq!(env.uploads_after(Duration::from_secs(5)).await, vec![]);

    // CopyObject: an error body, then a success that is not true.
    env.proxy.clear();
    let server_side = |env: &Env, key: &str| {
        job(
            JobKind::Copy,
            &env.bucket.join("b.bin"),
            &env.bucket.join(key),
            JobOptions::default(),
        )
    };
    env.proxy
        .add(Rule::new(Req::is_copy_object, Action::ok_with_error()).times(3));
    let r = env.run(server_side(&env, "d.bin")).await;
    assert_failed_with(&r, &["copy", "InternalError"]);
    assert_eq!(r.routes, Vec::new());
    assert!(!env.exists("d.bin").await);
    env.proxy.clear();
    env.proxy
        .add(Rule::new(Req::is_copy_object, fake_copy_ok()).once());
    let r = env.run(server_side(&env, "e.bin")).await;
    assert_failed_with(&r, &["integrity check failed", "not there"]);
    assert!(!env.exists("e.bin").await);
    assert_eq!(
        common::names(&env.storage, &env.bucket, true).await,
        ["b.bin"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_with_an_error_body_s3s() {
    ok_with_an_error_body(Backend::S3s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_with_an_error_body_garage() {
    ok_with_an_error_body(Backend::Garage).await;
}
