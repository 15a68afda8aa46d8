//! Keys that try to leave the target directory, a symbolic link inside the target pointing out,
//! and a key that is also a prefix: each has one documented outcome, and nothing is written
//! outside the target.

use s3ferry::storage::Location;
use s3ferry::transfer::{JobOptions, JobStatus};

use crate::common::Backend;
use crate::{Env, failures, tree};

/// Each hostile key below `h/` with what happens to it on download (the README's table).
const HOSTILE: [(&str, &str); 8] = [
    (
        "../../x",
        "has a '.' or '..' segment that could leave the target",
    ),
    ("/abs", "is an absolute path"),
    (
        "a/../../b",
        "has a '.' or '..' segment that could leave the target",
    ),
    (
        "..",
        "has a '.' or '..' segment that could leave the target",
    ),
    (
        "dir\\..\\..\\w",
        "holds a backslash, which could act as a path separator",
    ),
    ("a//b", "has an empty path segment ('//')"),
    (
        "./x",
        "has a '.' or '..' segment that could leave the target",
    ),
    (
        "link/x",
        "would be written through the symbolic link \"link\" in the destination (links are not followed)",
    ),
];

async fn hostile_keys(backend: Backend) {
    let env = Env::new(backend).await;
    for (key, _) in HOSTILE {
        env.put(&format!("h/{key}"), key.as_bytes()).await;
    }
    env.put("h/ok.txt", b"fine").await;
    // The target holds a link to a directory outside it; "outside" must stay empty.
    let (target, outside) = (env.path("box/target"), env.path("box/outside"));
    std::fs::create_dir_all(&target).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, target.join("link")).unwrap();

    let r = env
        .copy(
            env.key("h/"),
            Location::Local(target.clone()),
            JobOptions::default(),
        )
        .await;
    assert_eq!(r.status, JobStatus::Failed);
    assert_eq!(r.files_done, 1, "only ok.txt is copied");
    let got = failures(&r);
    assert_eq!(got.len(), HOSTILE.len(), "{got:#?}");
    for (key, reason) in HOSTILE {
        let shown = env.key(&format!("h/{key}")).to_string();
        assert!(
            got.iter().any(|(f, why)| *f == shown && why == reason),
            "{key:?} must be refused with {reason:?}; got {got:#?}"
        );
    }
    assert_eq!(
        tree(&env.path("box")),
        ["outside/", "target/", "target/link", "target/ok.txt"]
    );
    assert_eq!(std::fs::read(target.join("ok.txt")).unwrap(), b"fine");
    // The same download again behaves the same way: refusals do not depend on timing.
    let again = env
        .copy(
            env.key("h/"),
            Location::Local(target),
            JobOptions::default(),
        )
        .await;
    assert_eq!((again.files_skipped, failures(&again)), (1, got));

    // Between buckets a key is only a name: every one is copied exactly as it is.
    let r = env
        .copy(env.key("h/"), env.key("h2/"), JobOptions::default())
        .await;
    assert_eq!(r.status, JobStatus::Finished, "{:?}", r.failures);
    let mut copied = crate::common::names(&env.storage, &env.key("h2/"), true).await;
    let mut want: Vec<String> = HOSTILE.iter().map(|(k, _)| k.to_string()).collect();
    want.push("ok.txt".into());
    copied.sort();
    want.sort();
    assert_eq!(copied, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_keys_have_one_outcome_each_s3s() {
    hostile_keys(Backend::S3s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_keys_have_one_outcome_each_garage() {
    hostile_keys(Backend::Garage).await;
}

/// A link deeper down, and a link as the file's own name, are refused too; a link the user
/// chose as the target itself is followed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_below_the_target_are_never_written_through() {
    let env = Env::new(Backend::S3s).await;
    for key in ["d/deep/f", "name", "plain/f"] {
        env.put(&format!("l/{key}"), b"x").await;
    }
    let (real, outside) = (env.path("real"), env.path("outside"));
    std::fs::create_dir_all(real.join("d")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("victim"), b"keep").unwrap();
    std::os::unix::fs::symlink(&outside, real.join("d/deep")).unwrap();
    std::os::unix::fs::symlink(outside.join("victim"), real.join("name")).unwrap();
    // The user's own target may be a link: it is where they asked the files to go.
    let chosen = env.path("chosen");
    std::os::unix::fs::symlink(&real, &chosen).unwrap();

    let r = env
        .copy(
            env.key("l/"),
            Location::Local(chosen),
            JobOptions::default(),
        )
        .await;
    let got = failures(&r);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(got[0].0.ends_with("l/d/deep/f") && got[0].1.contains("\"d/deep\""));
    assert!(got[1].0.ends_with("l/name") && got[1].1.contains("\"name\""));
    assert_eq!(std::fs::read(real.join("plain/f")).unwrap(), b"x");
    assert_eq!(tree(&outside), ["victim"]);
    assert_eq!(std::fs::read(outside.join("victim")).unwrap(), b"keep");
}

async fn key_and_prefix(backend: Backend) {
    let env = Env::new(backend).await;
    for (key, body) in [
        ("p/photos", "file"),
        ("p/photos-2024", "dash"),
        ("p/photos/1.jpg", "one"),
        ("p/photos/2.jpg", "two"),
    ] {
        env.put(key, body.as_bytes()).await;
    }
    let target = env.path("down");
    let r = env
        .copy(
            env.key("p/"),
            Location::Local(target.clone()),
            JobOptions::default(),
        )
        .await;
    // In key order `photos` comes first and lands as a file; what would need it to be a
    // directory is refused, each file named with the reason. Nothing is dropped silently.
    assert_eq!(r.status, JobStatus::Failed);
    assert_eq!(r.files_done, 2);
    let got = failures(&r);
    let why = "conflicts with the file \"photos\" of the same job: a local name cannot be both a file and a directory";
    assert_eq!(
        got,
        [
            (env.key("p/photos/1.jpg").to_string(), why.to_string()),
            (env.key("p/photos/2.jpg").to_string(), why.to_string()),
        ]
    );
    assert_eq!(tree(&target), ["photos", "photos-2024"]);
    assert_eq!(std::fs::read(target.join("photos")).unwrap(), b"file");
    // The keys below the prefix still copy on their own.
    let r = env
        .copy(
            env.key("p/photos/"),
            Location::Local(env.path("album")),
            JobOptions::default(),
        )
        .await;
    assert_eq!((r.status, r.files_done), (JobStatus::Finished, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_that_is_also_a_prefix_is_a_reported_conflict_s3s() {
    key_and_prefix(Backend::S3s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_that_is_also_a_prefix_is_a_reported_conflict_garage() {
    key_and_prefix(Backend::Garage).await;
}
