//! `config.toml` in the XDG config directory (`~/.config/s3ferry/` on Linux): named endpoints
//! and defaults. A missing file is an empty config.
//!
//! ```toml
//! concurrency = 8
//! part_size_mib = 8
//!
//! [endpoints.garage]
//! url = "http://127.0.0.1:3900"
//! region = "garage"
//! profile = "garage"          # or access_key_id + secret_access_key
//! checksums = "when_required" # for stores that reject the SDK's CRC32 trailers
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::storage::EndpointConfig;

/// The parsed configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Named endpoints, used as `NAME:bucket/prefix`.
    #[serde(default)]
    pub endpoints: BTreeMap<String, EndpointConfig>,
    /// Locations the panes open on.
    pub left: Option<String>,
    pub right: Option<String>,
    /// Files transferred at once.
    pub concurrency: Option<usize>,
    /// Multipart part size in MiB.
    pub part_size_mib: Option<u64>,
    pub theme: Option<String>,
    /// Key overrides: action name → keys.
    #[serde(default)]
    pub keys: BTreeMap<String, Vec<String>>,
}

/// The XDG directories of s3ferry.
pub fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "s3ferry")
}

/// Where `config.toml` lives (`S3FERRY_CONFIG` overrides).
pub fn config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("S3FERRY_CONFIG") {
        return Some(PathBuf::from(p));
    }
    project_dirs().map(|d| d.config_dir().join("config.toml"))
}

/// The profiles of `~/.aws/config` and `~/.aws/credentials` (or `AWS_CONFIG_FILE` and
/// `AWS_SHARED_CREDENTIALS_FILE`), except `default`, which `s3://` already uses. Each becomes
/// an endpoint named `profile.NAME` so a pane can switch to it (`e`) and a location can name it.
pub fn aws_profiles() -> Vec<String> {
    let home = directories::BaseDirs::new().map(|d| d.home_dir().join(".aws"));
    let file = |var: &str, name: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(name)))
    };
    let mut names = Vec::new();
    for (path, in_config) in [
        (file("AWS_CONFIG_FILE", "config"), true),
        (file("AWS_SHARED_CREDENTIALS_FILE", "credentials"), false),
    ] {
        if let Some(text) = path.and_then(|p| std::fs::read_to_string(p).ok()) {
            names.extend(profile_names(&text, in_config));
        }
    }
    names.sort();
    names.dedup();
    names
}

/// Section names of an AWS config (`[profile x]`) or credentials (`[x]`) file.
fn profile_names(text: &str, config_file: bool) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix('[')?.strip_suffix(']'))
        .filter_map(|section| {
            let section = section.trim();
            if config_file {
                section.strip_prefix("profile ").map(str::trim)
            } else {
                Some(section)
            }
        })
        .filter(|n| *n != "default" && !n.is_empty())
        .map(str::to_string)
        .collect()
}

impl Config {
    /// Loads a config file; a missing file gives the default. Returns warnings to show, such as
    /// a file with secret keys that others can read.
    pub fn load(path: &Path) -> Result<(Config, Vec<String>), String> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((Config::default(), vec![]));
            }
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let config: Config =
            toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))?;
        let mut warnings = Vec::new();
        let has_secret = config
            .endpoints
            .values()
            .any(|e| e.secret_access_key.is_some() || e.session_token.is_some());
        if has_secret && readable_by_others(path) {
            warnings.push(format!(
                "{} holds secret keys and can be read by other users: chmod 600 it",
                path.display()
            ));
        }
        Ok((config, warnings))
    }
}

#[cfg(unix)]
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

#[cfg(not(unix))]
fn readable_by_others(_: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_endpoints_and_warns_on_readable_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert!(Config::load(&path).unwrap().0.endpoints.is_empty());
        std::fs::write(
            &path,
            "concurrency = 4\n[endpoints.a]\nurl = \"http://127.0.0.1:1\"\naccess_key_id = \"AK\"\nsecret_access_key = \"SK\"\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let (cfg, warnings) = Config::load(&path).unwrap();
            assert_eq!(cfg.concurrency, Some(4));
            assert_eq!(cfg.endpoints["a"].access_key_id.as_deref(), Some("AK"));
            assert!(warnings[0].contains("chmod 600"), "{warnings:?}");
            assert!(!warnings[0].contains("SK\""));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            assert!(Config::load(&path).unwrap().1.is_empty());
        }
        std::fs::write(&path, "nonsense = [").unwrap();
        assert!(Config::load(&path).is_err());
    }
}

#[cfg(test)]
mod profile_tests {
    use super::profile_names;

    #[test]
    fn profile_sections_are_read_from_both_files() {
        let config =
            "[default]\nregion = eu-west-1\n[profile work]\nregion = us-east-1\n[sso-session x]\n";
        assert_eq!(profile_names(config, true), ["work"]);
        let credentials = "[default]\naws_access_key_id = A\n[backup]\n";
        assert_eq!(profile_names(credentials, false), ["backup"]);
    }
}
