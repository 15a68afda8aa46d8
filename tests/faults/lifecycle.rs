//! Lifecycle: the journal of multipart uploads, and recovery on the next start.

use super::*;

/// An s3ferry killed (SIGKILL) mid-upload leaves a multipart upload; the next start aborts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_interrupted_by_a_kill_is_aborted_on_the_next_start() {
    let env = Env::new(Backend::S3s).await;
    write_file(&env.path("big.bin"), &data(30 * MIB as usize, 30));
    env.proxy.faults.rate.store(2 * MIB, Ordering::SeqCst);
    let journal_path = env.path("state/uploads.jsonl");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_s3ferry"))
        .args(["cp", "--part-size", "5"])
        .arg(env.path("big.bin"))
        .arg(format!("t:{}/big.bin", env.bucket_name()))
        .env("S3FERRY_CONFIG", cli_config(&env))
        .env("S3FERRY_HISTORY", env.path("history.jsonl"))
        .env("S3FERRY_JOURNAL", &journal_path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while env.proxy.count(Req::is_upload_part) == 0
        || !std::fs::read_to_string(&journal_path).is_ok_and(|t| t.contains("\"begin\""))
    {
        assert!(Instant::now() < deadline, "the upload did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    env.proxy.faults.rate.store(0, Ordering::SeqCst);
    let left = env.uploads().await;
    assert_eq!(left.len(), 1, "the killed process left its upload");

    let report = journal::recover_at(&env.storage, &journal_path).await;
    assert_eq!(report.aborted.len(), 1, "{report:?}");
    assert!(report.kept.is_empty(), "{report:?}");
    assert_eq!(env.uploads().await, vec![]);
    assert!(!env.exists("big.bin").await);
    assert_eq!(std::fs::read_to_string(&journal_path).unwrap(), "");
    let sessions = env.path("state/uploads.jsonl.sessions");
    assert_eq!(dir_names(&sessions), Vec::<String>::new());
    // A second start finds nothing to do.
    let again = journal::recover_at(&env.storage, &journal_path).await;
    assert!(again.aborted.is_empty() && again.kept.is_empty());
}

/// Recovery never touches the uploads of an s3ferry that is still running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_leaves_a_running_upload_alone() {
    let env = Env::new(Backend::S3s).await;
    let bytes = data(16 * MIB as usize, 16);
    write_file(&env.path("f.bin"), &bytes);
    env.proxy.faults.rate.store(4 * MIB, Ordering::SeqCst);
    let (worker, mut rx) = Worker::new(env.storage.clone(), 4, None);
    worker.submit(job(
        JobKind::Copy,
        &env.local("f.bin"),
        &env.bucket.join("f.bin"),
        small_parts(),
    ));
    while env.proxy.count(Req::is_upload_part) == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let report = journal::recover_at(&env.storage, &journal::default_path().unwrap()).await;
    assert!(
        !report.aborted.iter().any(|u| u.contains("f.bin")),
        "{report:?}"
    );
    let r = wait_done(&mut rx).await;
    env.proxy.faults.rate.store(0, Ordering::SeqCst);
    assert_eq!(r.status, JobStatus::Finished, "{:?}", r.failures);
    let got = common::read_all(&env.storage, &env.bucket.join("f.bin")).await;
    assert_eq!(sha256(&got), sha256(&bytes));
}
