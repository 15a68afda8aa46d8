//! Secrets stay secret: with trace logging on, no log line, stderr, error message or Debug output
//! holds a secret key, a session token, an Authorization header or a presigned URL's signature;
//! and no request is sent over plain HTTP to a host that is not loopback unless the endpoint
//! opts in with `allow_insecure_http = true`.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use common::proxy::Proxy;
use common::{body, data, fresh_bucket};
use s3ferry::server::LocalS3Server;
use s3ferry::storage::{
    EndpointConfig, EndpointRef, Location, MIB, Storage, StorageError, WriteOptions,
};

const ACCESS_KEY: &str = "AKIDSECRETSTEST";
const SECRET: &str = "sEcReT-0123456789-abcdefghij-KLMNOP";
const TOKEN: &str = "sEsSiOnToKeN-0123456789-qrstuv";

/// Everything logged at any level by this test binary.
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything at TRACE, as `S3FERRY_LOG=trace` does, except the in-process S3 server's own
/// request dumps (the `s3s` crate logs whole requests, Authorization header included, at DEBUG):
/// they are capped at WARN, as the log file of the app must cap them (the demo runs that server).
fn capture_trace_logs() {
    use tracing_subscriber::layer::SubscriberExt;
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(tracing::Level::TRACE)
        .with_target("s3s", tracing::Level::WARN);
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(|| Capture)
        .finish()
        .with(filter);
    let _ = tracing::subscriber::set_global_default(subscriber);
}

fn logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

/// The value of `X-Amz-Signature` in a presigned URL.
fn signature_of(url: &str) -> String {
    url.split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("X-Amz-Signature="))
        .expect("a presigned URL has a signature")
        .to_string()
}

