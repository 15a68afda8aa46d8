//! Opening dialogs, keys inside them, and the results that fill them (plans, object info,
//! previews, presigned URLs, history).

use tui_input::InputRequest;

use super::update::job_spec;
use super::{App, Code, Effect, Key, Modal, Msg, PlanDialog, PromptKind, Side};
use crate::storage::{EndpointRef, Entry, EntryKind, Location};
use crate::text::{escape, human_bytes};
use crate::transfer::{ConflictPolicy, JobKind, Mode};

/// Opens the plan dialog for copying or moving the focused pane's targets to the other pane.
pub fn start_plan(app: &mut App, kind: JobKind) -> Option<Effect> {
    let dest = app.pane(app.side.other()).location.clone();
    if matches!(dest, Location::Buckets(_)) {
        app.status = Some("the other pane shows a bucket list: open a bucket there first".into());
        return None;
    }
    let sources: Vec<Location> = app
        .focused()
        .targets()
        .into_iter()
        .map(|e| e.location)
        .collect();
    if sources.is_empty() {
        app.status = Some("nothing to copy here".into());
        return None;
    }
    let request = app.request_id();
    let plan = PlanDialog {
        request,
        kind,
        sources,
        dest,
        mode: Mode::Auto,
        conflict: ConflictPolicy::SkipSame,
        files: 0,
        bytes: 0,
        conflicts: 0,
        routes: Default::default(),
        problems: vec![],
        complete: false,
        server_side_possible: false,
    };
    let effect = plan_effect(app, &plan);
    app.modal = Some(Modal::Plan(plan));
    Some(effect)
}

fn plan_effect(app: &App, plan: &PlanDialog) -> Effect {
    let mut spec = job_spec(
        app,
        plan.kind,
        plan.sources.clone(),
        Some(plan.dest.clone()),
    );
    spec.options.mode = plan.mode;
    spec.options.conflict = plan.conflict;
    Effect::Plan {
        request: plan.request,
        spec,
    }
}

/// Opens the delete confirmation for the focused pane's targets.
pub fn confirm_delete(app: &mut App) {
    let targets = app.focused().targets();
    if targets.iter().any(|e| e.kind == EntryKind::Bucket) {
        app.status =
            Some("s3ferry does not delete buckets; open one and delete its contents".into());
        return;
    }
    if targets.is_empty() {
        return;
    }
    let files = targets.iter().filter(|e| !e.is_dir()).count() as u64;
    app.modal = Some(Modal::ConfirmDelete {
        files,
        dirs: targets.len() as u64 - files,
        bytes: targets.iter().filter_map(|e| e.size).sum(),
        sources: targets.into_iter().map(|e| e.location).collect(),
    });
}

/// Opens the rename prompt for the entry under the cursor.
pub fn start_rename(app: &mut App) {
    let Some(entry) = app.focused().current().cloned() else {
        return;
    };
    let s3_prefix = matches!(&entry.location, Location::S3 { .. }) && entry.is_dir();
    if entry.kind == EntryKind::Bucket || s3_prefix {
        app.status =
            Some("buckets and prefixes cannot be renamed; move (F6) their contents".into());
        return;
    }
    let kind = PromptKind::Rename(app.side, entry.location.clone());
    app.modal = Some(Modal::prompt(kind, &entry.name));
}

fn current_file(app: &mut App, what: &str) -> Option<Entry> {
    match app.focused().current() {
        Some(e) if !e.is_dir() => Some(e.clone()),
        Some(_) => {
            app.status = Some(format!(
                "{what} works on files and objects, not directories"
            ));
            None
        }
        None => None,
    }
}

fn waiting(app: &mut App, title: String) -> u64 {
    let request = app.request_id();
    app.modal = Some(Modal::Waiting { request, title });
    request
}

/// Asks for the info of the entry under the cursor.
pub fn start_info(app: &mut App) -> Option<Effect> {
    let entry = app.focused().current()?.clone();
    if entry.is_dir() {
        let rows = vec![
            ("name".into(), escape(&entry.name)),
            ("kind".into(), format!("{:?}", entry.kind).to_lowercase()),
            ("location".into(), escape(&entry.location.to_string())),
        ];
        app.modal = Some(Modal::Info {
            title: escape(&entry.name),
            rows,
        });
        return None;
    }
    let request = waiting(app, format!("Info: {}", escape(&entry.name)));
    Some(Effect::Stat {
        request,
        location: entry.location,
    })
}

