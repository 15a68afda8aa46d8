//! s3ferry: a two-pane terminal file manager and CLI for S3, S3-compatible stores and the local
//! disk.
//!
//! Module map (arrows point the way dependencies go, never back):
//! - [`storage`]: one interface over local paths and S3 endpoints (list, stat, read, write,
//!   server-side copy, delete, create, rename, presign). Knows nothing of jobs or screens.
//! - [`server`]: an in-process S3 server on 127.0.0.1 (the demo and the tests).
//! - [`config`]: `config.toml` in the XDG config dir: named endpoints and defaults.

pub mod cli;
pub mod cli_report;
pub mod config;
pub mod demo;
pub mod server;
pub mod storage;
pub mod text;
pub mod transfer;
