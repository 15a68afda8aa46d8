//! The storage contract: one suite, written once, run against the local disk and every S3
//! server the harness starts on 127.0.0.1 (the in-process s3s server, Garage — the reference,
//! which must pass everything — and moto). Cases a server cannot pass are marked in
//! `common::expected_failure` with the reason; they still run and must still fail.

mod common;

use std::time::Duration;

use common::{Backend, Target, body, data, list_all, names, put, read_all, sha256};
use futures::StreamExt;
use s3ferry::storage::{EntryKind, Location, MIB, StorageError, WriteOptions};

mod cases {
    use super::*;

    pub async fn list_with_and_without_delimiter(t: Target) {
        for k in ["a.txt", "dir/b.txt", "dir/sub/c.txt", "z.txt"] {
            put(&t.storage, &t.root.join(k), k.as_bytes()).await;
        }
        assert_eq!(
            names(&t.storage, &t.root, false).await,
            ["a.txt", "dir/", "z.txt"]
        );
        assert_eq!(
            names(&t.storage, &t.root.join("dir/"), false).await,
            ["b.txt", "sub/"]
        );
        let mut deep = names(&t.storage, &t.root, true).await;
        // The local disk lists its directories in a walk; S3 has only keys.
        deep.retain(|n| !n.ends_with('/'));
        assert_eq!(deep, ["a.txt", "dir/b.txt", "dir/sub/c.txt", "z.txt"]);
        let (entries, _) = list_all(&t.storage, &t.root, false).await;
        let a = entries.iter().find(|e| e.name == "a.txt").unwrap();
        assert_eq!((a.kind, a.size), (EntryKind::File, Some(5)));
        assert!(a.modified.is_some());
        assert_eq!(
            entries.iter().find(|e| e.name == "dir").unwrap().kind,
            EntryKind::Dir
        );
    }

