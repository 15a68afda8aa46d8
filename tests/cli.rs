//! The built `s3ferry` binary against the in-process S3 server: files, exit codes, JSON.

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::Backend;
use common::cli::Cli;
use s3ferry::storage::Location;

fn write_tree(root: &Path) {
    for (rel, body) in [
        ("a.txt", "alpha"),
        ("sub/b.txt", "bravo"),
        ("sub/c.txt", "charlie"),
    ] {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cp_ls_mv_rm_and_history_through_the_binary() {
    let t = common::target(Backend::S3s).await;
    let Location::S3 { bucket, .. } = &t.root else {
        unreachable!()
    };
    let server = t.server.as_ref().unwrap();
    let cli = Cli::new(&server.url(), "AKIDTEST", "test-secret", None);
    write_tree(&cli.dir.path().join("src"));
    let dest = format!("t:{bucket}/up/");

    let (code, out, err) = cli
        .run(&["cp", "-r", &cli.path("src"), &dest, "--json"])
        .await
        .parts();
    assert_eq!(code, 0, "{err}");
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(summary["objects"], 3);
    assert_eq!(summary["bytes"], 17);
    assert_eq!(summary["mode"], "upload");

    let (code, out, _) = cli.run(&["ls", "-r", &dest]).await.parts();
    assert_eq!(code, 0);
    let names: Vec<&str> = out
        .lines()
        .map(|l| l.split_whitespace().last().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{out}");
    assert!(out.contains("sub/b.txt") && out.contains("a.txt"), "{out}");

    // A second copy skips what is already there.
    let (code, out, _) = cli
        .run(&["cp", "-r", &cli.path("src"), &dest, "--json"])
        .await
        .parts();
    assert_eq!(code, 0);
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (summary["objects"].as_u64(), summary["skipped"].as_u64()),
        (Some(0), Some(3))
    );

    // A dry run moves nothing.
    let (code, out, _) = cli
        .run(&["cp", "-r", "--dry-run", &dest, &cli.path("dry")])
        .await
        .parts();
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(!cli.dir.path().join("dry").exists());

    // Move down: local copies appear, remote ones go.
    let (code, _, err) = cli
        .run(&["mv", "-r", &dest, &cli.path("down/")])
        .await
        .parts();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(cli.dir.path().join("down/sub/c.txt")).unwrap(),
        "charlie"
    );
    let (_, out, _) = cli.run(&["ls", "-r", &dest]).await.parts();
    assert!(out.trim().is_empty(), "moved away: {out}");

    // rm -r of a local directory.
    let (code, _, _) = cli.run(&["rm", "-r", &cli.path("down")]).await.parts();
    assert_eq!(code, 0);
    assert!(!cli.dir.path().join("down").exists());

    // History recorded every job, exported as CSV.
    let (code, out, _) = cli.run(&["history", "--csv"]).await.parts();
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("started_at,kind,mode"), "{out}");
    assert_eq!(lines.len(), 1 + 4, "{out}");
    assert!(
        lines[1].contains(",upload,") && lines[3].contains(",download,"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_one_clear_line_with_the_right_exit_code() {
    let t = common::target(Backend::S3s).await;
    let Location::S3 { bucket, .. } = &t.root else {
        unreachable!()
    };
    let cli = Cli::new(
        &t.server.as_ref().unwrap().url(),
        "AKIDTEST",
        "test-secret",
        None,
    );

    let (code, _, err) = cli
        .run(&["cp", &format!("t:{bucket}/missing.txt"), &cli.path("x")])
        .await
        .parts();
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("not found") && err.contains("missing.txt"),
        "{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );

    let (code, _, err) = cli.run(&["cp", "only-one-path"]).await.parts();
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = cli.run(&["ls", "s3:/x"]).await.parts();
    assert_eq!(code, 2);
    assert!(err.contains("\"s3:/x\""), "{err}");

    let (code, _, err) = cli.run(&["ls", "nowhere:bucket/"]).await.parts();
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no endpoint named \"nowhere\""), "{err}");

    // Wrong secret: one line naming the problem, never the secret.
    let bad = Cli::new(
        &t.server.as_ref().unwrap().url(),
        "AKIDTEST",
        "wrong-secret-value",
        None,
    );
    let (code, _, err) = bad.run(&["ls", &format!("t:{bucket}/")]).await.parts();
    assert_eq!(code, 1);
    assert!(err.contains("rejected the credentials"), "{err}");
    assert!(!err.contains("wrong-secret-value"), "{err}");
}

#[test]
fn the_tui_without_a_terminal_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let run = |config: &str, args: &[&str]| {
        let path = dir.path().join("config.toml");
        std::fs::write(&path, config).unwrap();
        let out = Command::cargo_bin("s3ferry")
            .unwrap()
            .env(
                "S3FERRY_JOURNAL",
                concat!(env!("CARGO_TARGET_TMPDIR"), "/journal.jsonl"),
            )
            .env("S3FERRY_CONFIG", &path)
            .env_remove("RUST_BACKTRACE")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // stdout is a pipe here, not a terminal.
    let (code, err) = run("", &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("needs a terminal"), "{err}");
}