/// Asks for the first 64 KiB of the file under the cursor.
pub fn start_preview(app: &mut App) -> Option<Effect> {
    let entry = current_file(app, "preview")?;
    let request = waiting(app, escape(&entry.name));
    Some(Effect::Preview {
        request,
        location: entry.location,
    })
}

/// Asks for a presigned URL of the object under the cursor.
pub fn start_presign(app: &mut App) -> Option<Effect> {
    let entry = current_file(app, "a presigned URL")?;
    if !matches!(entry.location, Location::S3 { .. }) {
        app.status = Some("presigned URLs are for S3 objects".into());
        return None;
    }
    let request = waiting(app, format!("Presigned URL: {}", escape(&entry.name)));
    Some(Effect::Presign {
        request,
        location: entry.location,
    })
}

/// Opens the location prompt, asking for bucket names to complete with.
pub fn start_open_location(app: &mut App) -> Option<Effect> {
    let current = app.focused().location.to_string();
    app.modal = Some(Modal::prompt(PromptKind::OpenLocation(app.side), &current));
    let endpoint = app.focused().location.endpoint().cloned()?;
    (!app.known_buckets.contains_key(&endpoint)).then_some(Effect::ListBuckets { endpoint })
}

/// Opens the endpoint picker: the local disk, the default chain, every named endpoint.
pub fn start_endpoint_picker(app: &mut App) {
    let mut items = vec![
        ("local disk".to_string(), app.home.clone()),
        (
            "s3:// (AWS credential chain / --profile)".to_string(),
            Location::Buckets(EndpointRef::Default),
        ),
    ];
    items.extend(app.endpoints.iter().map(|name| {
        (
            format!("{name}:"),
            Location::Buckets(EndpointRef::Named(name.clone())),
        )
    }));
    app.modal = Some(Modal::EndpointPicker {
        side: app.side,
        items,
        cursor: 0,
    });
}

/// Keys while a dialog is open.
pub fn on_key(app: &mut App, key: Key) -> Vec<Effect> {
    let Some(modal) = app.modal.take() else {
        return vec![];
    };
    let (keep, effects) = modal_key(app, modal, key);
    if app.modal.is_none() {
        app.modal = keep;
    }
    effects
}

/// Handles a key in `modal`; returns the modal to keep open (if any) and effects.
fn modal_key(app: &mut App, modal: Modal, key: Key) -> (Option<Modal>, Vec<Effect>) {
    let esc = key.code == Code::Esc || (key.ctrl && key.code == Code::Char('c'));
    let enter = key.code == Code::Enter;
    match modal {
        Modal::Prompt { kind, input, hint } => prompt_key(app, kind, input, hint, key),
        Modal::Plan(plan) => plan_key(app, plan, key),
        Modal::ConfirmDelete { sources, .. } if enter || key.code == Code::Char('y') => {
            let spec = job_spec(app, JobKind::Delete, sources, None);
            app.pane_mut(app.side).marks.clear();
            (None, vec![Effect::Submit(spec)])
        }
        // A second Ctrl-C confirms, as in a shell.
        Modal::ConfirmQuit { .. } if enter || key.code == Code::Char('y') || esc && key.ctrl => {
            app.quit = true;
            (None, vec![Effect::Quit])
        }
        Modal::EndpointPicker {
            side,
            items,
            cursor,
        } => picker_key(app, side, items, cursor, key),
        Modal::Help { scroll } | Modal::Preview { scroll, .. } if !esc && !enter => {
            let scroll = scroll_by(scroll, key);
            let modal = match modal {
                Modal::Preview { title, lines, .. } => Modal::Preview {
                    title,
                    lines,
                    scroll,
                },
                _ => Modal::Help { scroll },
            };
            let close = matches!(key.code, Code::Char('q') | Code::F(1) | Code::Char('?'));
            ((!close).then_some(modal), vec![])
        }
        Modal::History { .. } if matches!(key.code, Code::Char('q') | Code::Char('H')) => {
            (None, vec![])
        }
        other if esc || enter || key.code == Code::Char('n') => {
            let _ = other;
            (None, vec![])
        }
        other => (Some(other), vec![]),
    }
}