    pub async fn pagination_past_1000_keys(t: Target) {
        let n = 1100;
        futures::stream::iter(0..n)
            .for_each_concurrent(16, |i| {
                let loc = t.root.join(&format!("many/k{i:05}"));
                let storage = &t.storage;
                async move { put(storage, &loc, b"x").await }
            })
            .await;
        let (entries, pages) = list_all(&t.storage, &t.root.join("many/"), false).await;
        assert_eq!(entries.len(), n);
        assert!(
            pages >= 2,
            "{pages} pages for {n} keys: the first page must come before the rest"
        );
        let mut keys: Vec<_> = entries.iter().map(|e| e.name.clone()).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), n, "no key listed twice");
    }

    pub async fn ranged_reads(t: Target) {
        let bytes = data(300_000, 1);
        let loc = t.root.join("r.bin");
        put(&t.storage, &loc, &bytes).await;
        for (a, b) in [
            (0u64, 1u64),
            (10, 20),
            (100_000, 300_000),
            (299_999, 300_000),
        ] {
            let mut s = t.storage.read(&loc, Some(a..b)).await.unwrap();
            let mut got = Vec::new();
            while let Some(c) = s.next().await {
                got.extend_from_slice(&c.unwrap());
            }
            assert_eq!(got, bytes[a as usize..b as usize], "range {a}..{b}");
        }
        assert_eq!(t.storage.stat(&loc).await.unwrap().size, 300_000);
    }

    pub async fn write_small_and_multipart(t: Target) {
        let small = data(1000, 2);
        let small_loc = t.root.join("small.bin");
        let out = t
            .storage
            .write(
                &small_loc,
                body(small.clone(), 100),
                &WriteOptions::default(),
            )
            .await
            .unwrap();
        assert_eq!((out.size, out.parts), (1000, 0));
        assert_eq!(read_all(&t.storage, &small_loc).await, small);

        let big = data(20 * MIB as usize + 12345, 3);
        let big_loc = t.root.join("big/twenty.bin");
        let opts = WriteOptions {
            part_size: 5 * MIB,
            part_concurrency: 3,
            ..WriteOptions::default()
        };
        let out = t
            .storage
            .write(&big_loc, body(big.clone(), 100_000), &opts)
            .await
            .unwrap();
        assert_eq!(out.size, big.len() as u64);
        if t.is_s3() {
            assert_eq!(out.parts, 5, "20 MiB + a bit in 5 MiB parts");
            // A multipart ETag says how many parts the store assembled.
            let etag = t
                .storage
                .stat(&big_loc)
                .await
                .unwrap()
                .etag
                .unwrap_or_default();
            assert!(etag.ends_with("-5"), "etag {etag}");
        }
        assert_eq!(sha256(&read_all(&t.storage, &big_loc).await), sha256(&big));

        let empty_loc = t.root.join("empty");
        put(&t.storage, &empty_loc, b"").await;
        assert_eq!(t.storage.stat(&empty_loc).await.unwrap().size, 0);
        assert!(read_all(&t.storage, &empty_loc).await.is_empty());
    }

    pub async fn server_side_copy_and_upload_part_copy(t: Target) {
        let src = t.root.join("src.bin");
        let bytes = data(12 * MIB as usize + 7, 4);
        put(&t.storage, &src, &bytes).await;
        let dst = t.root.join("copies/plain.bin");
        let result = t
            .storage
            .copy_server_side(&src, &dst, bytes.len() as u64, &WriteOptions::default())
            .await;
        if !t.is_s3() {
            assert!(
                matches!(result, Err(StorageError::Unsupported { .. })),
                "{result:?}"
            );
            return;
        }
        assert_eq!(result.unwrap().parts, 0, "CopyObject below the threshold");
        assert_eq!(sha256(&read_all(&t.storage, &dst).await), sha256(&bytes));

        let parted = t.root.join("copies/parted.bin");
        let opts = WriteOptions {
            part_size: 5 * MIB,
            copy_multipart_threshold: 5 * MIB,
            ..WriteOptions::default()
        };
        let out = t
            .storage
            .copy_server_side(&src, &parted, bytes.len() as u64, &opts)
            .await
            .unwrap();
        assert_eq!(out.parts, 3, "UploadPartCopy in 5 MiB ranges");
        assert_eq!(sha256(&read_all(&t.storage, &parted).await), sha256(&bytes));

        // Another account on the same server cannot copy server-side.
        let other = Location::parse("other:bucket/x").unwrap();
        assert!(!t.storage.can_copy_server_side(&src, &other).await);
    }

    pub async fn batch_delete_over_1000_keys(t: Target) {
        let n = 1005;
        let locs: Vec<Location> = (0..n)
            .map(|i| t.root.join(&format!("del/k{i:05}")))
            .collect();
        futures::stream::iter(locs.clone())
            .for_each_concurrent(16, |loc| {
                let storage = &t.storage;
                async move { put(storage, &loc, b"x").await }
            })
            .await;
        put(&t.storage, &t.root.join("keep.txt"), b"keep").await;
        let report = t.storage.delete(&locs).await.unwrap();
        assert_eq!(report.deleted, n);
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        if t.is_s3() {
            assert_eq!(report.requests, 2, "1,005 keys in batches of at most 1,000");
        }
        let mut left = names(&t.storage, &t.root, true).await;
        left.retain(|n| !n.ends_with('/'));
        assert_eq!(left, ["keep.txt"]);

        // Recursive delete of a prefix (or directory) takes everything below it, nothing else.
        for k in ["tree/a", "tree/b/c", "tree/b/d", "treehouse"] {
            put(&t.storage, &t.root.join(k), b"x").await;
        }
        t.storage
            .delete_recursive(&t.root.join("tree"))
            .await
            .unwrap();
        let mut left = names(&t.storage, &t.root, true).await;
        left.retain(|n| !n.ends_with('/'));
        assert_eq!(left, ["keep.txt", "treehouse"]);
    }

    pub async fn failed_or_dropped_multipart_leaves_nothing(t: Target) {
        let opts = WriteOptions {
            part_size: 5 * MIB,
            ..WriteOptions::default()
        };
        // A source that fails after 12 MiB (two parts uploaded, a third started).
        let loc = t.root.join("broken.bin");
        let good = body(data(12 * MIB as usize, 5), 1 << 20);
        let failing = good.chain(futures::stream::once(async {
            Err(StorageError::Integrity {
                what: "test source".into(),
                detail: "injected failure".into(),
            })
        }));
        let err = t
            .storage
            .write(&loc, Box::pin(failing), &opts)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("injected failure"), "{err}");
        assert_no_trace(&t, &loc).await;

        // A write dropped half-way (its task cancelled while the source stalls).
        let loc = t.root.join("dropped.bin");
        let stalled = body(data(11 * MIB as usize, 6), 1 << 20).chain(futures::stream::pending());
        let storage = std::sync::Arc::new(t.storage);
        let task = {
            let (storage, loc, opts) = (storage.clone(), loc.clone(), opts.clone());
            tokio::spawn(async move { storage.write(&loc, Box::pin(stalled), &opts).await })
        };
        tokio::time::sleep(Duration::from_millis(1500)).await;
        task.abort();
        let _ = task.await;
        let t = Target {
            storage: std::sync::Arc::try_unwrap(storage).ok().unwrap(),
            ..t
        };
        // The abort runs in the background on drop: allow it a moment.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            if uploads_for(&t, &loc).await.is_empty() || tokio::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_no_trace(&t, &loc).await;
    }

    async fn uploads_for(t: &Target, loc: &Location) -> Vec<(String, String)> {
        match loc {
            Location::S3 {
                endpoint,
                bucket,
                key,
                ..
            } => t
                .storage
                .s3(endpoint)
                .await
                .unwrap()
                .list_multipart_uploads(bucket, key)
                .await
                .expect("ListMultipartUploads"),
            _ => vec![],
        }
    }

    async fn assert_no_trace(t: &Target, loc: &Location) {
        assert!(
            t.storage.stat(loc).await.unwrap_err().is_not_found(),
            "{loc} must not exist"
        );
        assert_eq!(
            uploads_for(t, loc).await,
            vec![],
            "no multipart upload left for {loc}"
        );
        if let Location::Local(p) = loc {
            let dir = p.parent().unwrap();
            let left: Vec<_> = std::fs::read_dir(dir)
                .map(|rd| rd.map(|e| e.unwrap().file_name()).collect())
                .unwrap_or_default();
            assert!(left.is_empty(), "temp files left: {left:?}");
        }
    }

    pub async fn key_that_is_also_a_prefix_and_folder_markers(t: Target) {
        put(&t.storage, &t.root.join("photos"), b"file").await;
        put(&t.storage, &t.root.join("photos2/1.jpg"), b"jpg").await;
        t.storage
            .create_dir(&t.root.join("empty-folder/"))
            .await
            .unwrap();
        let top = names(&t.storage, &t.root, false).await;
        assert!(top.contains(&"empty-folder/".to_string()), "{top:?}");
        assert!(
            names(&t.storage, &t.root.join("empty-folder/"), false)
                .await
                .is_empty()
        );
        if !t.is_s3() {
            return; // a local name is a file or a directory, not both
        }
        put(&t.storage, &t.root.join("photos/1.jpg"), b"jpg").await;
        let top = names(&t.storage, &t.root, false).await;
        assert!(
            top.contains(&"photos".into()) && top.contains(&"photos/".into()),
            "{top:?}"
        );
        assert_eq!(read_all(&t.storage, &t.root.join("photos")).await, b"file");
        assert_eq!(
            read_all(&t.storage, &t.root.join("photos/1.jpg")).await,
            b"jpg"
        );
    }

    pub async fn odd_keys_round_trip(t: Target) {
        let keys = [
            "ü/ß — 日本.txt",
            "a b",
            "a+b",
            "100%",
            "a%2Fb",
            "what?",
            "#hash",
            "semi;colon&amp=",
            "tab\there",
        ];
        for (i, k) in keys.iter().enumerate() {
            put(&t.storage, &t.root.join(k), format!("{i}").as_bytes()).await;
        }
        let mut listed = names(&t.storage, &t.root, true).await;
        listed.retain(|n| !n.ends_with('/'));
        let mut expected: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        expected.sort();
        assert_eq!(listed, expected);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(
                read_all(&t.storage, &t.root.join(k)).await,
                format!("{i}").as_bytes(),
                "{k:?}"
            );
        }
        if t.is_s3() {
            // Control characters only survive listings through EncodingType=url.
            let cr = t.root.join("cr\rkey");
            let lf = t.root.join("cr\nkey");
            put(&t.storage, &cr, b"r").await;
            put(&t.storage, &lf, b"n").await;
            let listed = names(&t.storage, &t.root, false).await;
            assert!(
                listed.contains(&"cr\rkey".into()) && listed.contains(&"cr\nkey".into()),
                "{listed:?}"
            );
            let report = t.storage.delete(std::slice::from_ref(&cr)).await.unwrap();
            assert_eq!(report.deleted, 1);
            assert_eq!(
                read_all(&t.storage, &lf).await,
                b"n",
                "deleting cr\\rkey left cr\\nkey alone"
            );
        }
    }

    pub async fn wrong_secret_and_missing_bucket_are_named(t: Target) {
        let missing = t.root.join("nope/nothing.txt");
        let err = t.storage.stat(&missing).await.unwrap_err();
        assert!(err.is_not_found(), "{err}");
        if !t.is_s3() {
            return;
        }
        let Location::S3 { endpoint, .. } = &t.root else {
            unreachable!()
        };
        let no_bucket = Location::s3(endpoint.clone(), "no-such-bucket-s3ferry", "");
        let err = names_err(&t, &no_bucket).await;
        assert!(
            matches!(err, StorageError::NoSuchBucket { .. }),
            "missing bucket: {err:?}"
        );
        assert!(err.to_string().contains("no-such-bucket-s3ferry"), "{err}");

        let bad = t.bad_credentials.clone().unwrap();
        let err = names_err(&t, &bad).await;
        assert!(
            matches!(err, StorageError::BadCredentials { .. }),
            "wrong secret: {err:?}"
        );
        let shown = format!("{err} {err:?}");
        assert!(
            !shown.contains(&t.secret[..t.secret.len() - 1]),
            "no secret in {shown}"
        );
    }

    async fn names_err(t: &Target, loc: &Location) -> StorageError {
        let mut pages = t.storage.list(loc).await.unwrap();
        pages.next().await.unwrap().unwrap_err()
    }

    pub async fn create_rename_and_presign(t: Target) {
        let a = t.root.join("dir/a.txt");
        put(&t.storage, &a, b"hello").await;
        let b = t.root.join("dir/b.txt");
        t.storage.rename(&a, &b).await.unwrap();
        assert!(t.storage.stat(&a).await.unwrap_err().is_not_found());
        assert_eq!(read_all(&t.storage, &b).await, b"hello");
        put(&t.storage, &a, b"again").await;
        let err = t.storage.rename(&a, &b).await.unwrap_err();
        assert!(
            matches!(err, StorageError::AlreadyExists { .. }),
            "never overwrites: {err}"
        );
        assert_eq!(read_all(&t.storage, &b).await, b"hello");

        let url = t.storage.presign(&b, Duration::from_secs(300)).await;
        if !t.is_s3() {
            assert!(url.is_err());
            return;
        }
        let url = url.unwrap();
        assert!(url.contains("X-Amz-Expires=300"), "{url}");
        assert_eq!(
            http_get(&url).await,
            b"hello",
            "the presigned URL serves the object"
        );
    }

    /// A plain HTTP/1.1 GET, enough for a presigned URL on 127.0.0.1.
    async fn http_get(url: &str) -> Vec<u8> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).await.unwrap();
        let text = String::from_utf8_lossy(&resp);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        let head_end = resp.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let body = resp[head_end..].to_vec();
        if text
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(&body)
        } else {
            body
        }
    }

    fn dechunk(mut b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let line_end = b.windows(2).position(|w| w == b"\r\n").unwrap();
            let n = usize::from_str_radix(std::str::from_utf8(&b[..line_end]).unwrap().trim(), 16)
                .unwrap();
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&b[line_end + 2..line_end + 2 + n]);
            b = &b[line_end + 4 + n..];
        }
    }
}

