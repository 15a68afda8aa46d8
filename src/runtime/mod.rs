//! The runtime: the only place that touches the terminal. Input, worker events and effect
//! results all feed one message channel; the loop drains what is queued, updates the app,
//! performs the effects, then draws once, at most 30 times a second and never when nothing
//! changed (idle costs no CPU: no ticks are sent unless something moves or loads).
//!
//! The terminal is restored on quit, on panic (ratatui's hook) and on SIGINT, SIGTERM and
//! SIGHUP; running jobs are cancelled first so their multipart uploads are aborted.

pub mod driver;
pub mod effects;

use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream, KeyCode, KeyEventKind, KeyModifiers};
use futures::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::app::{App, Code, Effect, Key, Msg, update};
use crate::transfer::Worker;
use crate::ui::{self, Theme};
pub use effects::Runner;

/// Shortest time between two frames.
const FRAME: Duration = Duration::from_millis(33);
/// Time between ticks while something moves.
const TICK: Duration = Duration::from_millis(250);
/// How long quitting waits for cancelled jobs to clean up.
const CLEANUP: Duration = Duration::from_secs(10);

/// Runs the terminal UI until the user quits or a signal arrives.
pub async fn run(
    mut app: App,
    initial: Vec<Effect>,
    worker: std::sync::Arc<Worker>,
    mut events: mpsc::UnboundedReceiver<crate::transfer::Event>,
    theme: Theme,
    history: Option<std::path::PathBuf>,
) -> std::io::Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut runner = Runner::new(worker.clone(), tx.clone(), history);
    let mut terminal = ratatui::try_init()?;
    let size = terminal.size()?;
    update(
        &mut app,
        Msg::Resize {
            width: size.width,
            height: size.height,
        },
    );
    for effect in initial {
        runner.perform(effect);
    }
    let input = tokio::spawn(read_input(tx.clone()));
    let forward = {
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(e) = events.recv().await {
                if tx.send(Msg::Job(e)).is_err() {
                    break;
                }
            }
        })
    };
    let (mut term, mut hup, mut int) = (
        signal(SignalKind::terminate())?,
        signal(SignalKind::hangup())?,
        signal(SignalKind::interrupt())?,
    );
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    let mut next_tick = Instant::now() + TICK;
    let far = || Instant::now() + Duration::from_secs(3600);
    let result = loop {
        if dirty && last_draw.elapsed() >= FRAME {
            if let Err(e) = terminal.draw(|f| ui::draw(f, &app, &theme)) {
                break Err(e);
            }
            last_draw = Instant::now();
            dirty = false;
        }
        if app.quit {
            break Ok(());
        }
        let tick_at = if app.wants_ticks() { next_tick } else { far() };
        let draw_at = if dirty { last_draw + FRAME } else { far() };
        tokio::select! {
            msg = rx.recv() => {
                let Some(msg) = msg else { break Ok(()) };
                let mut batch = vec![msg];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                for msg in batch {
                    for effect in update(&mut app, msg) {
                        runner.perform(effect);
                    }
                }
                dirty = true;
            }
            _ = tokio::time::sleep_until(tick_at) => {
                next_tick = Instant::now() + TICK;
                update(&mut app, Msg::Tick);
                dirty = true;
            }
            _ = tokio::time::sleep_until(draw_at) => {}
            _ = term.recv() => {
                tracing::info!("SIGTERM: cancelling jobs and restoring the terminal");
                break Ok(());
            }
            _ = hup.recv() => {
                tracing::info!("SIGHUP: the terminal went away; cancelling jobs");
                break Ok(());
            }
            _ = int.recv() => {
                tracing::info!("SIGINT: cancelling jobs and restoring the terminal");
                break Ok(());
            }
        }
    };
    input.abort();
    shutdown(&worker, &mut rx, app.jobs.active()).await;
    tracing::info!("jobs cleaned up; restoring the terminal");
    forward.abort();
    drop(terminal);
    ratatui::restore();
    // After leaving the alternate screen: some terminals (tmux) keep the visibility the
    // alternate screen had.
    let _ = crossterm::execute!(std::io::stdout(), crossterm::cursor::Show);
    result
}

/// Cancels running jobs and waits (bounded) until each reported its end and every multipart
/// abort went out.
async fn shutdown(worker: &Worker, rx: &mut mpsc::UnboundedReceiver<Msg>, mut active: usize) {
    worker.cancel_all();
    let deadline = Instant::now() + CLEANUP;
    while active > 0 {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(Msg::Job(crate::transfer::Event::Done(_)))) => active -= 1,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    crate::storage::s3::upload::settle_aborts(CLEANUP).await;
}

/// Reads terminal events and sends keys and resizes.
async fn read_input(tx: mpsc::UnboundedSender<Msg>) {
    let mut stream = EventStream::new();
    while let Some(Ok(event)) = stream.next().await {
        let msg = match event {
            TermEvent::Key(k) if k.kind != KeyEventKind::Release => {
                match key_from(k.code, k.modifiers) {
                    Some(key) => Msg::Key(key),
                    None => continue,
                }
            }
            TermEvent::Resize(width, height) => Msg::Resize { width, height },
            _ => continue,
        };
        if tx.send(msg).is_err() {
            return;
        }
    }
}

/// Converts a crossterm key to the app's key.
pub fn key_from(code: KeyCode, mods: KeyModifiers) -> Option<Key> {
    let code = match code {
        KeyCode::Char(c) => Code::Char(c),
        KeyCode::F(n) => Code::F(n),
        KeyCode::Enter => Code::Enter,
        KeyCode::Esc => Code::Esc,
        KeyCode::Tab => Code::Tab,
        KeyCode::BackTab => Code::BackTab,
        KeyCode::Backspace => Code::Backspace,
        KeyCode::Delete => Code::Delete,
        KeyCode::Insert => Code::Insert,
        KeyCode::Up => Code::Up,
        KeyCode::Down => Code::Down,
        KeyCode::Left => Code::Left,
        KeyCode::Right => Code::Right,
        KeyCode::PageUp => Code::PageUp,
        KeyCode::PageDown => Code::PageDown,
        KeyCode::Home => Code::Home,
        KeyCode::End => Code::End,
        _ => return None,
    };
    Some(Key {
        code,
        ctrl: mods.contains(KeyModifiers::CONTROL),
        alt: mods.contains(KeyModifiers::ALT),
    })
}
