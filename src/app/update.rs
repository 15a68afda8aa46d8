//! The reducer: messages in, state changed, effects out. Keys outside dialogs go through the
//! keymap to [`Action`]s; keys inside dialogs go to [`super::dialogs`].

use super::dialogs;
use super::{Action, App, Effect, Key, Modal, Msg, PromptKind, Side};
use crate::storage::{EntryKind, Location};
use crate::text::escape;
use crate::transfer::{JobKind, JobSpec, JobStatus};

/// Applies one message; returns what the runtime should do.
pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) => on_key(app, key),
        Msg::Resize { width, height } => {
            app.width = width;
            app.height = height;
            vec![]
        }
        Msg::Listed {
            side,
            request,
            page,
            first,
            done,
        } => {
            on_listed(app, side, request, page, first, done);
            vec![]
        }
        Msg::Buckets { endpoint, names } => {
            app.known_buckets.insert(endpoint, names);
            dialogs::refresh_completion(app);
            vec![]
        }
        Msg::Tick => {
            app.ticks += 1;
            if app.ticks.is_multiple_of(4) {
                app.jobs.sample();
            }
            vec![]
        }
        Msg::Job(event) => on_job_event(app, event),
        other => dialogs::on_result(app, other),
    }
}

fn on_listed(
    app: &mut App,
    side: Side,
    request: u64,
    page: Result<crate::storage::ListPage, String>,
    first: bool,
    done: bool,
) {
    let pane = app.pane_mut(side);
    if pane.request != request {
        return; // the pane has moved on: a stale result
    }
    match page {
        Ok(page) => {
            pane.problems.extend(page.problems);
            if let crate::storage::Location::Buckets(ep) = &pane.location {
                let names = page.entries.iter().map(|e| e.name.clone());
                let ep = ep.clone();
                let known: Vec<String> = if first {
                    names.collect()
                } else {
                    let mut k = app.known_buckets.get(&ep).cloned().unwrap_or_default();
                    k.extend(names);
                    k
                };
                app.known_buckets.insert(ep, known);
            }
            let pane = app.pane_mut(side);
            pane.add_page(page.entries, first);
        }
        Err(e) => {
            pane.error = Some(e);
            if first {
                pane.entries.clear();
                pane.refilter(None);
            }
        }
    }
    let pane = app.pane_mut(side);
    if done {
        pane.finish_listing();
    }
    let rows = app.pane_rows();
    app.pane_mut(side).scroll_to_cursor(rows);
}

fn on_job_event(app: &mut App, event: crate::transfer::Event) -> Vec<Effect> {
    let Some(report) = app.jobs.apply(event) else {
        return vec![];
    };
    let what = match report.kind {
        JobKind::Copy => "copy",
        JobKind::Move => "move",
        JobKind::Delete => "delete",
    };
    app.status = Some(match (report.status, report.failures.first()) {
        (JobStatus::Finished, None) => format!(
            "job {} ({what}) finished: {} files, {} in {:.1} s ({})",
            report.id,
            report.files_done,
            crate::text::human_bytes(report.bytes as f64),
            report.duration.as_secs_f64(),
            report.mode()
        ),
        (JobStatus::Cancelled, _) => format!("job {} ({what}) cancelled", report.id),
        (_, Some((file, why))) => format!(
            "job {} ({what}) failed: {} file(s); {}: {}",
            report.id,
            report.failures.len(),
            escape(file),
            escape(why)
        ),
        (_, None) => format!("job {} ({what}) failed", report.id),
    });
    // The job changed what the panes show.
    [Side::Left, Side::Right]
        .into_iter()
        .map(|s| app.refresh(s))
        .collect()
}

fn on_key(app: &mut App, key: Key) -> Vec<Effect> {
    if app.modal.is_some() {
        return dialogs::on_key(app, key);
    }
    match app.keymap.action(&key) {
        Some(action) => on_action(app, action),
        None => vec![],
    }
}

