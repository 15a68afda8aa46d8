//! The local side: a source file changing under an upload, a disk filling up.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_source_changed_during_upload_is_refused() {
    let env = Env::new(Backend::S3s).await;
    let path = env.path("grows.bin");
    write_file(&path, &data(40 * MIB as usize, 40));
    // Slow enough that the reader (5 parts of 5 MiB ahead at most) is still mid-file.
    env.proxy.faults.rate.store(6 * MIB, Ordering::SeqCst);
    let (worker, mut rx) = Worker::new(env.storage.clone(), 4, None);
    worker.submit(job(
        JobKind::Copy,
        &env.local("grows.bin"),
        &env.bucket.join("grows.bin"),
        small_parts(),
    ));
    while env.proxy.up.load(Ordering::SeqCst) < 2 * MIB {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.seek(SeekFrom::Start(39 * MIB)).unwrap();
        f.write_all(&data(MIB as usize, 99)).unwrap();
    }
    let r = wait_done(&mut rx).await;
    env.proxy.faults.rate.store(0, Ordering::SeqCst);
    assert_failed_with(&r, &["source changed during transfer"]);
    assert_eq!(r.bytes, 0);
    assert!(!env.exists("grows.bin").await, "no mixed object");
    assert_eq!(env.uploads_after(Duration::from_secs(5)).await, vec![]);
}

/// A multipart write whose stream ends short of the size it was promised (a source file
/// truncated mid-upload) is refused before the object is made, and the upload is aborted;
/// likewise a multipart body whose MD5 is not the one promised.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_body_shorter_or_other_than_promised_is_refused() {
    let env = Env::new(Backend::S3s).await;
    let bytes = data(12 * MIB as usize, 12);
    let cases = [
        ("short.bin", Some(20 * MIB), None),
        (
            "other.bin",
            Some(12 * MIB),
            Some("0123456789abcdef0123456789abcdef".to_string()),
        ),
    ];
    for (key, expect_size, expect_md5) in cases {
        let opts = WriteOptions {
            part_size: 5 * MIB,
            expect_size,
            expect_md5,
            ..WriteOptions::default()
        };
        let err = env
            .storage
            .write(
                &env.bucket.join(key),
                common::body(bytes.clone(), 256 * 1024),
                &opts,
            )
            .await
            .expect_err(key);
        assert!(err.to_string().contains(key), "{err}");
        assert!(!env.exists(key).await, "{key}: no object");
    }
    assert_eq!(env.uploads_after(Duration::from_secs(5)).await, vec![]);
}

/// A disk that fills up: a 2 MiB tmpfs, mounted in a private mount namespace (`unshare -m`,
/// with `-r` when not root, so no privilege is needed where user namespaces are allowed) in
/// which the s3ferry binary downloads a 3 MiB object and three small ones, one at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_one_file_removes_its_temp_and_the_rest_continue() {
    let env = Env::new(Backend::S3s).await;
    env.put("src/a-big.bin", &data(3 * MIB as usize, 1)).await;
    let mut sums = Vec::new();
    for i in 0..3 {
        let bytes = data(200_000, 10 + i);
        env.put(&format!("src/b-small-{i}.bin"), &bytes).await;
        sums.push(format!("{}  b-small-{i}.bin", sha256(&bytes)));
    }
    let mnt = env.path("small-disk");
    std::fs::create_dir_all(&mnt).unwrap();
    let root = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self")
            .map(|m| m.uid())
            .unwrap_or(1)
            == 0
    };
    let script = r#"mount -t tmpfs -o size=2m s3ferry-test "$1" || exit 97
"$2" cp -r "$3" "$1/dst/" --concurrency 1; code=$?
echo "--- left:"; ls -A "$1/dst"
echo "--- sums:"; cd "$1/dst" && sha256sum -- b-*
exit $code"#;
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(if root { &["-m"][..] } else { &["-r", "-m"][..] })
        .args(["sh", "-c", script, "sh"])
        .arg(&mnt)
        .arg(env!("CARGO_BIN_EXE_s3ferry"))
        .arg(format!("t:{}/src/", env.bucket_name()))
        .env("S3FERRY_CONFIG", cli_config(&env))
        .env("S3FERRY_HISTORY", env.path("history.jsonl"))
        .env("S3FERRY_JOURNAL", env.path("journal.jsonl"));
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("unshare (util-linux) is needed for the full-disk case");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    eprintln!("stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_ne!(
        out.status.code(),
        Some(97),
        "cannot mount a tmpfs in a private mount namespace here (needs root, or unprivileged user namespaces): {stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "one file failed");
    assert!(
        stderr.contains("No space left on device") && stderr.contains("a-big.bin"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("3.0 MiB"),
        "the failed file's bytes are not counted: {stderr}"
    );
    let left = stdout
        .split("--- left:\n")
        .nth(1)
        .and_then(|s| s.split("--- sums:").next())
        .unwrap();
    assert_eq!(
        left.lines().collect::<Vec<_>>(),
        ["b-small-0.bin", "b-small-1.bin", "b-small-2.bin"],
        "the big file's temp file is gone, the others arrived"
    );
    let got: Vec<&str> = stdout
        .split("--- sums:\n")
        .nth(1)
        .unwrap()
        .lines()
        .collect();
    assert_eq!(got, sums);
}