fn scroll_by(scroll: usize, key: Key) -> usize {
    match key.code {
        Code::Down | Code::Char('j') => scroll + 1,
        Code::Up | Code::Char('k') => scroll.saturating_sub(1),
        Code::PageDown | Code::Char(' ') => scroll + 10,
        Code::PageUp => scroll.saturating_sub(10),
        Code::Home | Code::Char('g') => 0,
        _ => scroll,
    }
}

fn plan_key(app: &mut App, mut plan: PlanDialog, key: Key) -> (Option<Modal>, Vec<Effect>) {
    let stop = Effect::StopPlan {
        request: plan.request,
    };
    match key.code {
        Code::Enter => {
            let mut spec = job_spec(app, plan.kind, plan.sources, Some(plan.dest));
            spec.options.mode = plan.mode;
            spec.options.conflict = plan.conflict;
            app.pane_mut(app.side).marks.clear();
            (None, vec![stop, Effect::Submit(spec)])
        }
        Code::Esc => (None, vec![stop]),
        Code::Char('m') => {
            plan.mode = match plan.mode {
                Mode::Auto => Mode::ServerSide,
                Mode::ServerSide => Mode::Streamed,
                Mode::Streamed => Mode::Staged,
                Mode::Staged => Mode::Auto,
            };
            replan(app, plan, stop)
        }
        Code::Char('c') => {
            plan.conflict = match plan.conflict {
                ConflictPolicy::SkipSame => ConflictPolicy::Overwrite,
                ConflictPolicy::Overwrite => ConflictPolicy::SkipExisting,
                ConflictPolicy::SkipExisting => ConflictPolicy::Fail,
                ConflictPolicy::Fail => ConflictPolicy::SkipSame,
            };
            (Some(Modal::Plan(plan)), vec![])
        }
        _ => (Some(Modal::Plan(plan)), vec![]),
    }
}

/// Plans again after the mode changed (the routes depend on it).
fn replan(app: &mut App, mut plan: PlanDialog, stop: Effect) -> (Option<Modal>, Vec<Effect>) {
    plan.request = app.request_id();
    plan.files = 0;
    plan.bytes = 0;
    plan.conflicts = 0;
    plan.routes.clear();
    plan.problems.clear();
    plan.complete = false;
    let effect = plan_effect(app, &plan);
    (Some(Modal::Plan(plan)), vec![stop, effect])
}

fn picker_key(
    app: &mut App,
    side: Side,
    items: Vec<(String, Location)>,
    cursor: usize,
    key: Key,
) -> (Option<Modal>, Vec<Effect>) {
    let cursor = match key.code {
        Code::Down | Code::Char('j') => (cursor + 1).min(items.len().saturating_sub(1)),
        Code::Up | Code::Char('k') => cursor.saturating_sub(1),
        Code::Enter => {
            let Some((_, loc)) = items.get(cursor) else {
                return (None, vec![]);
            };
            return (None, vec![app.go(side, loc.clone())]);
        }
        Code::Esc | Code::Char('q') => return (None, vec![]),
        _ => cursor,
    };
    let modal = Modal::EndpointPicker {
        side,
        items,
        cursor,
    };
    (Some(modal), vec![])
}

fn prompt_key(
    app: &mut App,
    kind: PromptKind,
    mut input: tui_input::Input,
    hint: Option<String>,
    key: Key,
) -> (Option<Modal>, Vec<Effect>) {
    match key.code {
        Code::Esc => {
            if let PromptKind::Filter(side) = kind {
                let pane = app.pane_mut(side);
                pane.filter.clear();
                pane.refilter(None);
            }
            return (None, vec![]);
        }
        Code::Enter => return (None, submit_prompt(app, kind, input.value())),
        Code::Tab => {
            if let PromptKind::OpenLocation(_) = kind
                && let Some(done) = complete_location(app, input.value())
            {
                input = tui_input::Input::new(done);
            }
        }
        _ => {
            if let Some(req) = input_request(key) {
                input.handle(req);
            }
        }
    }
    if let PromptKind::Filter(side) = kind {
        let pane = app.pane_mut(side);
        pane.filter = input.value().to_string();
        pane.refilter(None);
        pane.cursor = 0;
        pane.scroll = 0;
    }
    let mut modal = Modal::Prompt { kind, input, hint };
    update_hint(app, &mut modal);
    (Some(modal), vec![])
}

