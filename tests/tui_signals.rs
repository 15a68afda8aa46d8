//! The real binary in a real terminal (tmux), uploading to Garage, killed mid-transfer by
//! SIGTERM or by its terminal going away (SIGHUP, as when an SSH link drops): it exits within
//! 5 s, the terminal is restored, and the multipart upload it was writing is aborted.
//! Needs tmux (`.ci/run` installs it when missing).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use s3ferry::storage::{EndpointConfig, EndpointRef, Location, Storage};

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(args)
        .output()
        .expect("tmux is needed for this test (apt-get install tmux)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Session {
    name: String,
}

impl Session {
    /// Starts the binary in a detached 100×30 tmux session that stays after it exits.
    /// Everything the app writes to the terminal is logged to `output`.
    fn start(name: &str, output: &Path, env: &[(&str, &Path)]) -> Session {
        let name = format!("s3ferry-test-{name}");
        tmux(&[
            "new-session",
            "-d",
            "-s",
            &name,
            "-x",
            "100",
            "-y",
            "30",
            "sleep 600",
        ]);
        tmux(&["set-option", "-t", &name, "remain-on-exit", "on"]);
        let pipe = format!("cat >> '{}'", output.display());
        tmux(&["pipe-pane", "-t", &name, "-o", &pipe]);
        let vars: Vec<String> = env
            .iter()
            .map(|(k, v)| format!("{k}='{}'", v.display()))
            .collect();
        let cmd = format!(
            "exec env {} TERM=xterm-256color {}",
            vars.join(" "),
            env!("CARGO_BIN_EXE_s3ferry")
        );
        tmux(&["respawn-pane", "-k", "-t", &name, &cmd]);
        Session { name }
    }

    fn screen(&self) -> String {
        tmux(&["capture-pane", "-t", &self.name, "-p"])
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.name];
        args.extend_from_slice(keys);
        tmux(&args);
    }

    fn show(&self, format: &str) -> String {
        tmux(&["display-message", "-p", "-t", &self.name, format])
            .trim()
            .to_string()
    }

    fn wait_screen(&self, text: &str) {
        wait_for(
            &format!("{text:?} on screen"),
            Duration::from_secs(60),
            || self.screen().contains(text),
        );
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        tmux(&["kill-session", "-t", &self.name]);
    }
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

/// Uploads a large local file to a fresh Garage bucket through the UI and stops the app with
/// `stop` while the upload runs; then checks exit, terminal and leftovers.
async fn interrupted_upload(stop: impl FnOnce(&Session, u32, &Path)) {
    let g = tokio::task::spawn_blocking(common::servers::garage)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local");
    std::fs::create_dir(&local).unwrap();
    // A sparse 1 GiB file: quick to make, long enough to upload that it is caught mid-way.
    std::fs::File::create(local.join("big.bin"))
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let bucket = common::fresh_bucket();
    let mut named = BTreeMap::new();
    named.insert(
        "g".to_string(),
        EndpointConfig::with_keys(&g.url, &g.access_key, &g.secret_key),
    );
    let storage = Storage::new(EndpointConfig::default(), named);
    let dest = Location::s3(EndpointRef::Named("g".into()), &bucket, "");
    storage.create_dir(&dest).await.unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "left = \"{}\"\nright = \"g:{bucket}/\"\n[endpoints.g]\nurl = \"{}\"\naccess_key_id = \"{}\"\nsecret_access_key = \"{}\"\n",
            local.display(),
            g.url,
            g.access_key,
            g.secret_key
        ),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let output = dir.path().join("terminal-output");
    let session = Session::start(
        &bucket,
        &output,
        &[
            ("S3FERRY_CONFIG", &config),
            ("S3FERRY_HISTORY", &dir.path().join("history.jsonl")),
            ("XDG_STATE_HOME", dir.path()),
            ("S3FERRY_JOURNAL", &dir.path().join("journal.jsonl")),
        ],
    );
    session.wait_screen("big.bin");
    assert_eq!(
        session.show("#{alternate_on}"),
        "1",
        "the UI uses the alternate screen"
    );
    session.keys(&["F5"]);
    session.wait_screen("Enter queue");
    session.keys(&["Enter"]);
    let started = Instant::now();
    while {
        let screen = session.screen();
        !screen.contains("ETA ") || screen.contains(" 0 B/")
    } {
        let screen = session.screen();
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the upload did not start:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid: u32 = session.show("#{pane_pid}").parse().unwrap();
    let s3 = storage.s3(&EndpointRef::Named("g".into())).await.unwrap();
    // Bytes are counted as they are read, a moment before the upload is created: poll.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let uploads = s3.list_multipart_uploads(&bucket, "").await.unwrap();
        if uploads.len() == 1 {
            break;
        }
        let screen = session.screen();
        assert!(
            Instant::now() < deadline,
            "no multipart upload in flight: {uploads:?}\n{screen}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let stopped = Instant::now();
    stop(&session, pid, &output);
    wait_for("the process to exit", Duration::from_secs(5), || {
        !alive(pid)
    });
    assert!(stopped.elapsed() < Duration::from_secs(5));
    let uploads = s3.list_multipart_uploads(&bucket, "").await.unwrap();
    assert!(uploads.is_empty(), "the upload was aborted: {uploads:?}");
    let (listed, _) = common::list_all(&storage, &dest, true).await;
    assert!(listed.is_empty(), "no object was created: {listed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_upload_restores_the_terminal_and_aborts_the_upload() {
    interrupted_upload(|session, pid, output| {
        let ok = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        wait_for("the process to exit", Duration::from_secs(5), || {
            !alive(pid)
        });
        assert_eq!(
            session.show("#{alternate_on}"),
            "0",
            "the terminal left the alternate screen"
        );
        assert_eq!(session.show("#{pane_dead_status}"), "0", "a clean exit");
        // The last words to the terminal: leave the alternate screen, show the cursor.
        wait_for("the terminal output", Duration::from_secs(2), || {
            std::fs::read(output).is_ok_and(|b| b.ends_with(b"\x1b[?1049l\x1b[?25h"))
        });
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_terminal_sighup_aborts_the_upload_and_exits() {
    interrupted_upload(|session, pid, _| {
        // Closing the pane closes the PTY: the kernel sends SIGHUP, as when SSH drops.
        tmux(&["kill-pane", "-t", &session.name]);
        wait_for("the process to exit", Duration::from_secs(5), || {
            !alive(pid)
        });
    })
    .await;
}
