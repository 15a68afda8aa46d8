//! Dialogs as state: at most one is open, and while it is, keys go to it.

use std::collections::BTreeSet;

use tui_input::Input;

use super::Side;
use crate::storage::Location;
use crate::transfer::history::HistoryRecord;
use crate::transfer::{ConflictPolicy, JobKind, Mode, Route};

/// What a text prompt is for.
#[derive(Debug, Clone, PartialEq)]
pub enum PromptKind {
    /// Filter the pane as you type.
    Filter(Side),
    /// Mark (true) or unmark entries matching a glob.
    MarkGlob(Side, bool),
    /// A new directory, prefix or bucket below this location.
    MakeDir(Side, Location),
    /// A new name for this entry.
    Rename(Side, Location),
    /// A location to open in the pane.
    OpenLocation(Side),
}

impl PromptKind {
    /// The prompt's title.
    pub fn title(&self) -> &'static str {
        match self {
            PromptKind::Filter(_) => "Filter",
            PromptKind::MarkGlob(_, true) => "Mark by glob",
            PromptKind::MarkGlob(_, false) => "Unmark by glob",
            PromptKind::MakeDir(..) => "New directory",
            PromptKind::Rename(..) => "Rename to",
            PromptKind::OpenLocation(_) => {
                "Open location (s3://bucket/prefix, NAME:bucket/, /path)"
            }
        }
    }
}

/// The plan of a copy or move, filled in as planning reports back.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanDialog {
    /// The planning request; results for another id are stale.
    pub request: u64,
    pub kind: JobKind,
    pub sources: Vec<Location>,
    pub dest: Location,
    pub mode: Mode,
    pub conflict: ConflictPolicy,
    pub files: u64,
    pub bytes: u64,
    /// Destinations that already exist (counted for the first files only).
    pub conflicts: u64,
    pub routes: BTreeSet<Route>,
    pub problems: Vec<String>,
    pub complete: bool,
    /// Whether source and destination share an endpoint and credentials.
    pub server_side_possible: bool,
}

/// The open dialog.
#[derive(Debug, Clone)]
pub enum Modal {
    Help {
        scroll: usize,
    },
    Prompt {
        kind: PromptKind,
        input: Input,
        /// Completions offered for the current input (bucket names).
        hint: Option<String>,
    },
    Plan(PlanDialog),
    ConfirmDelete {
        sources: Vec<Location>,
        files: u64,
        dirs: u64,
        bytes: u64,
    },
    ConfirmQuit {
        active: usize,
    },
    /// Waiting for a stat, preview or presign result.
    Waiting {
        request: u64,
        title: String,
    },
    Info {
        title: String,
        rows: Vec<(String, String)>,
    },
    Preview {
        title: String,
        lines: Vec<String>,
        scroll: usize,
    },
    Message {
        title: String,
        text: String,
    },
    EndpointPicker {
        side: Side,
        items: Vec<(String, Location)>,
        cursor: usize,
    },
    History {
        records: Vec<HistoryRecord>,
        error: Option<String>,
    },
}

impl Modal {
    /// A text prompt with initial text.
    pub fn prompt(kind: PromptKind, initial: &str) -> Modal {
        Modal::Prompt {
            kind,
            input: Input::new(initial.to_string()),
            hint: None,
        }
    }
}