/// Performs an action of the keymap.
pub fn on_action(app: &mut App, action: Action) -> Vec<Effect> {
    let rows = app.pane_rows();
    let side = app.side;
    if app.jobs_focused
        && let Some(effects) = on_job_action(app, action)
    {
        return effects;
    }
    let mut effects = vec![];
    match action {
        Action::Up => app.pane_mut(side).move_cursor(-1),
        Action::Down => app.pane_mut(side).move_cursor(1),
        Action::PageUp => app.pane_mut(side).move_cursor(-(rows as isize)),
        Action::PageDown => app.pane_mut(side).move_cursor(rows as isize),
        Action::Top => app.pane_mut(side).cursor = 0,
        Action::Bottom => app.pane_mut(side).move_cursor(isize::MAX / 2),
        Action::Open => effects.extend(open(app)),
        Action::Parent => effects.extend(parent(app, side)),
        Action::SwitchPane => app.side = side.other(),
        Action::Mark => {
            let pane = app.pane_mut(side);
            pane.toggle_mark();
            pane.move_cursor(1);
        }
        Action::InvertMarks => app.pane_mut(side).invert_marks(),
        Action::MarkGlob | Action::UnmarkGlob => {
            let kind = PromptKind::MarkGlob(side, action == Action::MarkGlob);
            app.modal = Some(Modal::prompt(kind, "*"));
        }
        Action::Filter => {
            let current = app.focused().filter.clone();
            app.modal = Some(Modal::prompt(PromptKind::Filter(side), &current));
        }
        Action::Copy => effects.extend(dialogs::start_plan(app, JobKind::Copy)),
        Action::Move => effects.extend(dialogs::start_plan(app, JobKind::Move)),
        Action::Delete => dialogs::confirm_delete(app),
        Action::MakeDir => {
            let loc = app.focused().location.clone();
            app.modal = Some(Modal::prompt(PromptKind::MakeDir(side, loc), ""));
        }
        Action::Rename => dialogs::start_rename(app),
        Action::Info => effects.extend(dialogs::start_info(app)),
        Action::Preview => effects.extend(dialogs::start_preview(app)),
        Action::Presign => effects.extend(dialogs::start_presign(app)),
        Action::OpenLocation => effects.extend(dialogs::start_open_location(app)),
        Action::Endpoint => dialogs::start_endpoint_picker(app),
        Action::Sort => {
            let pane = app.pane_mut(side);
            pane.sort = pane.sort.next();
            pane.resort();
            app.status = Some(format!("sorted by {}", app.focused().sort.label()));
        }
        Action::Refresh => effects.push(app.refresh(side)),
        Action::FocusJobs => {
            app.jobs_focused = !app.jobs.jobs.is_empty();
            app.jobs.selected = app.jobs.jobs.len().saturating_sub(1);
        }
        Action::CancelJob | Action::RetryJob => {
            app.status = Some(format!(
                "press {} to select a job first",
                app.keymap.first_key(Action::FocusJobs)
            ));
        }
        Action::History => {
            app.modal = Some(Modal::History {
                records: Vec::new(),
                error: None,
            });
            effects.push(Effect::LoadHistory);
        }
        Action::Help => app.modal = Some(Modal::Help { scroll: 0 }),
        Action::Quit => match app.jobs.active() {
            0 => {
                app.quit = true;
                effects.push(Effect::Quit);
            }
            active => app.modal = Some(Modal::ConfirmQuit { active }),
        },
    }
    app.pane_mut(side).scroll_to_cursor(rows);
    effects
}

/// Actions while the job list has the focus; `None` if the action is not about jobs.
fn on_job_action(app: &mut App, action: Action) -> Option<Vec<Effect>> {
    let board = &mut app.jobs;
    let mut effects = vec![];
    match action {
        Action::Up => board.selected = board.selected.saturating_sub(1),
        Action::Down => {
            board.selected = (board.selected + 1).min(board.jobs.len().saturating_sub(1))
        }
        Action::Top => board.selected = 0,
        Action::Bottom => board.selected = board.jobs.len().saturating_sub(1),
        Action::SwitchPane | Action::FocusJobs | Action::Parent => app.jobs_focused = false,
        Action::CancelJob => match board.selected().filter(|j| j.active()) {
            Some(job) => effects.push(Effect::Cancel(job.id)),
            None => app.status = Some("the selected job is not running".into()),
        },
        Action::RetryJob => match board.selected_retryable() {
            Some(id) => effects.push(Effect::Retry(id)),
            None => app.status = Some("only a failed or cancelled job can be retried".into()),
        },
        _ => return None,
    }
    Some(effects)
}

fn open(app: &mut App) -> Option<Effect> {
    let side = app.side;
    let entry = app.focused().current()?.clone();
    match entry.kind {
        EntryKind::Bucket | EntryKind::Dir => Some(app.go(side, entry.location)),
        EntryKind::File | EntryKind::Symlink => dialogs::start_preview(app),
    }
}

fn parent(app: &mut App, side: Side) -> Option<Effect> {
    let here = app.pane(side).location.clone();
    let up = here.parent()?;
    let name = here.file_name().or_else(|| match &here {
        Location::S3 { bucket, key, .. } if key.is_empty() => Some(bucket.clone()),
        _ => None,
    });
    let effect = app.go(side, up);
    app.pane_mut(side).want_cursor = name;
    Some(effect)
}

/// Builds a copy, move or delete job.
pub fn job_spec(
    app: &App,
    kind: JobKind,
    sources: Vec<Location>,
    dest: Option<Location>,
) -> JobSpec {
    let mut options = app.options.clone();
    options.recursive = true;
    JobSpec {
        kind,
        sources,
        dest,
        options,
    }
}
