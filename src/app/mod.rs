//! The application state and its reducer: `update(&mut App, Msg) -> Vec<Effect>`.
//!
//! Owns: the two panes, focus, the open dialog, the job board, the keymap. Everything that
//! happens arrives as a [`Msg`] (a key, a listing page, a worker event, a tick); everything the
//! app wants done goes out as an [`Effect`] that the runtime performs. No I/O, no clock, no
//! tokio, no terminal here, so every behaviour is a plain `#[test]`.
//! Must not import `ui`, `runtime` or terminal crates.

pub mod dialogs;
pub mod jobs;
pub mod keymap;
pub mod keys;
pub mod modal;
pub mod pane;
mod update;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

pub use jobs::{JobBoard, JobView};
pub use keymap::{Action, Keymap};
pub use keys::{Code, Key};
pub use modal::{Modal, PlanDialog, PromptKind};
pub use pane::{Pane, SortBy};
pub use update::update;

use crate::storage::{EndpointRef, ListPage, Location, ObjectInfo};
use crate::transfer::history::HistoryRecord;
use crate::transfer::{Event, JobId, JobOptions, JobSpec, Route};

/// Left or right pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Left,
    Right,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }

    fn index(self) -> usize {
        match self {
            Side::Left => 0,
            Side::Right => 1,
        }
    }
}

/// What planning has found so far (the runtime sends snapshots as it goes).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanUpdate {
    pub files: u64,
    pub bytes: u64,
    pub conflicts: u64,
    pub routes: BTreeSet<Route>,
    pub problems: Vec<String>,
    pub complete: bool,
    pub server_side_possible: bool,
}

/// Everything that can happen to the app.
#[derive(Debug)]
pub enum Msg {
    Key(Key),
    Resize {
        width: u16,
        height: u16,
    },
    /// One page of a listing (or its failure), for the pane that asked with `request`.
    Listed {
        side: Side,
        request: u64,
        page: Result<ListPage, String>,
        first: bool,
        done: bool,
    },
    /// Bucket names of an endpoint, for completion.
    Buckets {
        endpoint: EndpointRef,
        names: Vec<String>,
    },
    Planned {
        request: u64,
        update: PlanUpdate,
    },
    Stat {
        request: u64,
        result: Result<ObjectInfo, String>,
    },
    Preview {
        request: u64,
        result: Result<Vec<u8>, String>,
    },
    Presigned {
        request: u64,
        result: Result<String, String>,
    },
    /// A create or rename finished; `Ok` holds a message for the status line.
    OpDone {
        result: Result<String, String>,
    },
    Job(Event),
    /// A quarter second passed (sent only while something is moving or loading).
    Tick,
    History(Result<Vec<HistoryRecord>, String>),
}

/// Work the runtime does for the app; results come back as [`Msg`]s.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    List {
        side: Side,
        request: u64,
        location: Location,
    },
    ListBuckets {
        endpoint: EndpointRef,
    },
    Plan {
        request: u64,
        spec: JobSpec,
    },
    StopPlan {
        request: u64,
    },
    Submit(JobSpec),
    Cancel(JobId),
    Retry(JobId),
    Stat {
        request: u64,
        location: Location,
    },
    Preview {
        request: u64,
        location: Location,
    },
    Presign {
        request: u64,
        location: Location,
    },
    CreateDir(Location),
    Rename {
        from: Location,
        to: Location,
    },
    LoadHistory,
    /// Quit: cancel running jobs (aborting their uploads), then leave.
    Quit,
}

/// The whole application state.
#[derive(Debug, Clone)]
pub struct App {
    pub panes: [Pane; 2],
    pub side: Side,
    /// The job list has the focus (Up/Down select a job).
    pub jobs_focused: bool,
    pub modal: Option<Modal>,
    pub jobs: JobBoard,
    pub keymap: Keymap,
    /// Named endpoints, for the picker.
    pub endpoints: Vec<String>,
    /// Where "local" in the picker goes.
    pub home: Location,
    /// Options for new jobs (concurrency, part size from the config).
    pub options: JobOptions,
    /// The last message for the status line.
    pub status: Option<String>,
    pub width: u16,
    pub height: u16,
    pub ticks: u64,
    /// Bucket names seen per endpoint, for completion in the open-location prompt.
    pub known_buckets: BTreeMap<EndpointRef, Vec<String>>,
    pub quit: bool,
    next_request: u64,
}

impl App {
    /// A new app with panes on `left` and `right`; returns the effects that list them.
    pub fn new(left: Location, right: Location, home: Location) -> (App, Vec<Effect>) {
        let mut app = App {
            panes: [Pane::new(left.clone()), Pane::new(right.clone())],
            side: Side::Left,
            jobs_focused: false,
            modal: None,
            jobs: JobBoard::default(),
            keymap: Keymap::default(),
            endpoints: Vec::new(),
            home,
            options: JobOptions::default(),
            status: None,
            width: 80,
            height: 24,
            ticks: 0,
            known_buckets: BTreeMap::new(),
            quit: false,
            next_request: 0,
        };
        let effects = vec![app.go(Side::Left, left), app.go(Side::Right, right)];
        (app, effects)
    }

    /// A pane.
    pub fn pane(&self, side: Side) -> &Pane {
        &self.panes[side.index()]
    }

    /// A pane, mutably.
    pub fn pane_mut(&mut self, side: Side) -> &mut Pane {
        &mut self.panes[side.index()]
    }

    /// The focused pane.
    pub fn focused(&self) -> &Pane {
        self.pane(self.side)
    }

    fn request_id(&mut self) -> u64 {
        self.next_request += 1;
        self.next_request
    }

    /// Points a pane at a location and asks for its listing.
    pub fn go(&mut self, side: Side, location: Location) -> Effect {
        let request = self.request_id();
        self.pane_mut(side).go(location.clone(), request);
        Effect::List {
            side,
            request,
            location,
        }
    }

    /// Lists a pane's location again, keeping its entries until the first page arrives.
    pub fn refresh(&mut self, side: Side) -> Effect {
        let request = self.request_id();
        let pane = self.pane_mut(side);
        pane.begin_listing(request);
        Effect::List {
            side,
            request,
            location: pane.location.clone(),
        }
    }

    /// Whether the runtime should send ticks (something is moving, loading or animating).
    pub fn wants_ticks(&self) -> bool {
        self.jobs.active() > 0
            || self.panes.iter().any(|p| p.loading)
            || matches!(&self.modal, Some(Modal::Plan(p)) if !p.complete)
            || matches!(self.modal, Some(Modal::Waiting { .. }))
            || self.jobs.samples.iter().any(|&s| s > 0)
    }

    /// Rows of entries a pane shows at the current terminal size (for PgUp/PgDn).
    pub fn pane_rows(&self) -> usize {
        let h = self.height as usize;
        let below = job_panel_height(self.height) as usize + usize::from(h >= 3);
        h.saturating_sub(below).saturating_sub(3).max(1)
    }
}

/// Height of the bottom job panel for a terminal height (none on small terminals).
pub fn job_panel_height(height: u16) -> u16 {
    match height {
        0..14 => 0,
        14..20 => 5,
        _ => 8,
    }
}