fn input_request(key: Key) -> Option<InputRequest> {
    Some(match key.code {
        Code::Char('u') if key.ctrl => InputRequest::DeleteLine,
        Code::Char('w') if key.ctrl => InputRequest::DeletePrevWord,
        Code::Char('a') if key.ctrl => InputRequest::GoToStart,
        Code::Char('e') if key.ctrl => InputRequest::GoToEnd,
        Code::Char(c) if !key.ctrl && !key.alt => InputRequest::InsertChar(c),
        Code::Backspace => InputRequest::DeletePrevChar,
        Code::Delete => InputRequest::DeleteNextChar,
        Code::Left => InputRequest::GoToPrevChar,
        Code::Right => InputRequest::GoToNextChar,
        Code::Home => InputRequest::GoToStart,
        Code::End => InputRequest::GoToEnd,
        _ => return None,
    })
}

fn submit_prompt(app: &mut App, kind: PromptKind, value: &str) -> Vec<Effect> {
    match kind {
        PromptKind::Filter(_) => vec![],
        PromptKind::MarkGlob(side, mark) => {
            let n = app.pane_mut(side).mark_glob(value, mark);
            let verb = if mark { "marked" } else { "unmarked" };
            app.status = Some(format!("{verb} {n} entries matching {}", escape(value)));
            vec![]
        }
        PromptKind::MakeDir(_, parent) => {
            let name = value.trim_matches('/');
            if name.is_empty() {
                return vec![];
            }
            let loc = match &parent {
                Location::S3 { .. } => parent.join(&format!("{name}/")),
                _ => parent.join(name),
            };
            vec![Effect::CreateDir(loc)]
        }
        PromptKind::Rename(_, from) => {
            if value.is_empty() || value.contains('/') {
                app.status = Some("a new name must be non-empty and hold no '/'".into());
                return vec![];
            }
            match from.parent() {
                Some(parent) => vec![Effect::Rename {
                    from,
                    to: parent.join(value),
                }],
                None => vec![],
            }
        }
        PromptKind::OpenLocation(side) => match Location::parse(value.trim()) {
            Ok(loc) => vec![app.go(side, loc)],
            Err(e) => {
                app.status = Some(escape(&e.to_string()));
                vec![]
            }
        },
    }
}

/// Splits `s3://buc` or `NAME:buc` into the endpoint and a bucket-name prefix, while the user
/// is still typing the bucket name.
fn bucket_prefix(input: &str) -> Option<(EndpointRef, &str)> {
    let (endpoint, rest) = match input.strip_prefix("s3://") {
        Some(rest) => (EndpointRef::Default, rest),
        None => {
            let (name, rest) = input.split_once(':')?;
            (EndpointRef::Named(name.to_string()), rest)
        }
    };
    (!rest.contains('/')).then_some((endpoint, rest))
}

fn completions<'a>(app: &'a App, input: &str) -> Vec<&'a str> {
    let Some((endpoint, prefix)) = bucket_prefix(input) else {
        return vec![];
    };
    app.known_buckets
        .get(&endpoint)
        .map(|names| {
            names
                .iter()
                .filter(|n| n.starts_with(prefix))
                .map(String::as_str)
                .collect()
        })
        .unwrap_or_default()
}

