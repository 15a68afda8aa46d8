//! The headless command line (`clap`): parses arguments, builds the storage from config and
//! flags, runs one command, prints, and turns the outcome into an exit code (0 ok, 1 a file
//! failed, 2 bad usage or setup).

use std::collections::BTreeMap;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use futures::StreamExt;

use crate::config::{Config, config_path};
use crate::storage::{EndpointConfig, Location, Storage};
use crate::text::escape;

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
    /// The config file (default: the XDG config dir's s3ferry/config.toml).
    #[arg(long, global = true)]
    pub config: Option<std::path::PathBuf>,
    /// Start two demo S3 endpoints in this process, "demo-a" and "demo-b", seeded with sample
    /// buckets, and add them to the configured endpoints.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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

/// Builds the storage from the config file, the global flags and any extra endpoints.
pub fn storage_from(
    global: &GlobalArgs,
    extra: BTreeMap<String, EndpointConfig>,
) -> Result<Storage, String> {
    let path = global.config.clone().or_else(config_path);
    let (config, warnings) = match &path {
        Some(p) => Config::load(p)?,
        None => (Config::default(), vec![]),
    };
    for w in warnings {
        eprintln!("s3ferry: warning: {w}");
    }
    let default = EndpointConfig {
        url: global.endpoint_url.clone(),
        region: global.region.clone(),
        profile: global.profile.clone(),
        ..EndpointConfig::default()
    };
    let mut named = config.endpoints;
    named.extend(extra);
    Ok(Storage::new(default, named))
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
    let storage = match storage_from(&cli.global, extra) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("s3ferry: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        None => {
            eprintln!(
                "s3ferry: the terminal UI is not built yet; try `s3ferry ls s3://` or --help"
            );
            ExitCode::from(2)
        }
        Some(Command::Ls {
            location,
            recursive,
        }) => ls(&storage, &location, recursive).await,
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
