//! Names S3 mangles unless handled with care, local names that are not UTF-8, the key length
//! limit, and zero-byte objects and folder markers — in every direction, bytes compared.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use s3ferry::storage::Location;
use s3ferry::transfer::{JobOptions, JobStatus, Mode, Route};

use crate::common::{Backend, data, list_all};
use crate::{Env, failures, tree};

/// name → bytes of every file below a location (directories as `name/` → empty).
async fn contents(env: &Env, root: &Location) -> BTreeMap<String, Vec<u8>> {
    let (entries, _) = list_all(&env.storage, root, true).await;
    let mut out = BTreeMap::new();
    for e in entries {
        if e.is_dir() {
            out.insert(format!("{}/", e.name), Vec::new());
        } else {
            let bytes = crate::common::read_all(&env.storage, &e.location).await;
            out.insert(e.name.clone(), bytes);
        }
    }
    out
}

async fn odd_names_round_trip(backend: Backend) {
    let env = Env::new(backend).await;
    let src = env.path("src");
    let names = ["a b", "a+b", "a%2Fb", "ü/ß", "100% #1?.txt"];
    let mut expected = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        let bytes = data(100 + i, i as u64);
        let p = src.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &bytes).unwrap();
        expected.insert(name.to_string(), bytes);
    }
    let opts = JobOptions::default;
    let up = env.copy(Location::Local(src), env.key("up/"), opts()).await;
    assert_eq!((up.status, up.files_done), (JobStatus::Finished, 5));
    // Listed exactly (the "ü/" level is a directory in a recursive local walk only).
    let listed = contents(&env, &env.key("up/")).await;
    assert_eq!(listed, expected);

    let ss = env.copy(env.key("up/"), env.key("ss/"), opts()).await;
    assert_eq!(ss.routes, [Route::ServerSide]);
    assert_eq!(contents(&env, &env.key("ss/")).await, expected);
    let streamed = JobOptions {
        mode: Mode::Streamed,
        ..opts()
    };
    let st = env.copy(env.key("ss/"), env.key("st/"), streamed).await;
    assert_eq!(st.routes, [Route::Streamed]);
    assert_eq!(contents(&env, &env.key("st/")).await, expected);

    let back = env.path("back");
    let down = env
        .copy(env.key("st/"), Location::Local(back.clone()), opts())
        .await;
    assert_eq!((down.status, down.files_done), (JobStatus::Finished, 5));
    for (name, bytes) in &expected {
        assert_eq!(&std::fs::read(back.join(name)).unwrap(), bytes, "{name}");
    }
    assert_eq!(
        tree(&back),
        ["100% #1?.txt", "a b", "a%2Fb", "a+b", "ü/", "ü/ß"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_names_round_trip_byte_exact_s3s() {
    odd_names_round_trip(Backend::S3s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_names_round_trip_byte_exact_garage() {
    odd_names_round_trip(Backend::Garage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_utf8_local_names_copy_locally_and_are_refused_as_keys() {
    let env = Env::new(Backend::S3s).await;
    let src = env.path("src");
    let bad_file = OsStr::from_bytes(b"caf\xe9.txt");
    let bad_dir = OsStr::from_bytes(b"d\xff");
    std::fs::create_dir_all(src.join(bad_dir)).unwrap();
    std::fs::write(src.join(bad_file), b"latin-1").unwrap();
    std::fs::write(src.join(bad_dir).join("inner"), b"inside").unwrap();
    std::fs::write(src.join("plain.txt"), b"plain").unwrap();

    // Listed, shown lossily, addressed exactly.
    let (entries, _) = list_all(&env.storage, &Location::Local(src.clone()), false).await;
    let cafe = entries
        .iter()
        .find(|e| e.name == "caf\u{fffd}.txt")
        .unwrap();
    assert_eq!(cafe.location, Location::Local(src.join(bad_file)));
    let out = env.cli().run(&["ls", src.to_str().unwrap()]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("caf\u{fffd}.txt"), "{}", out.stdout);

    // Local to local: byte-exact names and bytes, a lone file too.
    let copy = env.path("copy");
    let r = env
        .copy(
            Location::Local(src.clone()),
            Location::Local(copy.clone()),
            JobOptions::default(),
        )
        .await;
    assert_eq!((r.status, r.files_done), (JobStatus::Finished, 3));
    assert_eq!(std::fs::read(copy.join(bad_file)).unwrap(), b"latin-1");
    assert_eq!(
        std::fs::read(copy.join(bad_dir).join("inner")).unwrap(),
        b"inside"
    );
    let one = env.path("one/");
    std::fs::create_dir_all(&one).unwrap();
    let r = env
        .copy(
            Location::Local(src.join(bad_file)),
            Location::Local(one.clone()),
            JobOptions::default(),
        )
        .await;
    assert_eq!(r.status, JobStatus::Finished, "{:?}", r.failures);
    assert_eq!(std::fs::read(one.join(bad_file)).unwrap(), b"latin-1");

    // To S3: refused, each with the reason; the rest goes up.
    let r = env
        .copy(
            Location::Local(src.clone()),
            env.key("up/"),
            JobOptions::default(),
        )
        .await;
    assert_eq!((r.status, r.files_done), (JobStatus::Failed, 1));
    let got = failures(&r);
    assert_eq!(got.len(), 2, "{got:?}");
    for (_, why) in &got {
        assert_eq!(why, "the name is not UTF-8, so it cannot be an S3 key");
    }
    let r = env
        .copy(
            Location::Local(src.join(bad_file)),
            env.key("up/"),
            JobOptions::default(),
        )
        .await;
    assert_eq!(r.failures.len(), 1);
    assert!(r.failures[0].1.contains("not UTF-8"), "{:?}", r.failures);
    let (listed, _) = list_all(&env.storage, &env.key("up/"), true).await;
    let listed: Vec<_> = listed.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(listed, ["plain.txt"], "no mangled key was uploaded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_over_1024_bytes_is_refused_before_any_request() {
    let env = Env::new(Backend::S3s).await;
    let server = env.info.server.as_ref().unwrap();
    let file = env.path("f.bin");
    std::fs::write(&file, b"payload").unwrap();
    // Segments of at most 200 bytes, so the same key also fits a local path on the way back.
    let key_of = |len: usize| -> String {
        let mut k = String::new();
        while k.len() < len {
            let seg = (len - k.len()).min(200);
            if !k.is_empty() && seg > 1 {
                k.push('/');
                k.push_str(&"k".repeat(seg - 1));
            } else {
                k.push_str(&"k".repeat(seg));
            }
        }
        k
    };
    let (fits, over) = (key_of(1024), key_of(1025));
    assert_eq!((fits.len(), over.len()), (1024, 1025));

    server.stats().reset();
    let src = Location::Local(file.clone());
    let r = env
        .copy(src.clone(), env.key(&over), JobOptions::default())
        .await;
    assert_eq!(r.status, JobStatus::Failed);
    assert!(
        r.failures[0]
            .1
            .contains("at most 1024 bytes; this one has 1025"),
        "{:?}",
        r.failures
    );
    // Into a prefix, the joined key is checked the same way.
    let prefix = format!("{}/", &over[..1019]);
    let r = env
        .copy(src.clone(), env.key(&prefix), JobOptions::default())
        .await;
    assert!(r.failures[0].1.contains("this one has 1025"), "{r:?}");
    assert_eq!(
        server.stats().all_requests(),
        BTreeMap::new(),
        "no request for a key S3 would refuse"
    );

    let r = env.copy(src, env.key(&fits), JobOptions::default()).await;
    assert_eq!(r.status, JobStatus::Finished, "{:?}", r.failures);
    let (listed, _) = list_all(&env.storage, &env.root, true).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].location, env.key(&fits));
    let back = env.path("back");
    let r = env
        .copy(
            env.root.clone(),
            Location::Local(back.clone()),
            JobOptions::default(),
        )
        .await;
    assert_eq!(r.status, JobStatus::Finished, "{:?}", r.failures);
    assert_eq!(std::fs::read(back.join(&fits)).unwrap(), b"payload");
}

async fn empties(backend: Backend) {
    let env = Env::new(backend).await;
    let src = env.path("src");
    std::fs::create_dir_all(src.join("emptydir")).unwrap();
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("empty.bin"), b"").unwrap();
    std::fs::write(src.join("sub/x.txt"), b"x").unwrap();
    let expected_keys = BTreeMap::from([
        ("empty.bin".to_string(), Vec::new()),
        ("emptydir/".to_string(), Vec::new()),
        ("sub/x.txt".to_string(), b"x".to_vec()),
    ]);
    let opts = JobOptions::default;

    // Local → S3: a zero-byte object and a folder marker for the empty directory.
    let r = env
        .copy(Location::Local(src.clone()), env.key("a/"), opts())
        .await;
    assert_eq!(r.status, JobStatus::Finished, "{:?}", r.failures);
    assert_eq!(contents(&env, &env.key("a/")).await, expected_keys);
    let sizes: Vec<_> = list_all(&env.storage, &env.key("a/"), true)
        .await
        .0
        .iter()
        .map(|e| (e.name.clone(), e.size))
        .collect();
    assert!(sizes.contains(&("empty.bin".into(), Some(0))), "{sizes:?}");

    // S3 → S3 by every route.
    let staging = env.path("staging");
    std::fs::create_dir_all(&staging).unwrap();
    for (to, mode) in [
        ("b/", Mode::ServerSide),
        ("c/", Mode::Streamed),
        ("d/", Mode::Staged),
    ] {
        let options = JobOptions {
            mode,
            staging_dir: Some(staging.clone()),
            ..opts()
        };
        let r = env.copy(env.key("a/"), env.key(to), options).await;
        assert_eq!(r.status, JobStatus::Finished, "{mode:?}: {:?}", r.failures);
        assert_eq!(
            contents(&env, &env.key(to)).await,
            expected_keys,
            "{mode:?}"
        );
    }
    assert!(tree(&staging).is_empty());

    // S3 → local and local → local.
    let want = ["empty.bin", "emptydir/", "sub/", "sub/x.txt"];
    let back = env.path("back");
    let r = env
        .copy(env.key("d/"), Location::Local(back.clone()), opts())
        .await;
    assert_eq!(r.status, JobStatus::Finished, "{:?}", r.failures);
    assert_eq!(tree(&back), want);
    assert_eq!(std::fs::read(back.join("empty.bin")).unwrap(), b"");
    let copy = env.path("copy");
    let r = env
        .copy(Location::Local(src), Location::Local(copy.clone()), opts())
        .await;
    assert_eq!(r.status, JobStatus::Finished, "{:?}", r.failures);
    assert_eq!(tree(&copy), want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_byte_objects_and_folder_markers_copy_every_way_s3s() {
    empties(Backend::S3s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_byte_objects_and_folder_markers_copy_every_way_garage() {
    empties(Backend::Garage).await;
}