/// Completes a bucket name as far as it is unambiguous (a `/` after a unique match).
fn complete_location(app: &App, input: &str) -> Option<String> {
    let matches = completions(app, input);
    let first = *matches.first()?;
    let common = matches.iter().fold(first.to_string(), |acc, m| {
        acc.chars()
            .zip(m.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect()
    });
    let (_, prefix) = bucket_prefix(input)?;
    let head = &input[..input.len() - prefix.len()];
    let slash = if matches.len() == 1 { "/" } else { "" };
    Some(format!("{head}{common}{slash}"))
}

fn update_hint(app: &App, modal: &mut Modal) {
    if let Modal::Prompt {
        kind: PromptKind::OpenLocation(_),
        input,
        hint,
    } = modal
    {
        let matches = completions(app, input.value());
        *hint = (!matches.is_empty()).then(|| {
            let shown: Vec<String> = matches.iter().take(8).map(|m| escape(m)).collect();
            format!("Tab: {}", shown.join("  "))
        });
    }
}

/// New bucket names arrived: refresh the completion hint of an open prompt.
pub fn refresh_completion(app: &mut App) {
    if let Some(mut modal) = app.modal.take() {
        update_hint(app, &mut modal);
        app.modal = Some(modal);
    }
}

/// Results that fill dialogs or the status line.
pub fn on_result(app: &mut App, msg: Msg) -> Vec<Effect> {
    let waiting_for = match &app.modal {
        Some(Modal::Waiting { request, .. }) => Some(*request),
        _ => None,
    };
    let title = match &app.modal {
        Some(Modal::Waiting { title, .. }) => title.clone(),
        _ => String::new(),
    };
    match msg {
        Msg::Planned { request, update } => {
            if let Some(Modal::Plan(plan)) = &mut app.modal
                && plan.request == request
            {
                plan.files = update.files;
                plan.bytes = update.bytes;
                plan.conflicts = update.conflicts;
                plan.routes = update.routes;
                plan.problems = update.problems;
                plan.complete = update.complete;
                plan.server_side_possible = update.server_side_possible;
            }
        }
        Msg::Stat { request, result } if waiting_for == Some(request) => {
            app.modal = Some(match result {
                Ok(info) => Modal::Info {
                    title,
                    rows: info_rows(&info),
                },
                Err(e) => error_modal(&title, &e),
            });
        }
        Msg::Preview { request, result } if waiting_for == Some(request) => {
            app.modal = Some(match result {
                Ok(bytes) => Modal::Preview {
                    title,
                    lines: preview_lines(&bytes),
                    scroll: 0,
                },
                Err(e) => error_modal(&title, &e),
            });
        }
        Msg::Presigned { request, result } if waiting_for == Some(request) => {
            app.modal = Some(match result {
                Ok(url) => Modal::Message {
                    title: format!("{title} (valid 1 hour)"),
                    text: url,
                },
                Err(e) => error_modal(&title, &e),
            });
        }
        Msg::OpDone { result } => {
            app.status = Some(match result {
                Ok(m) => m,
                Err(e) => escape(&e),
            });
            return vec![app.refresh(Side::Left), app.refresh(Side::Right)];
        }
        Msg::History(result) => {
            if let Some(Modal::History { records, error }) = &mut app.modal {
                match result {
                    Ok(r) => *records = r,
                    Err(e) => *error = Some(e),
                }
            }
        }
        _ => {} // a result for a dialog that was closed
    }
    vec![]
}

fn error_modal(title: &str, error: &str) -> Modal {
    Modal::Message {
        title: title.to_string(),
        text: escape(error),
    }
}

fn info_rows(info: &crate::storage::ObjectInfo) -> Vec<(String, String)> {
    let mut rows = vec![(
        "size".to_string(),
        format!("{} ({} bytes)", human_bytes(info.size as f64), info.size),
    )];
    let opt = |v: &Option<String>| v.as_deref().map(escape).unwrap_or_else(|| "-".into());
    rows.push(("etag".into(), opt(&info.etag)));
    rows.push(("content type".into(), opt(&info.content_type)));
    rows.push(("storage class".into(), opt(&info.storage_class)));
    let modified = info
        .modified
        .map(crate::text::timestamp)
        .unwrap_or_else(|| "-".into());
    rows.push(("modified".into(), modified));
    for (k, v) in &info.checksums {
        rows.push((format!("checksum {}", k.to_lowercase()), escape(v)));
    }
    for (k, v) in &info.metadata {
        rows.push((format!("meta {}", escape(k)), escape(v)));
    }
    rows
}

/// Preview text: lossy UTF-8, control characters escaped, tabs expanded, at most 64 KiB.
fn preview_lines(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let binary = bytes.iter().take(4096).filter(|&&b| b == 0).count() > 0;
    if binary {
        return vec![format!(
            "(binary data, {} shown; no text preview)",
            human_bytes(bytes.len() as f64)
        )];
    }
    text.lines()
        .map(|l| escape(&l.replace('\t', "    ")))
        .collect()
}