/// Fails if `text` (named `what`) shows any secret.
fn assert_clean(what: &str, text: &str, also: &[&str]) {
    for secret in [SECRET, TOKEN].iter().chain(also) {
        assert!(
            !text.contains(secret),
            "{what} shows a secret ({secret:?}):\n{}",
            text.lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    for pattern in [
        "Signature=",
        "X-Amz-Signature=",
        "AWS4-HMAC-SHA256 Credential",
    ] {
        assert!(
            !text.contains(pattern),
            "{what} shows a signature ({pattern:?}):\n{}",
            text.lines()
                .filter(|l| l.contains(pattern))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_errors_and_debug_output_hold_no_secret() {
    capture_trace_logs();
    s3ferry::storage::journal::use_path(std::path::PathBuf::from(concat!(
        env!("CARGO_TARGET_TMPDIR"),
        "/secrets-journal.jsonl"
    )));
    let dir = tempfile::tempdir().unwrap();
    let server = LocalS3Server::start_fs(&dir.path().join("s3"), ACCESS_KEY, SECRET)
        .await
        .unwrap();
    let ok = EndpointConfig::with_keys(&server.url(), ACCESS_KEY, SECRET);
    let mut wrong = EndpointConfig::with_keys(&server.url(), ACCESS_KEY, &SECRET.to_lowercase());
    wrong.max_attempts = Some(1);
    let mut token = EndpointConfig::with_keys(&server.url(), ACCESS_KEY, SECRET);
    token.session_token = Some(TOKEN.into());
    token.max_attempts = Some(1);
    let storage = Storage::new(
        EndpointConfig::default(),
        BTreeMap::from([
            ("ok".to_string(), ok.clone()),
            ("wrong".to_string(), wrong.clone()),
            ("token".to_string(), token.clone()),
        ]),
    );
    let bucket = fresh_bucket();
    let at = |ep: &str, key: &str| Location::s3(EndpointRef::Named(ep.into()), &bucket, key);
    let mut texts = vec![
        format!("{ok:?} {wrong:?} {token:?}"),
        format!(
            "{:?}",
            storage.s3(&EndpointRef::Named("token".into())).await
        ),
    ];

    storage.create_dir(&at("ok", "")).await.unwrap();
    let opts = WriteOptions {
        part_size: 5 * MIB,
        ..WriteOptions::default()
    };
    for (key, len) in [("small", 1000), ("multi", 11 * MIB as usize)] {
        storage
            .write(&at("ok", key), body(data(len, 1), 1 << 20), &opts)
            .await
            .unwrap();
        assert_eq!(common::read_all(&storage, &at("ok", key)).await.len(), len);
    }
    storage
        .copy_server_side(&at("ok", "small"), &at("ok", "copy"), 1000, &opts)
        .await
        .unwrap();
    common::list_all(&storage, &at("ok", ""), true).await;
    let url = storage
        .presign(&at("ok", "small"), Duration::from_secs(600))
        .await
        .unwrap();
    let signature = signature_of(&url);

    // Failures: a wrong secret, a session token the server does not know, a missing key.
    let failures: Vec<StorageError> = vec![
        storage.stat(&at("wrong", "small")).await.unwrap_err(),
        storage
            .write(&at("wrong", "x"), body(vec![1; 10], 10), &opts)
            .await
            .unwrap_err(),
        storage.stat(&at("ok", "missing")).await.unwrap_err(),
    ];
    // The token endpoint may be accepted or refused by the server; either way, its text is
    // checked.
    let with_token = storage.stat(&at("token", "small")).await;
    texts.push(format!("{with_token:?}"));
    for e in &failures {
        texts.push(format!("{e} / {e:?}"));
    }
    storage.delete_recursive(&at("ok", "")).await.unwrap();

    let logs = logs();
    assert!(
        logs.contains("TRACE") && logs.len() > 10_000,
        "trace logging was on"
    );
    assert_clean("the trace log", &logs, &[&signature]);
    for t in &texts {
        assert_clean("an error or Debug text", t, &[&signature]);
    }
}

/// The s3ferry binary with `S3FERRY_LOG=trace`: its log file, stdout and stderr.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_log_and_stderr_hold_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalS3Server::start_fs(&dir.path().join("s3"), ACCESS_KEY, SECRET)
        .await
        .unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[endpoints.ok]\nurl = \"{url}\"\naccess_key_id = \"{ACCESS_KEY}\"\nsecret_access_key = \"{SECRET}\"\n\n\
             [endpoints.wrong]\nurl = \"{url}\"\naccess_key_id = \"{ACCESS_KEY}\"\nsecret_access_key = \"x{SECRET}\"\nmax_attempts = 1\n\n\
             [endpoints.token]\nurl = \"{url}\"\naccess_key_id = \"{ACCESS_KEY}\"\nsecret_access_key = \"{SECRET}\"\nsession_token = \"{TOKEN}\"\nmax_attempts = 1\n",
            url = server.url()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let src = dir.path().join("f.bin");
    std::fs::write(&src, data(6 * MIB as usize, 2)).unwrap();
    let bucket = fresh_bucket();
    let state = dir.path().join("state");
    let runs: Vec<Vec<String>> = vec![
        vec!["mkdir".into(), format!("ok:{bucket}/")],
        vec![
            "cp".into(),
            "--part-size".into(),
            "5".into(),
            src.to_string_lossy().into_owned(),
            format!("ok:{bucket}/f.bin"),
        ],
        vec!["ls".into(), format!("ok:{bucket}/")],
        vec!["ls".into(), format!("wrong:{bucket}/")],
        vec!["ls".into(), format!("token:{bucket}/")],
        vec!["rm".into(), "-r".into(), format!("ok:{bucket}/")],
    ];
    let mut seen = String::new();
    for args in runs {
        let (config, state, history) = (config.clone(), state.clone(), dir.path().join("h.jsonl"));
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_s3ferry"))
                .args(&args)
                .env("S3FERRY_CONFIG", config)
                .env("S3FERRY_HISTORY", history)
                .env("S3FERRY_JOURNAL", state.join("uploads.jsonl"))
                .env("S3FERRY_LOG", "trace")
                .env("XDG_STATE_HOME", &state)
                .env("HOME", &state)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        seen.push_str(&String::from_utf8_lossy(&out.stdout));
        seen.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    assert!(
        seen.contains("rejected the credentials") || seen.contains("denied"),
        "the wrong secret failed visibly: {seen}"
    );
    assert_clean("the CLI's stdout and stderr", &seen, &[]);
    // (The CLI writes no log file today; if it starts to, it is checked too.)
    for entry in walk(&state) {
        if entry.extension().is_some_and(|e| e == "log") {
            let log = std::fs::read_to_string(&entry).unwrap();
            assert_clean("the CLI's log file", &log, &[]);
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A non-loopback address of this machine, if it has one.
fn own_address() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_another_host_needs_an_explicit_opt_in() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalS3Server::start_fs(&dir.path().join("s3"), ACCESS_KEY, SECRET)
        .await
        .unwrap();
    // A proxy on every interface, reached through this machine's own non-loopback address (or,
    // without one, an address from TEST-NET that nothing answers).
    let proxy = Proxy::start_on("0.0.0.0:0", &server.url()).await;
    let host = own_address().map_or("192.0.2.1".to_string(), |ip| ip.to_string());
    let url = format!("http://{host}:{}", proxy.addr.port());
    let mut refused = EndpointConfig::with_keys(&url, ACCESS_KEY, SECRET);
    refused.connect_timeout_secs = Some(2);
    let mut allowed = refused.clone();
    allowed.allow_insecure_http = Some(true);
    let storage = Storage::new(
        EndpointConfig::default(),
        BTreeMap::from([
            ("refused".to_string(), refused),
            ("allowed".to_string(), allowed),
        ]),
    );
    let bucket = fresh_bucket();
    let at = |ep: &str| Location::s3(EndpointRef::Named(ep.into()), &bucket, "");

    let started = std::time::Instant::now();
    let e = storage.create_dir(&at("refused")).await.unwrap_err();
    assert!(matches!(e, StorageError::Config(_)), "{e:?}");
    let shown = e.to_string();
    assert!(
        shown.contains("allow_insecure_http = true") && shown.contains(&host),
        "{shown}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused before connecting"
    );
    let e = storage
        .presign(&at("refused").join("k"), Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("allow_insecure_http"), "{e}");
    assert_eq!(proxy.requests().len(), 0, "nothing was sent");

    if own_address().is_some() {
        storage.create_dir(&at("allowed")).await.unwrap();
        assert!(
            proxy.requests().len() == 1,
            "the opted-in endpoint is reached"
        );
    }
    // Loopback needs no opt-in.
    let local = Storage::new(
        EndpointConfig::default(),
        BTreeMap::from([(
            "l".to_string(),
            EndpointConfig::with_keys(
                &server.url().replace("127.0.0.1", "localhost"),
                ACCESS_KEY,
                SECRET,
            ),
        )]),
    );
    let b2 = Location::s3(EndpointRef::Named("l".into()), &fresh_bucket(), "");
    local.create_dir(&b2).await.unwrap();
}
