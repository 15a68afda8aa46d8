//! s3ferry: a two-pane terminal file manager and CLI for S3, S3-compatible stores and the local
//! disk.
//!
//! Module map (arrows point the way dependencies go, never back):
//! - [`storage`]: one interface over local paths and S3 endpoints (list, stat, read, write,
//!   server-side copy, delete, create, rename, presign). Knows nothing of jobs or screens.
//! - [`server`]: an in-process S3 server on 127.0.0.1 (the demo and the tests).
//! - [`transfer`]: plans and runs copy/move/delete jobs on a worker pool; reports events and
//!   records history. Knows nothing of screens.
//! - [`app`]: the TUI's state and pure reducer (`update(&mut App, Msg) -> Vec<Effect>`).
//! - [`ui`]: draws `&App` with a theme; reads no clock, mutates nothing.
//! - [`runtime`]: wires terminal input, the worker and effects into one message loop.
//! - [`cli`], [`tui`], [`config`], [`logging`]: thin shells (flags, config.toml, log file).

pub mod app;
pub mod cli;
pub mod cli_report;
pub mod config;
pub mod demo;
pub mod logging;
pub mod runtime;
pub mod server;
pub mod storage;
pub mod text;
pub mod transfer;
pub mod tui;
pub mod ui;
