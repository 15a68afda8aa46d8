//! Control characters and escape sequences in keys and local names never reach the terminal
//! raw: `ls`, failure lines, the summary and history show them escaped, and names that differ
//! only by an invisible character look different. Keys with CR and LF are deleted one at a
//! time, each exactly.

use std::collections::BTreeSet;

use s3ferry::text::escape;

use crate::common::Backend;
use crate::{Env, Output};

/// Names that would clear the screen, set the title, write the clipboard, hide a link, move the
/// cursor, ring the bell, reverse the text or hide a character, if printed raw.
const NASTY: [&str; 10] = [
    "clear\x1b[2J\x1b[H",
    "title\x1b]0;pwned\x07",
    "clip\x1b]52;c;ZXZpbA==\x07",
    "link\x1b]8;;https:evil.example\x1b\\click\x1b]8;;\x1b\\",
    "cr\roverwrite",
    "bell\x07",
    "csi\u{9b}31mred",
    "bidi\u{202e}txt.exe",
    "zw\u{200b}x",
    "zwx",
];

/// Characters that must never be printed raw (line feeds end lines and are fine).
fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{2028}' | '\u{2029}')
}

fn assert_safe(what: &str, text: &str) {
    let raw: Vec<char> = text.chars().filter(|&c| is_unsafe(c)).collect();
    assert!(raw.is_empty(), "{what} printed {raw:?} raw:\n{text:?}");
}

fn assert_ok(what: &str, out: &Output) {
    assert_eq!(out.code, 0, "{what}: {}", out.stderr);
    assert_safe(what, &out.stdout);
    assert_safe(what, &out.stderr);
}

/// Each nasty name appears escaped on its own line, and the lines are all different.
fn assert_listed(what: &str, stdout: &str) {
    let lines: BTreeSet<&str> = stdout.lines().collect();
    for name in NASTY {
        let shown = escape(name);
        assert!(
            lines.iter().any(|l| l.ends_with(&format!("  {shown}"))),
            "{what}: {shown} missing from\n{stdout}"
        );
    }
    assert_eq!(lines.len(), NASTY.len(), "{what}: distinct lines\n{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_sequences_in_names_are_shown_escaped_everywhere() {
    let env = Env::new(Backend::S3s).await;
    let cli = env.cli();
    let src = env.path("src");
    std::fs::create_dir_all(&src).unwrap();
    for (i, name) in NASTY.iter().enumerate() {
        std::fs::write(src.join(name), format!("{i}")).unwrap();
    }
    let src_s = src.to_str().unwrap();

    let out = cli.run(&["ls", src_s]).await;
    assert_ok("ls of the local directory", &out);
    assert_listed("ls of the local directory", &out.stdout);

    // The prefix itself carries a title sequence, so the job's sources and history do too.
    let remote = format!("t:{}/up\x1b]0;T\x07/", env.bucket);
    let out = cli.run(&["cp", "-r", src_s, &remote]).await;
    assert_ok("cp up", &out);
    let out = cli.run(&["ls", "-r", &remote]).await;
    assert_ok("ls -r of the prefix", &out);
    assert_listed("ls -r of the prefix", &out.stdout);
    let out = cli.run(&["cp", "-r", "--dry-run", &remote, src_s]).await;
    assert_safe("a dry run", &format!("{}{}", out.stdout, out.stderr));

    // Every file conflicts with a different local file: one escaped failure line each.
    let dst = env.path("dst");
    std::fs::create_dir_all(&dst).unwrap();
    for name in NASTY {
        std::fs::write(dst.join(name), "something else").unwrap();
    }
    let out = cli.run(&["cp", "-r", &remote, dst.to_str().unwrap()]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_safe("cp failure lines", &out.stderr);
    let failed: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("s3ferry: "))
        .collect();
    assert_eq!(failed.len(), NASTY.len(), "{}", out.stderr);
    for name in NASTY {
        // The source at the start of the line, escaped.
        let shown = format!("{}{}", escape(&remote), escape(name));
        assert!(
            failed.iter().any(|l| l.contains(&shown)),
            "{shown} missing from\n{}",
            out.stderr
        );
    }
    assert!(
        out.stderr
            .contains("FAILED: 0 objects, 0 skipped, 10 failed"),
        "{}",
        out.stderr
    );

    let out = cli.run(&["history"]).await;
    assert_ok("history", &out);
    assert!(out.stdout.lines().count() >= 3, "{}", out.stdout);
}

/// Output for other programs is escaped too: CSV like the screen, and JSON (which escapes
/// ASCII controls by itself, but not C1 controls, bidi overrides or zero-width characters)
/// with `\uXXXX`, so it still decodes to the same strings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn machine_readable_output_escapes_too() {
    let env = Env::new(Backend::S3s).await;
    let cli = env.cli();
    let src = env.path("src");
    std::fs::create_dir_all(&src).unwrap();
    for name in NASTY {
        std::fs::write(src.join(name), "x").unwrap();
    }
    let remote = format!("t:{}/up\u{9b}\u{202e}/", env.bucket);
    let out = cli
        .run(&["cp", "-r", "--json", src.to_str().unwrap(), &remote])
        .await;
    assert_ok("cp --json", &out);
    let summary: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(
        summary["destination"],
        remote.as_str(),
        "the same string once decoded"
    );
    let out = cli
        .run(&[
            "cp",
            "-r",
            "--dry-run",
            "--json",
            src.to_str().unwrap(),
            &remote,
        ])
        .await;
    assert_safe("a JSON dry run", &out.stdout);
    // One job ran: one JSON line; a CSV header and one row.
    for (args, lines) in [(&["history", "--json"][..], 1), (&["history", "--csv"], 2)] {
        let out = cli.run(args).await;
        assert_ok(&format!("{args:?}"), &out);
        assert_safe(&format!("{args:?}"), &out.stdout);
        assert_eq!(
            out.stdout.lines().count(),
            lines,
            "{args:?}: {}",
            out.stdout
        );
    }
}

