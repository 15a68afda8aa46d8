//! Starting the terminal UI: theme, keymap, panes, worker and log file from the config and
//! flags, then the runtime loop. A thin shell; the behaviour lives in `app`, `ui` and `runtime`.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use crate::app::{App, Keymap};
use crate::cli::GlobalArgs;
use crate::config::{Config, project_dirs};
use crate::storage::{EndpointRef, Location, MIB, Storage};
use crate::transfer::{Worker, history};
use crate::ui::Theme;

/// Runs the TUI; returns the exit code.
pub async fn main(
    storage: Storage,
    config: &Config,
    global: &GlobalArgs,
    demo: bool,
    recovered: Vec<String>,
) -> ExitCode {
    if !std::io::stdout().is_terminal() {
        eprintln!(
            "s3ferry: the terminal UI needs a terminal; for scripts use a command (s3ferry --help)"
        );
        return ExitCode::from(2);
    }
    crate::logging::init();
    let theme = match choose_theme(global, config) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("s3ferry: {e}");
            return ExitCode::from(2);
        }
    };
    let keymap = match Keymap::new(&config.keys) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("s3ferry: config: {e}");
            return ExitCode::from(2);
        }
    };
    let (left, right) = match start_locations(config, demo) {
        Ok(locs) => locs,
        Err(e) => {
            eprintln!("s3ferry: config: {e}");
            return ExitCode::from(2);
        }
    };
    let home = std::env::current_dir()
        .map(Location::Local)
        .unwrap_or_else(|_| Location::local("/"));
    let endpoints = storage.endpoint_names();
    let history_path = history::default_path();
    let concurrency = config.concurrency.unwrap_or(8);
    let (worker, events) = Worker::new(Arc::new(storage), concurrency, history_path.clone());
    let (mut app, initial) = App::new(left, right, home);
    app.keymap = keymap;
    app.endpoints = endpoints;
    app.options.concurrency = concurrency;
    app.options.part_size = config.part_size_mib.unwrap_or(8) * MIB;
    for m in &recovered {
        tracing::info!("{m}");
    }
    app.status = recovered.last().map(|m| crate::text::escape(m));
    tracing::info!(theme = %theme.name, "terminal UI starting");
    match crate::runtime::run(app, initial, worker, events, theme, history_path).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("s3ferry: terminal error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `--theme`, else `NO_COLOR` → mono, else the config's theme, else the default.
fn choose_theme(global: &GlobalArgs, config: &Config) -> Result<Theme, String> {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let name = match (&global.theme, no_color, &config.theme) {
        (Some(t), _, _) => t.clone(),
        (None, true, _) => "mono".to_string(),
        (None, false, Some(t)) => t.clone(),
        (None, false, None) => "default".to_string(),
    };
    let dirs = project_dirs();
    Theme::load(&name, dirs.as_ref().map(|d| d.config_dir()))
}

/// The panes' first locations: the demo's two accounts, the config's, or here and `s3://`.
fn start_locations(config: &Config, demo: bool) -> Result<(Location, Location), String> {
    if demo {
        return Ok((
            Location::s3(EndpointRef::Named("cloud-a".into()), "photos", ""),
            Location::s3(EndpointRef::Named("cloud-b".into()), "backup", ""),
        ));
    }
    let parse = |s: &Option<String>, fallback: Location| match s {
        Some(s) => Location::parse(s).map_err(|e| e.to_string()),
        None => Ok(fallback),
    };
    let here = std::env::current_dir()
        .map(Location::Local)
        .unwrap_or_else(|_| Location::local("/"));
    Ok((
        parse(&config.left, here)?,
        parse(&config.right, Location::Buckets(EndpointRef::Default))?,
    ))
}
