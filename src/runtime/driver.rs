//! A headless runtime for end-to-end tests and scripted use: the real app state, the real
//! worker and effects, fed keys from strings, with no terminal. It can draw to ratatui's
//! `TestBackend` to check what a user would see.

use std::sync::Arc;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

use super::Runner;
use crate::app::{App, Effect, Key, Msg, update};
use crate::transfer::Worker;
use crate::ui::{self, Theme};

/// Drives an [`App`] with real effects.
pub struct Driver {
    pub app: App,
    runner: Runner,
    rx: mpsc::UnboundedReceiver<Msg>,
}

impl Driver {
    /// Starts a driver; `initial` are the effects `App::new` returned.
    pub fn new(
        app: App,
        initial: Vec<Effect>,
        worker: Arc<Worker>,
        mut events: mpsc::UnboundedReceiver<crate::transfer::Event>,
    ) -> Driver {
        let (tx, rx) = mpsc::unbounded_channel();
        let forward = tx.clone();
        tokio::spawn(async move {
            while let Some(e) = events.recv().await {
                if forward.send(Msg::Job(e)).is_err() {
                    break;
                }
            }
        });
        let mut runner = Runner::new(worker, tx, None);
        for effect in initial {
            runner.perform(effect);
        }
        Driver { app, runner, rx }
    }

    /// Sends one message through the reducer and performs its effects.
    pub fn send(&mut self, msg: Msg) {
        for effect in update(&mut self.app, msg) {
            self.runner.perform(effect);
        }
    }

    /// Presses keys given as a string, e.g. `"j space j space F5"`.
    pub fn press(&mut self, keys: &str) {
        for key in Key::parse_seq(keys).expect("valid key names") {
            self.send(Msg::Key(key));
        }
    }

    /// Processes messages (and a tick every 250 ms) until `done(app)` holds; false on timeout.
    pub async fn until(&mut self, timeout: Duration, done: impl Fn(&App) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !done(&self.app) {
            let tick = tokio::time::sleep(Duration::from_millis(250));
            tokio::select! {
                msg = self.rx.recv() => match msg {
                    Some(msg) => self.send(msg),
                    None => return false,
                },
                _ = tick => self.send(Msg::Tick),
                _ = tokio::time::sleep_until(deadline) => return done(&self.app),
            }
        }
        true
    }

    /// Draws the current state at `width`×`height` and returns the screen as text lines.
    pub fn screen(&self, width: u16, height: u16, theme: &Theme) -> Vec<String> {
        render_lines(&self.app, theme, width, height)
    }
}

/// Renders an app to text lines, as the terminal would show it.
pub fn render_lines(app: &App, theme: &Theme, width: u16, height: u16) -> Vec<String> {
    let Ok(mut terminal) = Terminal::new(TestBackend::new(width, height));
    let Ok(_) = terminal.draw(|f| ui::draw(f, app, theme));
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect()
}
