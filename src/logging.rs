//! Logs go to `s3ferry.log` in the XDG state directory (or the cache directory where there is
//! no state directory), never to the screen. `S3FERRY_LOG=debug` raises the level.

use std::fs::OpenOptions;
use std::sync::Mutex;

use tracing::level_filters::LevelFilter;

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
    let _ = tracing_subscriber::fmt()
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .with_max_level(level)
        .try_init();
}
