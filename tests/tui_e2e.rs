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
    assert_eq!(plan.conflicts, 0);
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

    // Planning the same copy again finds both destinations already there.
    d.press("g space space F5");
    assert!(
        d.until(
            WAIT,
            |app| matches!(&app.modal, Some(Modal::Plan(p)) if p.complete)
        )
        .await
    );
    let Some(Modal::Plan(plan)) = &d.app.modal else {
        panic!()
    };
    assert_eq!((plan.files, plan.conflicts), (2, 2), "{plan:?}");
    d.press("esc");
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

/// Puts the cursor of the focused pane on `name`.
fn cursor_to(d: &mut Driver, name: &str) {
    let pane = d.app.focused();
    let pos = pane
        .view
        .iter()
        .position(|&i| pane.entries[i].name == name)
        .unwrap_or_else(|| panic!("{name} not in {:?}", pane_names(&d.app, d.app.side)));
    d.press("g");
    d.press(&"j ".repeat(pos));
}

async fn listed(d: &mut Driver, side: Side, want: &[&str]) {
    let ok = d
        .until(WAIT, |app| {
            !app.pane(side).loading && app.modal.is_none() && pane_names(app, side) == want
        })
        .await;
    assert!(
        ok,
        "{side:?} pane: {:?}, want {want:?}; status {:?}",
        pane_names(&d.app, side),
        d.app.status
    );
}

/// Every operation the UI offers, on the in-process server behind `--demo`: new folder, open
/// and back, rename, info, preview, presigned URL, move to the local disk, delete, filter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_works_on_the_demo_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalS3Server::start_fs(&dir.path().join("s3"), "AKIDCLOUDA", "secret-a")
        .await
        .unwrap();
    let mut named = BTreeMap::new();
    named.insert(
        "cloud-a".to_string(),
        EndpointConfig::with_keys(&server.url(), "AKIDCLOUDA", "secret-a"),
    );
    let storage = Arc::new(Storage::new(EndpointConfig::default(), named));
    let bucket = Location::s3(EndpointRef::Named("cloud-a".into()), "photos", "");
    storage.create_dir(&bucket).await.unwrap();
    put(
        &storage,
        &bucket.join("a.txt"),
        b"hello preview\nsecond line\n",
    )
    .await;
    put(&storage, &bucket.join("b.bin"), &[7u8; 70_000]).await;
    let local = dir.path().join("local");
    std::fs::create_dir(&local).unwrap();

    let (worker, events) = Worker::new(storage.clone(), 4, None);
    let (app, initial) = App::new(
        bucket.clone(),
        Location::Local(local.clone()),
        Location::local("/"),
    );
    let mut d = Driver::new(app, initial, worker, events);
    listed(&mut d, Side::Left, &["a.txt", "b.bin"]).await;

    // F7: a folder marker, listed as a directory; open it and come back to it.
    d.press("F7 n e w enter");
    listed(&mut d, Side::Left, &["new", "a.txt", "b.bin"]).await;
    assert!(
        storage.stat(&bucket.join("new/")).await.is_ok(),
        "the marker exists"
    );
    cursor_to(&mut d, "new");
    d.press("enter");
    listed(&mut d, Side::Left, &[]).await;
    d.press("backspace");
    listed(&mut d, Side::Left, &["new", "a.txt", "b.bin"]).await;
    assert_eq!(
        d.app.focused().current().unwrap().name,
        "new",
        "the cursor comes back to it"
    );

    // F2: rename.
    cursor_to(&mut d, "a.txt");
    d.press("F2 C-u r . t x t enter");
    listed(&mut d, Side::Left, &["new", "b.bin", "r.txt"]).await;

    // i, v, p: info, preview, presigned URL.
    cursor_to(&mut d, "r.txt");
    d.press("i");
    assert!(
        d.until(WAIT, |app| matches!(app.modal, Some(Modal::Info { .. })))
            .await
    );
    let Some(Modal::Info { rows, .. }) = &d.app.modal else {
        panic!()
    };
    assert!(
        rows.iter()
            .any(|(k, v)| k == "size" && v.contains("26 bytes")),
        "{rows:?}"
    );
    d.press("esc v");
    assert!(
        d.until(WAIT, |app| matches!(app.modal, Some(Modal::Preview { .. })))
            .await
    );
    let Some(Modal::Preview { lines, .. }) = &d.app.modal else {
        panic!()
    };
    assert_eq!(lines, &["hello preview", "second line"]);
    d.press("esc p");
    assert!(
        d.until(WAIT, |app| matches!(app.modal, Some(Modal::Message { .. })))
            .await
    );
    let Some(Modal::Message { text, .. }) = &d.app.modal else {
        panic!()
    };
    assert!(
        text.starts_with(&server.url()) && text.contains("X-Amz-Signature"),
        "{text}"
    );
    d.press("esc");

    // F6: move b.bin to the local pane; the source goes only after the copy.
    cursor_to(&mut d, "b.bin");
    d.press("F6");
    assert!(
        d.until(
            WAIT,
            |app| matches!(&app.modal, Some(Modal::Plan(p)) if p.complete)
        )
        .await
    );
    d.press("enter");
    listed(&mut d, Side::Right, &["b.bin"]).await;
    listed(&mut d, Side::Left, &["new", "r.txt"]).await;
    assert_eq!(
        std::fs::read(local.join("b.bin")).unwrap(),
        vec![7u8; 70_000]
    );

    // Filter, then F8 with confirmation.
    d.press("/ r . t enter");
    assert_eq!(d.app.focused().view.len(), 1);
    d.press("F8 y");
    listed(&mut d, Side::Left, &["new"]).await;
    assert!(
        storage.stat(&bucket.join("r.txt")).await.is_err(),
        "deleted"
    );
    d.press("/ esc");

    // The local pane: a new directory and a rename.
    d.press("tab F7 d i r enter");
    listed(&mut d, Side::Right, &["dir", "b.bin"]).await;
    cursor_to(&mut d, "b.bin");
    d.press("r C-u c . b i n enter");
    listed(&mut d, Side::Right, &["dir", "c.bin"]).await;
    assert!(local.join("dir").is_dir() && local.join("c.bin").is_file());
}
