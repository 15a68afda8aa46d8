//! End to end: the real app state, the real worker and real S3 servers on 127.0.0.1, driven by
//! keys as a user would (open a bucket, mark two files, F5, Enter) until the copy finished and
//! the other pane lists the files; then the bytes at the destination are compared.
//! Runs across two in-process s3s servers with different keys (the `--demo` setup: streamed)
//! and within one Garage (the reference server: server-side).

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use s3ferry::app::{App, Modal, Side};
use s3ferry::runtime::driver::Driver;
use s3ferry::server::LocalS3Server;
use s3ferry::storage::{EndpointConfig, EndpointRef, Location, Storage, WriteOptions};
use s3ferry::transfer::{JobStatus, Worker};
use s3ferry::ui::Theme;

const WAIT: Duration = Duration::from_secs(60);

async fn put(storage: &Storage, loc: &Location, body: &[u8]) {
    let stream = Box::pin(futures::stream::iter([Ok(Bytes::copy_from_slice(body))]));
    storage
        .write(loc, stream, &WriteOptions::default())
        .await
        .unwrap();
}

async fn read(storage: &Storage, loc: &Location) -> Vec<u8> {
    use futures::StreamExt;
    let mut body = storage.read(loc, None).await.unwrap();
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

fn pane_names(app: &App, side: Side) -> Vec<String> {
    app.pane(side)
        .entries
        .iter()
        .map(|e| e.name.clone())
        .collect()
}

/// Opens the source bucket from the bucket list, marks `a.txt` and `b.txt`, copies with F5 and
/// Enter, and waits until the right pane shows them.
async fn copy_two_files(storage: Storage, src_bucket: Location, dst_bucket: Location) -> Driver {
    let storage = Arc::new(storage);
    let files: [(&str, Vec<u8>); 3] = [
        ("a.txt", b"alpha\n".repeat(1000)),
        ("b.txt", (0..200_000u32).map(|i| (i % 251) as u8).collect()),
        ("c.txt", b"not copied".to_vec()),
    ];
    for (name, body) in &files {
        put(&storage, &src_bucket.join(name), body).await;
    }
    let (worker, events) = Worker::new(storage.clone(), 4, None);
    let Location::S3 { endpoint, .. } = &src_bucket else {
        panic!()
    };
    let left = Location::Buckets(endpoint.clone());
    let (app, initial) = App::new(left, dst_bucket.clone(), Location::local("/"));
    let mut d = Driver::new(app, initial, worker, events);
    let Location::S3 { bucket, .. } = &src_bucket else {
        panic!()
    };
    let bucket = bucket.clone();
    assert!(
        d.until(WAIT, |app| pane_names(app, Side::Left).contains(&bucket))
            .await,
        "the bucket list shows the source bucket: {:?}",
        d.app.pane(Side::Left)
    );
    // Move the cursor to the bucket and open it.
    let pos = d
        .app
        .pane(Side::Left)
        .view
        .iter()
        .position(|&i| d.app.pane(Side::Left).entries[i].name == bucket)
        .unwrap();
    d.press(&"j ".repeat(pos));
    d.press("enter");
    assert!(d.until(WAIT, |app| !app.pane(Side::Left).loading).await);
    assert_eq!(pane_names(&d.app, Side::Left), ["a.txt", "b.txt", "c.txt"]);

    d.press("space space F5");
    assert!(
        d.until(
            WAIT,
            |app| matches!(&app.modal, Some(Modal::Plan(p)) if p.complete)
        )
        .await,
        "the plan completes"
    );
    let Some(Modal::Plan(plan)) = &d.app.modal else {
        panic!()
    };
    assert_eq!(plan.files, 2, "{plan:?}");
    assert_eq!(plan.bytes, 6000 + 200_000);
    assert!(plan.problems.is_empty(), "{:?}", plan.problems);
    d.press("enter");
    let finished = d
        .until(WAIT, |app| {
            app.jobs.jobs.len() == 1
                && app.jobs.active() == 0
                && !app.pane(Side::Right).loading
                && pane_names(app, Side::Right) == ["a.txt", "b.txt"]
        })
        .await;
    assert!(
        finished,
        "jobs: {:?}\nright: {:?}",
        d.app.jobs.jobs,
        pane_names(&d.app, Side::Right)
    );
    let report = d.app.jobs.jobs[0].report.clone().unwrap();
    assert_eq!(report.status, JobStatus::Finished, "{report:?}");
    assert_eq!(report.files_done, 2);
    for (name, body) in &files[..2] {
        assert_eq!(
            &read(&storage, &dst_bucket.join(name)).await,
            body,
            "{name}"
        );
    }
    // What the user sees: both files in the right pane and the finished job.
    let screen = d.screen(100, 30, &Theme::default()).join("\n");
    assert!(
        screen.contains("a.txt") && screen.contains("b.txt"),
        "{screen}"
    );
    assert!(screen.contains("done 2 files"), "{screen}");
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_across_two_s3s_accounts_like_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let a = LocalS3Server::start_fs(&dir.path().join("a"), "AKIDCLOUDA", "secret-a")
        .await
        .unwrap();
    let b = LocalS3Server::start_fs(&dir.path().join("b"), "AKIDCLOUDB", "secret-b")
        .await
        .unwrap();
    let mut named = BTreeMap::new();
    named.insert(
        "cloud-a".to_string(),
        EndpointConfig::with_keys(&a.url(), "AKIDCLOUDA", "secret-a"),
    );
    named.insert(
        "cloud-b".to_string(),
        EndpointConfig::with_keys(&b.url(), "AKIDCLOUDB", "secret-b"),
    );
    let storage = Storage::new(EndpointConfig::default(), named);
    let src = Location::s3(EndpointRef::Named("cloud-a".into()), "photos", "");
    let dst = Location::s3(EndpointRef::Named("cloud-b".into()), "backup", "");
    storage.create_dir(&src).await.unwrap();
    storage.create_dir(&dst).await.unwrap();
    let d = copy_two_files(storage, src, dst).await;
    let report = d.app.jobs.jobs[0].report.as_ref().unwrap();
    assert_eq!(
        report.mode(),
        "streamed",
        "two accounts: bytes stream through s3ferry"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_within_garage_goes_server_side() {
    let g = tokio::task::spawn_blocking(common::servers::garage)
        .await
        .unwrap();
    let mut named = BTreeMap::new();
    named.insert(
        "g".to_string(),
        EndpointConfig::with_keys(&g.url, &g.access_key, &g.secret_key),
    );
    let storage = Storage::new(EndpointConfig::default(), named);
    let src = Location::s3(EndpointRef::Named("g".into()), &common::fresh_bucket(), "");
    let dst = Location::s3(EndpointRef::Named("g".into()), &common::fresh_bucket(), "");
    storage.create_dir(&src).await.unwrap();
    storage.create_dir(&dst).await.unwrap();
    let d = copy_two_files(storage, src, dst).await;
    let report = d.app.jobs.jobs[0].report.as_ref().unwrap();
    assert_eq!(
        report.mode(),
        "server-side",
        "one endpoint and account: CopyObject"
    );
}
