//! The UI under a 100,000-key listing arriving in pages of 1,000 (as S3 sends them): the first
//! page is on screen at once, a key press and the redraw after it stay far under 100 ms while
//! pages keep arriving, and a frame builds only the visible rows (its cost does not grow with
//! the listing). The bounds are generous (a debug build on a loaded 2-core machine) so that
//! only a change in complexity, not noise, can fail them; speed targets live in `bench/`.

use std::time::{Duration, Instant, SystemTime};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use s3ferry::app::{App, Effect, Key, Msg, Side, update};
use s3ferry::storage::{EndpointRef, Entry, EntryKind, ListPage, Location};
use s3ferry::ui::{self, Theme};

const PAGES: usize = 100;
const PAGE: usize = 1000;

fn page(parent: &Location, n: usize) -> ListPage {
    let entries = (0..PAGE)
        .map(|i| {
            let name = format!("logs/2026/11/{:06}.json.gz", n * PAGE + i);
            Entry {
                location: parent.join(&name),
                name,
                kind: EntryKind::File,
                size: Some((n * PAGE + i) as u64),
                modified: Some(SystemTime::UNIX_EPOCH),
                etag: Some("0123456789abcdef0123456789abcdef".into()),
                storage_class: Some("STANDARD".into()),
            }
        })
        .collect();
    ListPage {
        entries,
        problems: vec![],
    }
}

fn frame_time(terminal: &mut Terminal<TestBackend>, app: &App, theme: &Theme) -> Duration {
    let start = Instant::now();
    terminal.draw(|f| ui::draw(f, app, theme)).unwrap();
    start.elapsed()
}

#[test]
fn a_100k_key_listing_keeps_the_ui_responsive() {
    let theme = Theme::default();
    let bucket = Location::s3(EndpointRef::Named("a".into()), "big", "");
    let (mut app, effects) = App::new(bucket.clone(), Location::local("/"), Location::local("/"));
    let request = match &effects[0] {
        Effect::List {
            side: Side::Left,
            request,
            ..
        } => *request,
        other => panic!("{other:?}"),
    };
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();

    // The first page: merged and drawn at once.
    let start = Instant::now();
    update(
        &mut app,
        Msg::Listed {
            side: Side::Left,
            request,
            page: Ok(page(&bucket, 0)),
            first: true,
            done: false,
        },
    );
    frame_time(&mut terminal, &app, &theme);
    let first = start.elapsed();
    assert!(first < Duration::from_secs(1), "first page took {first:?}");
    let screen = format!("{}", terminal.backend());
    assert!(
        screen.contains("000000.json.gz") && screen.contains("loading"),
        "{screen}"
    );
    let small_frame = (0..5)
        .map(|_| frame_time(&mut terminal, &app, &theme))
        .min()
        .unwrap();

    // The other 99 pages, with a key press and a redraw between each.
    let down = Key::parse("j").unwrap();
    let mut worst_key = Duration::ZERO;
    let mut worst_page = Duration::ZERO;
    for n in 1..PAGES {
        let t = Instant::now();
        update(
            &mut app,
            Msg::Listed {
                side: Side::Left,
                request,
                page: Ok(page(&bucket, n)),
                first: false,
                done: n == PAGES - 1,
            },
        );
        worst_page = worst_page.max(t.elapsed());
        let t = Instant::now();
        update(&mut app, Msg::Key(down));
        frame_time(&mut terminal, &app, &theme);
        worst_key = worst_key.max(t.elapsed());
    }
    eprintln!(
        "first page {first:?}; worst page merge {worst_page:?}; worst key+redraw {worst_key:?}"
    );
    assert_eq!(app.pane(Side::Left).entries.len(), PAGES * PAGE);
    assert!(!app.pane(Side::Left).loading);
    assert!(
        worst_key < Duration::from_millis(100),
        "key to redraw took {worst_key:?}"
    );
    assert!(
        worst_page < Duration::from_millis(250),
        "merging a page took {worst_page:?}"
    );

    // Only visible rows are built: a frame at 100,000 entries costs what one at 1,000 did.
    let big_frame = (0..5)
        .map(|_| frame_time(&mut terminal, &app, &theme))
        .min()
        .unwrap();
    assert!(
        big_frame < small_frame * 10 + Duration::from_millis(20),
        "a frame at 100k entries took {big_frame:?}, at 1k {small_frame:?}"
    );
    // G jumps to the last of them and it is drawn.
    update(&mut app, Msg::Key(Key::parse("G").unwrap()));
    frame_time(&mut terminal, &app, &theme);
    assert!(format!("{}", terminal.backend()).contains("099999.json.gz"));
}