/// One module of tests per backend, each case a `#[tokio::test]`.
macro_rules! backend_suite {
    ($module:ident, $backend:expr) => {
        mod $module {
            use super::*;
            backend_suite!(@cases $backend;
                list_with_and_without_delimiter,
                pagination_past_1000_keys,
                ranged_reads,
                write_small_and_multipart,
                server_side_copy_and_upload_part_copy,
                batch_delete_over_1000_keys,
                failed_or_dropped_multipart_leaves_nothing,
                key_that_is_also_a_prefix_and_folder_markers,
                odd_keys_round_trip,
                wrong_secret_and_missing_bucket_are_named,
                create_rename_and_presign,
            );
        }
    };
    (@cases $backend:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                common::run_case($backend, stringify!($case), cases::$case).await;
            }
        )*
    };
}

backend_suite!(local, Backend::Local);
backend_suite!(s3s, Backend::S3s);
backend_suite!(garage, Backend::Garage);
backend_suite!(moto, Backend::Moto);

#[tokio::test]
async fn a_server_that_is_not_listening_is_named() {
    let port = common::servers::free_port();
    let mut named = std::collections::BTreeMap::new();
    let mut cfg = s3ferry::storage::EndpointConfig::with_keys(
        &format!("http://127.0.0.1:{port}"),
        "AK",
        "SK",
    );
    cfg.max_attempts = Some(1);
    named.insert("down".to_string(), cfg);
    let storage = s3ferry::storage::Storage::new(Default::default(), named);
    let loc = Location::parse("down:bucket/key").unwrap();
    let err = storage.stat(&loc).await.unwrap_err();
    assert!(matches!(err, StorageError::Unreachable { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(
        shown.contains(&format!("127.0.0.1:{port}")) && shown.contains("down"),
        "{shown}"
    );
    assert!(!shown.contains("SK"), "{shown}");
}
