//! Reducer tests: key strings in, state and effects out (no runtime, no terminal).

use std::time::Duration;

use super::*;
use crate::storage::{Entry, EntryKind, ListPage, Location};
use crate::transfer::{ConflictPolicy, Event, JobKind, Mode};

fn s3(ep: &str, bucket: &str, key: &str) -> Location {
    Location::s3(EndpointRef::Named(ep.into()), bucket, key)
}

fn file(parent: &Location, name: &str, size: u64) -> Entry {
    Entry {
        name: name.into(),
        location: parent.join(name),
        kind: EntryKind::File,
        size: Some(size),
        modified: None,
        etag: None,
        storage_class: None,
    }
}

fn dir(parent: &Location, name: &str) -> Entry {
    Entry {
        name: name.into(),
        location: parent.join(&format!("{name}/")),
        kind: EntryKind::Dir,
        size: None,
        modified: None,
        etag: None,
        storage_class: None,
    }
}

/// An app with the left pane on a-bucket (three files and a dir) and the right on b-bucket.
fn app() -> App {
    let (left, right) = (s3("a", "photos", ""), s3("b", "backup", ""));
    let (mut app, effects) = App::new(left.clone(), right, Location::local("/home/u"));
    let Effect::List { request, .. } = effects[0] else {
        panic!("{effects:?}")
    };
    let entries = vec![
        file(&left, "a.jpg", 10),
        file(&left, "b.jpg", 20),
        file(&left, "c.txt", 30),
        dir(&left, "raw"),
    ];
    listed(&mut app, Side::Left, request, entries, true);
    app
}

fn listed(app: &mut App, side: Side, request: u64, entries: Vec<Entry>, done: bool) {
    let page = Ok(ListPage {
        entries,
        problems: vec![],
    });
    update(
        app,
        Msg::Listed {
            side,
            request,
            page,
            first: true,
            done,
        },
    );
}

fn press(app: &mut App, keys: &str) -> Vec<Effect> {
    Key::parse_seq(keys)
        .unwrap()
        .into_iter()
        .flat_map(|k| update(app, Msg::Key(k)))
        .collect()
}

fn names(app: &App, side: Side) -> Vec<String> {
    let pane = app.pane(side);
    pane.view
        .iter()
        .map(|&i| pane.entries[i].name.clone())
        .collect()
}

#[test]
fn initial_listing_is_sorted_dirs_first() {
    let app = app();
    assert_eq!(names(&app, Side::Left), ["raw", "a.jpg", "b.jpg", "c.txt"]);
    assert!(!app.pane(Side::Left).loading);
    assert!(app.pane(Side::Right).loading);
}

#[test]
fn marking_moves_down_and_star_inverts() {
    let mut app = app();
    press(&mut app, "j space space");
    let marked: Vec<_> = app
        .focused()
        .targets()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(marked, ["a.jpg", "b.jpg"]);
    assert_eq!(app.focused().cursor, 3);
    press(&mut app, "*");
    let marked: Vec<_> = app
        .focused()
        .targets()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(marked, ["raw", "c.txt"]);
    press(&mut app, "insert");
    assert!(!app.focused().marks.contains(&s3("a", "photos", "c.txt")));
}

#[test]
fn glob_marks_and_filter_as_you_type() {
    let mut app = app();
    press(&mut app, "+ C-u * . j p g enter");
    assert_eq!(app.focused().marks.len(), 2);
    press(&mut app, "- C-u a * enter");
    assert_eq!(app.focused().marks.len(), 1);

    press(&mut app, "/ t x");
    assert_eq!(names(&app, Side::Left), ["c.txt"]);
    press(&mut app, "enter");
    assert!(app.modal.is_none());
    assert_eq!(app.focused().filter, "tx");
    press(&mut app, "/ esc");
    assert_eq!(names(&app, Side::Left).len(), 4, "Esc clears the filter");
}

