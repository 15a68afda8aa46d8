//! The headless command line (`clap`): parses arguments, builds the storage from config and
//! flags, runs one command, prints, and turns the outcome into an exit code (0 ok, 1 a file
//! failed, 2 bad usage or setup).

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use futures::StreamExt;

use crate::cli_report::{print_plan, print_report, run_with_progress};
use crate::config::{Config, config_path};
use crate::storage::MIB;
use crate::storage::{EndpointConfig, Location, Storage};
use crate::text::escape;
use crate::transfer::{ConflictPolicy, JobKind, JobOptions, JobSpec, Mode, Worker};

#[derive(Debug, Parser)]
#[command(
    name = "s3ferry",
    version,
    about = "Move data between S3 buckets, S3-compatible stores and the local disk"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags for every command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// AWS profile for s3:// locations (from ~/.aws/config).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Endpoint URL for s3:// locations, e.g. http://127.0.0.1:3900.
    #[arg(long, global = true)]
    pub endpoint_url: Option<String>,
    /// Region for s3:// locations.
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Allow --endpoint-url / AWS_ENDPOINT_URL to be plain http:// on a host other than this
    /// machine (credentials and data then cross the network unencrypted).
    #[arg(long, global = true)]
    pub allow_insecure_http: bool,
    /// The config file (default: the XDG config dir's s3ferry/config.toml).
    #[arg(long, global = true)]
    pub config: Option<std::path::PathBuf>,
    /// Start two demo S3 endpoints in this process, "cloud-a" and "cloud-b" (different keys),
    /// seeded with sample buckets, and add them to the configured endpoints.
    #[arg(long, global = true)]
    pub demo: bool,
    /// The terminal UI's theme: default, light, mono, a name in the config dir's themes/, or a
    /// .toml path (NO_COLOR selects mono).
    #[arg(long, global = true)]
    pub theme: Option<String>,
}

/// Options of cp and mv.
#[derive(Debug, Args)]
pub struct TransferArgs {
    /// Sources, then the destination.
    #[arg(required = true, num_args = 2..)]
    pub paths: Vec<String>,
    /// Copy directories and prefixes with everything below them.
    #[arg(short, long)]
    pub recursive: bool,
    /// How bytes move between two S3 locations.
    #[arg(long, value_enum, default_value_t = Mode::Auto)]
    pub mode: Mode,
    /// Files transferred at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Multipart part size in MiB (5 to 5120).
    #[arg(long, default_value_t = 8)]
    pub part_size: u64,
    /// Show the plan; move nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Replace destinations that exist (default: skip identical ones, fail on different ones).
    #[arg(long, conflicts_with = "skip_existing")]
    pub overwrite: bool,
    /// Skip destinations that exist, without comparing.
    #[arg(long)]
    pub skip_existing: bool,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
    /// Directory for staged copies (--mode staged); default: the system temp dir.
    #[arg(long)]
    pub staging_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Copy files, objects, directories or prefixes.
    Cp(TransferArgs),
    /// Move: copy, verify, then delete each source.
    Mv(TransferArgs),
    /// Delete files or objects (-r: directories and prefixes).
    Rm {
        #[arg(required = true)]
        locations: Vec<String>,
        #[arg(short, long)]
        recursive: bool,
        /// Print a JSON summary on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Show past jobs from history.jsonl.
    History {
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        #[arg(long)]
        csv: bool,
    },
    /// List buckets, a prefix, or a local directory.
    Ls {
        /// s3://bucket/prefix/, NAME:bucket/, s3:// (buckets) or a local path.
        location: String,
        /// Everything below, not just one level.
        #[arg(short, long)]
        recursive: bool,
    },
}

/// Runs the command line; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("s3ferry: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run(cli))
}

/// Loads the config file (`--config`, `S3FERRY_CONFIG` or the XDG path), printing warnings.
pub fn load_config(global: &GlobalArgs) -> Result<Config, String> {
    let path = global.config.clone().or_else(config_path);
    let (config, warnings) = match &path {
        Some(p) => Config::load(p)?,
        None => (Config::default(), vec![]),
    };
    for w in warnings {
        eprintln!("s3ferry: warning: {w}");
        tracing::warn!("{w}");
    }
    Ok(config)
}

/// Builds the storage from the config, the global flags and any extra endpoints.
pub fn storage_from(
    global: &GlobalArgs,
    config: &Config,
    extra: BTreeMap<String, EndpointConfig>,
) -> Storage {
    let default = EndpointConfig {
        url: global.endpoint_url.clone(),
        region: global.region.clone(),
        profile: global.profile.clone(),
        allow_insecure_http: global.allow_insecure_http.then_some(true),
        ..EndpointConfig::default()
    };
    let mut named = config.endpoints.clone();
    for profile in crate::config::aws_profiles() {
        named
            .entry(format!("profile.{profile}"))
            .or_insert_with(|| EndpointConfig {
                profile: Some(profile),
                ..EndpointConfig::default()
            });
    }
    named.extend(extra);
    Storage::new(default, named)
}

