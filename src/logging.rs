//! Logs go to `s3ferry.log` in the XDG state directory (or the cache directory where there is
//! no state directory), never to the screen. `S3FERRY_LOG=debug` raises the level.

use std::fs::OpenOptions;
use std::sync::Mutex;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;

/// Starts logging to the log file; does nothing if it cannot be opened.
pub fn init() {
    let Some(dirs) = crate::config::project_dirs() else {
        return;
    };
    let dir = dirs.state_dir().unwrap_or(dirs.cache_dir()).to_path_buf();
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let Ok(file) = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("s3ferry.log"))
    else {
        return;
    };
    let level = match std::env::var("S3FERRY_LOG").as_deref() {
        Ok("trace") => LevelFilter::TRACE,
        Ok("debug") => LevelFilter::DEBUG,
        Ok("warn") => LevelFilter::WARN,
        Ok("error") => LevelFilter::ERROR,
        _ => LevelFilter::INFO,
    };
    // The in-process S3 server of `--demo` (the `s3s` crate) logs whole requests at DEBUG,
    // Authorization header included: it is capped at WARN so no secret reaches the file.
    let filter = Targets::new()
        .with_default(level)
        .with_target("s3s", LevelFilter::WARN);
    let subscriber = tracing_subscriber::fmt()
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .with_max_level(level)
        .finish()
        .with(filter);
    let _ = tracing::subscriber::set_global_default(subscriber);
}
