//! The transfer engine: plans jobs (expanding prefixes and directories as they are listed),
//! runs them on a tokio worker pool, reports progress as typed events on one channel, and records
//! every job in `history.jsonl`.
//!
//! Owns: jobs, planning, conflict policy, routes (server-side, streamed, staged, upload,
//! download), verification, history. Uses `storage`; must not know about the UI or the terminal.

pub mod checksum;
pub mod copy;
pub mod events;
pub mod history;
pub mod job;
pub mod plan;
pub mod worker;

pub use events::{Event, JobReport, JobStatus, Progress};
pub use job::{ConflictPolicy, JobId, JobKind, JobOptions, JobSpec, Mode, Route};
pub use plan::{FileTask, PlanItem};
pub use worker::Worker;
