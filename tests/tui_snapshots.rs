//! Whole-screen snapshots of the TUI (ratatui's TestBackend + insta): what a user sees in each
//! important state, at 80×24 unless said otherwise. Review changes with `cargo insta review`
//! (or compare the `.snap.new` files by hand).

use std::time::{Duration, SystemTime};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use s3ferry::app::{App, Effect, Key, Msg, PlanUpdate, Side, update};
use s3ferry::storage::{EndpointRef, Entry, EntryKind, ListPage, Location};
use s3ferry::transfer::history::HistoryRecord;
use s3ferry::transfer::{Event, JobKind, JobReport, JobStatus, Progress, Route};
use s3ferry::ui::{self, Theme};

fn when() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_730_000_000)
}

fn entry(parent: &Location, name: &str, kind: EntryKind, size: Option<u64>) -> Entry {
    let rel = if kind == EntryKind::File {
        name.to_string()
    } else {
        format!("{name}/")
    };
    Entry {
        name: name.into(),
        location: parent.join(&rel),
        kind,
        size,
        modified: Some(when()),
        etag: None,
        storage_class: None,
    }
}

fn listed(app: &mut App, side: Side, effects: &[Effect], entries: Vec<Entry>) {
    let request = effects
        .iter()
        .find_map(|e| match e {
            Effect::List {
                side: s, request, ..
            } if *s == side => Some(*request),
            _ => None,
        })
        .expect("a listing was asked for");
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
            done: true,
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

/// The demo-like app: cloud-a:photos/ on the left, cloud-b:backup/ on the right.
fn demo_app() -> App {
    let left = Location::s3(EndpointRef::Named("cloud-a".into()), "photos", "");
    let right = Location::s3(EndpointRef::Named("cloud-b".into()), "backup", "");
    let (mut app, effects) = App::new(left.clone(), right.clone(), Location::local("/home/user"));
    let mut files = vec![
        entry(&left, "2024", EntryKind::Dir, None),
        entry(&left, "raw", EntryKind::Dir, None),
        entry(&left, "README.txt", EntryKind::File, Some(300)),
    ];
    for i in 1..=6 {
        files.push(entry(
            &left,
            &format!("img_{i:03}.jpg"),
            EntryKind::File,
            Some(150_000 + i * 9_000),
        ));
    }
    files.push(entry(
        &left,
        "a-very-long-file-name-that-does-not-fit-in-half-of-an-80-column-terminal.tiff",
        EntryKind::File,
        Some(48 << 20),
    ));
    listed(&mut app, Side::Left, &effects, files);
    listed(
        &mut app,
        Side::Right,
        &effects,
        vec![entry(&right, "old", EntryKind::Dir, None)],
    );
    app
}

fn render(app: &App, theme: &Theme, w: u16, h: u16) -> TestBackend {
    let mut app = app.clone();
    update(
        &mut app,
        Msg::Resize {
            width: w,
            height: h,
        },
    );
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| ui::draw(f, &app, theme)).unwrap();
    terminal.backend().clone()
}

fn snap(name: &str, app: &App) {
    insta::assert_snapshot!(name, render(app, &Theme::default(), 80, 24));
}

fn queued(app: &mut App, id: u64, kind: JobKind) {
    update(
        app,
        Msg::Job(Event::Queued {
            id,
            kind,
            sources: vec!["cloud-a:photos/raw/big-scan.tiff".into()],
            dest: Some("cloud-b:backup/".into()),
        }),
    );
}

fn report(id: u64, status: JobStatus, failures: Vec<(String, String)>) -> JobReport {
    JobReport {
        id,
        kind: JobKind::Copy,
        status,
        sources: vec!["cloud-a:photos/".into()],
        dest: Some("cloud-b:backup/".into()),
        routes: vec![Route::Streamed],
        files_done: 12,
        files_skipped: 0,
        bytes: 3 << 20,
        started_at: when(),
        duration: Duration::from_millis(1500),
        failures,
    }
}

#[test]
fn empty_panes_while_loading() {
    let (app, _) = App::new(
        Location::local("/data"),
        Location::Buckets(EndpointRef::Default),
        Location::local("/data"),
    );
    snap("empty_panes_loading", &app);
}

#[test]
fn listing_with_marks() {
    let mut app = demo_app();
    press(&mut app, "j j j space space");
    snap("listing_with_marks", &app);
}

#[test]
fn plan_dialog() {
    let mut app = demo_app();
    let effects = press(&mut app, "j j j space space F5");
    let Some(Effect::Plan { request, .. }) = effects.first() else {
        panic!()
    };
    let update_msg = PlanUpdate {
        files: 2,
        bytes: 327_000,
        conflicts: 1,
        routes: [Route::Streamed].into_iter().collect(),
        complete: true,
        server_side_possible: false,
        problems: vec![],
    };
    update(
        &mut app,
        Msg::Planned {
            request: *request,
            update: update_msg,
        },
    );
    snap("plan_dialog", &app);
}

#[test]
fn delete_confirmation() {
    let mut app = demo_app();
    press(&mut app, "j j j space space F8");
    snap("delete_confirmation", &app);
}

