//! The `s3ferry` binary run from tests, with its own config, history and journal.

use std::path::PathBuf;

use assert_cmd::Command;

/// The `s3ferry` binary with a config naming one endpoint `t`.
pub struct Cli {
    pub dir: tempfile::TempDir,
    config: PathBuf,
    history: PathBuf,
}

/// What a run printed.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Cli {
    pub fn new(url: &str, ak: &str, sk: &str, region: Option<&str>) -> Cli {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        let region = region
            .map(|r| format!("region = \"{r}\"\n"))
            .unwrap_or_default();
        std::fs::write(
            &config,
            format!(
                "[endpoints.t]\nurl = \"{url}\"\naccess_key_id = \"{ak}\"\nsecret_access_key = \"{sk}\"\n{region}"
            ),
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let history = dir.path().join("history.jsonl");
        Cli {
            dir,
            config,
            history,
        }
    }

    /// Runs the binary off the async runtime (which serves the in-process server meanwhile).
    pub async fn run(&self, args: &[&str]) -> Output {
        let (config, history) = (self.config.clone(), self.history.clone());
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let out = Command::cargo_bin("s3ferry")
                .unwrap()
                .env(
                    "S3FERRY_JOURNAL",
                    concat!(env!("CARGO_TARGET_TMPDIR"), "/journal.jsonl"),
                )
                .env("S3FERRY_CONFIG", config)
                .env("S3FERRY_HISTORY", history)
                .env_remove("RUST_BACKTRACE")
                .args(&args)
                .output()
                .unwrap();
            Output {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        })
        .await
        .unwrap()
    }
}

impl Cli {
    /// A path inside the CLI's temporary directory, as a string argument.
    pub fn path(&self, rel: &str) -> String {
        self.dir.path().join(rel).to_string_lossy().into_owned()
    }
}

impl Output {
    /// Exit code, stdout and stderr.
    pub fn parts(self) -> (i32, String, String) {
        (self.code, self.stdout, self.stderr)
    }
}