async fn cr_and_lf_keys(backend: Backend) {
    let env = Env::new(backend).await;
    let cli = env.cli();
    for (key, body) in [("d/cr\rkey", "r"), ("d/cr\nkey", "n"), ("d/crkey", "-")] {
        env.put(key, body.as_bytes()).await;
    }
    let dir = format!("t:{}/d/", env.bucket);
    let out = cli.run(&["ls", &dir]).await;
    assert_ok("ls", &out);
    let shown: BTreeSet<&str> = out.stdout.lines().map(|l| l.trim_start()).collect();
    assert_eq!(
        shown,
        BTreeSet::from(["1  cr\\u{a}key", "1  cr\\u{d}key", "1  crkey"])
    );

    let out = cli
        .run(&["rm", &format!("t:{}/d/cr\rkey", env.bucket)])
        .await;
    assert_ok("rm cr\\rkey", &out);
    let names = crate::common::names(&env.storage, &env.key("d/"), false).await;
    assert_eq!(names, ["cr\nkey", "crkey"]);
    assert_eq!(
        crate::common::read_all(&env.storage, &env.key("d/cr\nkey")).await,
        b"n"
    );

    let out = cli
        .run(&["rm", &format!("t:{}/d/cr\nkey", env.bucket)])
        .await;
    assert_ok("rm cr\\nkey", &out);
    let names = crate::common::names(&env.storage, &env.key("d/"), false).await;
    assert_eq!(names, ["crkey"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cr_and_lf_keys_are_deleted_one_at_a_time_s3s() {
    cr_and_lf_keys(Backend::S3s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cr_and_lf_keys_are_deleted_one_at_a_time_garage() {
    cr_and_lf_keys(Backend::Garage).await;
}