async fn run(cli: Cli) -> ExitCode {
    let demo = if cli.global.demo {
        match crate::demo::Demo::start().await {
            Ok(d) => Some(d),
            Err(e) => {
                eprintln!("s3ferry: cannot start the demo endpoints: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        None
    };
    let extra = demo
        .as_ref()
        .map(|d| d.endpoints.clone())
        .unwrap_or_default();
    let config = match load_config(&cli.global) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("s3ferry: {e}");
            return ExitCode::from(2);
        }
    };
    let storage = storage_from(&cli.global, &config, extra);
    // Multipart uploads a killed or crashed s3ferry left behind are aborted now.
    let recovered = crate::storage::journal::recover(&storage).await.messages();
    if cli.command.is_some() {
        for m in &recovered {
            eprintln!("s3ferry: {}", escape(m));
        }
    }
    match cli.command {
        None => crate::tui::main(storage, &config, &cli.global, demo.is_some(), recovered).await,
        Some(Command::Ls {
            location,
            recursive,
        }) => ls(&storage, &location, recursive).await,
        Some(Command::Cp(args)) => run_transfer(storage, JobKind::Copy, args).await,
        Some(Command::Mv(args)) => run_transfer(storage, JobKind::Move, args).await,
        Some(Command::Rm {
            locations,
            recursive,
            json,
        }) => run_delete(storage, locations, recursive, json).await,
        Some(Command::History { json, csv }) => crate::cli_report::history(json, csv),
    }
}

async fn ls(storage: &Storage, location: &str, recursive: bool) -> ExitCode {
    let loc = match Location::parse(location) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("s3ferry: {e}");
            return ExitCode::from(2);
        }
    };
    let pages = if recursive {
        storage.list_recursive(&loc).await
    } else {
        storage.list(&loc).await
    };
    let mut pages = match pages {
        Ok(p) => p,
        Err(e) => {
            eprintln!("s3ferry: {e}");
            return ExitCode::from(1);
        }
    };
    let mut code = ExitCode::SUCCESS;
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => {
                for p in page.problems {
                    eprintln!("s3ferry: {}", escape(&p));
                    code = ExitCode::from(1);
                }
                for e in page.entries {
                    let size = e.size.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
                    let slash = if e.is_dir() { "/" } else { "" };
                    println!("{size:>14}  {}{slash}", escape(&e.name));
                }
            }
            Err(e) => {
                eprintln!("s3ferry: {e}");
                return ExitCode::from(1);
            }
        }
    }
    code
}

fn parse_locations(items: &[String]) -> Result<Vec<Location>, ExitCode> {
    items
        .iter()
        .map(|s| Location::parse(s))
        .collect::<Result<_, _>>()
        .map_err(|e| {
            eprintln!("s3ferry: {e}");
            ExitCode::from(2)
        })
}

async fn run_transfer(storage: Storage, kind: JobKind, args: TransferArgs) -> ExitCode {
    let mut locs = match parse_locations(&args.paths) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let dest = locs.pop();
    if !(5..=5120).contains(&args.part_size) {
        eprintln!("s3ferry: --part-size must be 5 to 5120 MiB");
        return ExitCode::from(2);
    }
    let options = JobOptions {
        conflict: if args.overwrite {
            ConflictPolicy::Overwrite
        } else if args.skip_existing {
            ConflictPolicy::SkipExisting
        } else {
            ConflictPolicy::SkipSame
        },
        mode: args.mode,
        concurrency: args.concurrency.max(1),
        part_size: args.part_size * MIB,
        recursive: args.recursive,
        staging_dir: args.staging_dir,
        ..JobOptions::default()
    };
    let spec = JobSpec {
        kind,
        sources: locs,
        dest,
        options,
    };
    let history = crate::transfer::history::default_path();
    let (worker, events) = Worker::new(
        std::sync::Arc::new(storage),
        args.concurrency.max(1),
        history,
    );
    if args.dry_run {
        return print_plan(&worker.plan(&spec).await, args.json);
    }
    let report = run_with_progress(&worker, spec, events).await;
    print_report(&report, args.json)
}

async fn run_delete(storage: Storage, items: Vec<String>, recursive: bool, json: bool) -> ExitCode {
    let sources = match parse_locations(&items) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let spec = JobSpec {
        kind: JobKind::Delete,
        sources,
        dest: None,
        options: JobOptions {
            recursive,
            ..JobOptions::default()
        },
    };
    let history = crate::transfer::history::default_path();
    let (worker, events) = Worker::new(std::sync::Arc::new(storage), 1, history);
    let report = run_with_progress(&worker, spec, events).await;
    print_report(&report, json)
}