#[test]
fn copy_opens_a_plan_that_can_switch_mode_and_queues_on_enter() {
    let mut app = app();
    let effects = press(&mut app, "j space space F5");
    let [Effect::Plan { request, spec }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(spec.kind, JobKind::Copy);
    assert_eq!(
        spec.sources,
        [s3("a", "photos", "a.jpg"), s3("a", "photos", "b.jpg")]
    );
    assert_eq!(spec.dest, Some(s3("b", "backup", "")));
    let request = *request;

    let update_msg = PlanUpdate {
        files: 2,
        bytes: 30,
        complete: true,
        ..PlanUpdate::default()
    };
    update(
        &mut app,
        Msg::Planned {
            request,
            update: update_msg.clone(),
        },
    );
    let Some(Modal::Plan(plan)) = &app.modal else {
        panic!()
    };
    assert_eq!((plan.files, plan.bytes, plan.complete), (2, 30, true));

    let effects = press(&mut app, "m");
    assert_eq!(effects[0], Effect::StopPlan { request });
    let Effect::Plan {
        request: again,
        spec,
    } = &effects[1]
    else {
        panic!("{effects:?}")
    };
    assert_eq!(spec.options.mode, Mode::ServerSide);
    // The old plan's results are stale now.
    update(
        &mut app,
        Msg::Planned {
            request,
            update: update_msg,
        },
    );
    let Some(Modal::Plan(plan)) = &app.modal else {
        panic!()
    };
    assert_eq!(plan.files, 0, "a stale plan result is dropped");
    let again = *again;

    press(&mut app, "c");
    let effects = press(&mut app, "enter");
    assert_eq!(effects[0], Effect::StopPlan { request: again });
    let Effect::Submit(spec) = &effects[1] else {
        panic!("{effects:?}")
    };
    assert_eq!(spec.options.mode, Mode::ServerSide);
    assert_eq!(spec.options.conflict, ConflictPolicy::Overwrite);
    assert!(app.modal.is_none());
    assert!(app.focused().marks.is_empty(), "marks clear once queued");
}

#[test]
fn escape_cancels_a_plan_and_copy_into_a_bucket_list_is_refused() {
    let mut app = app();
    let effects = press(&mut app, "F5");
    let Effect::Plan { request, .. } = effects[0] else {
        panic!()
    };
    assert_eq!(press(&mut app, "esc"), [Effect::StopPlan { request }]);
    assert!(app.modal.is_none());

    let mut app = app_with_right(Location::Buckets(EndpointRef::Named("b".into())));
    assert!(press(&mut app, "F5").is_empty());
    assert!(app.status.as_deref().unwrap().contains("bucket list"));
}

fn app_with_right(right: Location) -> App {
    let mut app = app();
    app.panes[1] = Pane::new(right);
    app
}

#[test]
fn delete_always_asks_with_count_and_bytes() {
    let mut app = app();
    press(&mut app, "j space space F8");
    let Some(Modal::ConfirmDelete {
        files, bytes, dirs, ..
    }) = &app.modal
    else {
        panic!("{:?}", app.modal)
    };
    assert_eq!((*files, *dirs, *bytes), (2, 0, 30));
    assert!(press(&mut app, "n").is_empty());
    assert!(app.modal.is_none());
    assert_eq!(app.focused().marks.len(), 2, "nothing happened");

    let effects = press(&mut app, "d y");
    let [Effect::Submit(spec)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(spec.kind, JobKind::Delete);
    assert_eq!(spec.sources.len(), 2);
}

#[test]
fn stale_listing_is_dropped() {
    let mut app = app();
    let first = app.pane(Side::Right).request;
    // The right pane moves on before its first listing answered.
    app.side = Side::Right;
    let effects = press(&mut app, "R");
    let Effect::List {
        request: second, ..
    } = effects[0]
    else {
        panic!()
    };
    listed(
        &mut app,
        Side::Right,
        first,
        vec![file(&s3("b", "backup", ""), "old", 1)],
        true,
    );
    assert!(
        names(&app, Side::Right).is_empty(),
        "the stale page was dropped"
    );
    assert!(app.pane(Side::Right).loading);
    listed(
        &mut app,
        Side::Right,
        second,
        vec![file(&s3("b", "backup", ""), "new", 1)],
        true,
    );
    assert_eq!(names(&app, Side::Right), ["new"]);
}

#[test]
fn open_and_parent_keep_the_cursor_on_where_we_came_from() {
    let mut app = app();
    let effects = press(&mut app, "enter");
    let [Effect::List { location, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(*location, s3("a", "photos", "raw/"));
    let effects = press(&mut app, "backspace");
    let [
        Effect::List {
            request, location, ..
        },
    ] = effects.as_slice()
    else {
        panic!()
    };
    assert_eq!(*location, s3("a", "photos", ""));
    let left = s3("a", "photos", "");
    let entries = vec![
        dir(&left, "raw"),
        file(&left, "a.jpg", 1),
        dir(&left, "zzz"),
    ];
    listed(&mut app, Side::Left, *request, entries, true);
    assert_eq!(app.focused().current().unwrap().name, "raw");
}

#[test]
fn jobs_can_be_focused_cancelled_and_retried() {
    let mut app = app();
    update(
        &mut app,
        Msg::Job(Event::Queued {
            id: 7,
            kind: JobKind::Copy,
            sources: vec!["a:photos/a.jpg".into()],
            dest: Some("b:backup/".into()),
        }),
    );
    assert_eq!(press(&mut app, "J x"), [Effect::Cancel(7)]);
    let report = crate::transfer::JobReport {
        id: 7,
        kind: JobKind::Copy,
        status: crate::transfer::JobStatus::Cancelled,
        sources: vec![],
        dest: None,
        routes: vec![],
        files_done: 0,
        files_skipped: 0,
        bytes: 0,
        started_at: std::time::SystemTime::UNIX_EPOCH,
        duration: Duration::from_secs(1),
        failures: vec![],
    };
    let effects = update(&mut app, Msg::Job(Event::Done(report)));
    assert_eq!(effects.len(), 2, "both panes refresh after a job");
    assert_eq!(press(&mut app, "t"), [Effect::Retry(7)]);
    press(&mut app, "tab");
    assert!(!app.jobs_focused);
}

#[test]
fn quit_asks_while_jobs_run() {
    let mut app = app();
    update(
        &mut app,
        Msg::Job(Event::Queued {
            id: 1,
            kind: JobKind::Move,
            sources: vec![],
            dest: None,
        }),
    );
    assert!(press(&mut app, "q").is_empty());
    assert!(matches!(app.modal, Some(Modal::ConfirmQuit { active: 1 })));
    assert!(press(&mut app, "esc").is_empty());
    assert!(!app.quit);
    assert_eq!(
        press(&mut app, "C-c C-c"),
        [Effect::Quit],
        "a double Ctrl-C quits"
    );
    assert!(app.quit);
}

#[test]
fn open_location_completes_bucket_names() {
    let mut app = app();
    app.known_buckets.insert(
        EndpointRef::Named("a".into()),
        vec!["photos".into(), "logs".into(), "logs-old".into()],
    );
    press(&mut app, "o C-u a : p");
    press(&mut app, "tab");
    let Some(Modal::Prompt { input, .. }) = &app.modal else {
        panic!()
    };
    assert_eq!(input.value(), "a:photos/");
    press(&mut app, "C-u a : l tab");
    let Some(Modal::Prompt { input, hint, .. }) = &app.modal else {
        panic!()
    };
    assert_eq!(input.value(), "a:logs", "stops where the names differ");
    assert!(hint.as_deref().unwrap().contains("logs-old"));
    let effects = press(&mut app, "/ enter");
    assert_eq!(effects.len(), 1);
    assert_eq!(app.focused().location, s3("a", "logs", ""));
}

#[test]
fn mkdir_in_a_bucket_makes_a_folder_marker() {
    let mut app = app();
    let effects = press(&mut app, "F7 n e w enter");
    assert_eq!(effects, [Effect::CreateDir(s3("a", "photos", "new/"))]);
}

#[test]
fn sparkline_samples_progress_once_a_second() {
    let mut app = app();
    update(
        &mut app,
        Msg::Job(Event::Queued {
            id: 1,
            kind: JobKind::Copy,
            sources: vec![],
            dest: None,
        }),
    );
    let progress = |bytes| {
        Msg::Job(Event::Progress(crate::transfer::Progress {
            id: 1,
            bytes_done: bytes,
            bytes_total: 1000,
            ..Default::default()
        }))
    };
    update(&mut app, progress(300));
    for _ in 0..4 {
        update(&mut app, Msg::Tick);
    }
    update(&mut app, progress(500));
    for _ in 0..4 {
        update(&mut app, Msg::Tick);
    }
    assert_eq!(
        app.jobs.samples.iter().copied().collect::<Vec<_>>(),
        [300, 200]
    );
    assert!(app.wants_ticks());
}

#[test]
fn tiny_terminals_keep_a_positive_page() {
    let mut app = app();
    update(
        &mut app,
        Msg::Resize {
            width: 10,
            height: 4,
        },
    );
    assert_eq!(app.pane_rows(), 1);
    press(&mut app, "pgdn pgdn pgup G g");
    assert_eq!(app.focused().cursor, 0);
}
