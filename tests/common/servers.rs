//! Starts the S3 servers the suites run against, on 127.0.0.1: Garage and moto as child
//! processes (one per test binary, shared), the in-process s3s server per test. A missing server
//! binary is a loud failure that names the install command, never a silent skip.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A server process that dies with the test binary: it runs under a shell that kills it when
/// its stdin (a pipe held by this process) closes.
pub struct ChildServer {
    pub url: String,
    pub access_key: String,
    pub secret_key: String,
    _child: Child,
    _stdin: Mutex<ChildStdin>,
    _dir: tempfile::TempDir,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "{what} did not open port {port} within 30 s; its log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// Runs `program args…` so that it is killed when this process exits.
fn spawn_tied(program: &Path, args: &[&str], log: &Path) -> (Child, ChildStdin) {
    let log_file = std::fs::File::create(log).unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"p="$1"; shift; "$p" "$@" </dev/null & pid=$!; cat >/dev/null; kill $pid 2>/dev/null; wait $pid"#)
        .arg("tied")
        .arg(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let stdin = child.stdin.take().unwrap();
    (child, stdin)
}

fn find_binary(name: &str, env: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        dirs.push(PathBuf::from(home).join("bin"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

fn run(program: &Path, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}{}",
        program.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Garage 2.5, the reference server: one single-node instance per test binary.
pub fn garage() -> &'static ChildServer {
    static GARAGE: OnceLock<ChildServer> = OnceLock::new();
    GARAGE.get_or_init(start_garage)
}

fn start_garage() -> ChildServer {
    let bin = find_binary("garage", "GARAGE_BIN").unwrap_or_else(|| {
        panic!(
            "Garage, the reference S3 server of the test suite, is not installed. Install it with:\n  \
             cargo install garage@2.5.0 --locked --no-default-features --features bundled-libs,lmdb\n\
             (or run the README's test command, which does this), or set GARAGE_BIN."
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let (s3, rpc, admin) = (free_port(), free_port(), free_port());
    let secret: String = (0..32)
        .map(|i| format!("{:02x}", (i * 7 + s3 as usize) % 256))
        .collect();
    let conf = dir.path().join("garage.toml");
    std::fs::write(
        &conf,
        format!(
            r#"metadata_dir = "{meta}"
data_dir = "{data}"
db_engine = "lmdb"
replication_factor = 1
metadata_fsync = false
data_fsync = false
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "us-east-1"
api_bind_addr = "127.0.0.1:{s3}"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:{admin}"
"#,
            meta = dir.path().join("meta").display(),
            data = dir.path().join("data").display(),
        ),
    )
    .unwrap();
    let conf_s = conf.to_str().unwrap().to_string();
    let log = dir.path().join("garage.log");
    let (child, stdin) = spawn_tied(&bin, &["-c", &conf_s, "server"], &log);
    wait_for_port(rpc, "garage", &log);
    let node = run(&bin, &["-c", &conf_s, "node", "id", "-q"]);
    let node = node.trim().split('@').next().unwrap().to_string();
    run(
        &bin,
        &[
            "-c", &conf_s, "layout", "assign", "-z", "dc1", "-c", "10G", &node,
        ],
    );
    run(&bin, &["-c", &conf_s, "layout", "apply", "--version", "1"]);
    let access_key = "GK0123456789abcdef01234567".to_string();
    let secret_key = "0123456789abcdef".repeat(4);
    run(
        &bin,
        &[
            "-c",
            &conf_s,
            "key",
            "import",
            "--yes",
            "-n",
            "s3ferry-test",
            &access_key,
            &secret_key,
        ],
    );
    run(
        &bin,
        &[
            "-c",
            &conf_s,
            "key",
            "allow",
            "--create-bucket",
            &access_key,
        ],
    );
    wait_for_port(s3, "garage S3 API", &log);
    ChildServer {
        url: format!("http://127.0.0.1:{s3}"),
        access_key,
        secret_key,
        _child: child,
        _stdin: Mutex::new(stdin),
        _dir: dir,
    }
}

/// moto's server, which accepts any keys.
pub fn moto() -> &'static ChildServer {
    static MOTO: OnceLock<ChildServer> = OnceLock::new();
    MOTO.get_or_init(|| {
        let bin = find_binary("moto_server", "MOTO_SERVER_BIN").unwrap_or_else(|| {
            panic!("moto_server is not installed. Install it with:\n  pip install 'moto[server]'")
        });
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = dir.path().join("moto.log");
        let port_s = port.to_string();
        let (child, stdin) = spawn_tied(&bin, &["-H", "127.0.0.1", "-p", &port_s], &log);
        wait_for_port(port, "moto_server", &log);
        ChildServer {
            url: format!("http://127.0.0.1:{port}"),
            access_key: "AKIDMOTO".into(),
            secret_key: "moto-secret".into(),
            _child: child,
            _stdin: Mutex::new(stdin),
            _dir: dir,
        }
    })
}