#[test]
fn jobs_running_with_sparkline_and_a_failed_job() {
    let mut app = demo_app();
    queued(&mut app, 1, JobKind::Copy);
    update(
        &mut app,
        Msg::Job(Event::Done(report(1, JobStatus::Finished, vec![]))),
    );
    queued(&mut app, 2, JobKind::Move);
    update(
        &mut app,
        Msg::Job(Event::Done(report(
            2,
            JobStatus::Failed,
            vec![(
                "cloud-a:photos/raw/x.tiff".into(),
                "AccessDenied: not allowed".into(),
            )],
        ))),
    );
    queued(&mut app, 3, JobKind::Copy);
    for step in 1..=12u64 {
        update(
            &mut app,
            Msg::Job(Event::Progress(Progress {
                id: 3,
                files_done: step / 4,
                files_total: 4,
                bytes_done: step * (3 << 20),
                bytes_total: 48 << 20,
                rate: 3.0 * 1024.0 * 1024.0,
                elapsed: Duration::from_secs(step),
                current: Some("raw/big-scan.tiff".into()),
                ..Progress::default()
            })),
        );
        for _ in 0..4 {
            update(&mut app, Msg::Tick);
        }
    }
    snap("jobs_and_sparkline", &app);
}

#[test]
fn help_overlay() {
    let mut app = demo_app();
    press(&mut app, "?");
    snap("help", &app);
}

#[test]
fn history_chart() {
    let mut app = demo_app();
    press(&mut app, "H");
    let records = [
        "server-side",
        "streamed",
        "staged",
        "streamed",
        "upload",
        "download",
        "server-side",
    ]
    .iter()
    .enumerate()
    .map(|(i, mode)| HistoryRecord {
        kind: JobKind::Copy,
        mode: mode.to_string(),
        status: JobStatus::Finished,
        sources: vec!["cloud-a:photos/".into()],
        destination: Some("cloud-b:backup/".into()),
        objects: 10,
        skipped: 0,
        bytes: 100 << 20,
        started_at: "2026-11-25T10:00:00Z".into(),
        duration_secs: 1.0 + i as f64,
        throughput_bytes_per_sec: (100 << 20) as f64 / (1.0 + i as f64),
        errors: vec![],
    })
    .collect();
    update(&mut app, Msg::History(Ok(records)));
    snap("history_chart", &app);
}

#[test]
fn tiny_terminal_shows_what_fits() {
    let app = demo_app();
    insta::assert_snapshot!("tiny_10x4", render(&app, &Theme::default(), 10, 4));
    let small = format!("{}", render(&app, &Theme::default(), 9, 3));
    assert!(small.contains("terminal"), "{small}");
}

/// Sizes from 0×0 to 300×100 draw without panicking: the plain screen at every size up to
/// 120×40 (where layout thresholds live) and on a grid beyond, and the busiest states (dialogs,
/// jobs, history) on a coarser grid. (Every one of the 30,000 sizes took 40 s in a debug build.)
/// Sizes from 0×0 to 300×100 draw without panicking: the plain screen at every size up to
/// 120×40 (where layout thresholds live) and on a grid beyond, and the busiest states (dialogs,
/// jobs, history) on a coarser grid. (Every one of the 30,000 sizes took 40 s in a debug build.)
#[test]
fn every_size_draws_without_panicking() {
    let mut terminal = Terminal::new(TestBackend::new(1, 1)).unwrap();
    let app = demo_app();
    for w in 0..=120 {
        for h in 0..=40 {
            draw_at(&mut terminal, &app, w, h);
        }
    }
    for w in (121..=300).step_by(7).chain([300]) {
        for h in (0..=100).step_by(3).chain([100]) {
            draw_at(&mut terminal, &app, w, h);
        }
    }
    for keys in ["F8", "F5", "?", "H", "o", "i", "J"] {
        let mut busy = demo_app();
        queued(&mut busy, 1, JobKind::Copy);
        press(&mut busy, keys);
        for w in (0..=300).step_by(13) {
            for h in (0..=100).step_by(7) {
                draw_at(&mut terminal, &busy, w, h);
            }
        }
    }
}

fn draw_at(terminal: &mut Terminal<TestBackend>, app: &App, w: u16, h: u16) {
    terminal.backend_mut().resize(w, h);
    terminal
        .resize(ratatui::layout::Rect::new(0, 0, w, h))
        .unwrap();
    terminal
        .draw(|f| ui::draw(f, app, &Theme::default()))
        .unwrap();
}

#[test]
fn escape_characters_in_names_are_shown_escaped() {
    let left = Location::s3(EndpointRef::Named("cloud-a".into()), "logs", "");
    let (mut app, effects) = App::new(left.clone(), left.clone(), Location::local("/"));
    let names = [
        "clear-\x1b[2J-screen",
        "title-\x1b]0;pwned\x07",
        "bidi-\u{202e}txt.exe",
        "cr\rkey",
    ];
    let entries = names
        .iter()
        .map(|n| entry(&left, n, EntryKind::File, Some(1)))
        .collect();
    listed(&mut app, Side::Left, &effects, entries);
    let backend = render(&app, &Theme::default(), 80, 24);
    let text = format!("{backend}");
    assert!(!text.contains('\x1b') && !text.contains('\u{202e}') && !text.contains('\r'));
    insta::assert_snapshot!("escaped_names", backend);
}

#[test]
fn focus_and_cursor_are_visible_without_colour() {
    let app = demo_app();
    let backend = render(&app, &Theme::builtin("mono").unwrap(), 80, 24);
    let buffer = backend.buffer();
    // The cursor row of the focused pane is in reverse video; the focused border is thick.
    let cursor = &buffer[(2, 2)];
    assert!(
        cursor.modifier.contains(ratatui::style::Modifier::REVERSED),
        "{cursor:?}"
    );
    assert_eq!(buffer[(0, 0)].symbol(), "┏");
    assert_eq!(buffer[(40, 0)].symbol(), "┌");
}
