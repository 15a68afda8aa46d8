//! Themes: TOML files of semantic styles (`pane.cursor = { fg = "black", bg = "cyan" }`).
//! `default`, `light` and `mono` ship in `themes/` and are embedded, so the binary works on its
//! own; `--theme NAME` also finds `NAME.toml` in the config dir's `themes/`, or takes a path.

use std::collections::BTreeMap;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// Every style a theme must define, as `section.name`.
pub const KEYS: &[&str] = &[
    "pane.border",
    "pane.border_focused",
    "pane.title",
    "pane.header",
    "pane.cursor",
    "pane.cursor_unfocused",
    "pane.marked",
    "pane.bucket",
    "pane.dir",
    "pane.file",
    "pane.symlink",
    "pane.error",
    "pane.dim",
    "jobs.border",
    "jobs.title",
    "jobs.running",
    "jobs.finished",
    "jobs.failed",
    "jobs.selected",
    "jobs.gauge",
    "jobs.sparkline",
    "dialog.border",
    "dialog.title",
    "dialog.text",
    "dialog.key",
    "dialog.danger",
    "status.hint",
    "status.key",
    "status.message",
    "history.server-side",
    "history.streamed",
    "history.staged",
    "history.upload",
    "history.download",
    "history.other",
];

/// The embedded themes.
pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    modifiers: Vec<String>,
}

/// A loaded theme.
#[derive(Debug, Clone)]
pub struct Theme {
    pub name: String,
    styles: BTreeMap<String, Style>,
}

impl Theme {
    /// The style for a key of [`KEYS`] (plain if missing).
    pub fn style(&self, key: &str) -> Style {
        self.styles.get(key).copied().unwrap_or_default()
    }

    /// Parses a theme file; every key of [`KEYS`] must be present.
    pub fn parse(name: &str, text: &str) -> Result<Theme, String> {
        let table: BTreeMap<String, BTreeMap<String, StyleSpec>> =
            toml::from_str(text).map_err(|e| format!("theme {name:?}: {e}"))?;
        let mut styles = BTreeMap::new();
        for (section, entries) in table {
            for (key, spec) in entries {
                let full = format!("{section}.{key}");
                let style = to_style(&spec).map_err(|e| format!("theme {name:?}, {full}: {e}"))?;
                styles.insert(full, style);
            }
        }
        if let Some(missing) = KEYS.iter().find(|k| !styles.contains_key(**k)) {
            return Err(format!("theme {name:?} does not define {missing}"));
        }
        Ok(Theme {
            name: name.to_string(),
            styles,
        })
    }

    /// The embedded default theme.
    pub fn builtin(name: &str) -> Option<Theme> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        Theme::parse(name, text).ok()
    }

    /// Loads by name (embedded, or `themes/NAME.toml` under `config_dir`) or by file path.
    pub fn load(name: &str, config_dir: Option<&Path>) -> Result<Theme, String> {
        let user = config_dir.map(|d| d.join("themes").join(format!("{name}.toml")));
        let path = Path::new(name);
        let file = if name.ends_with(".toml") {
            Some(path.to_path_buf())
        } else {
            user.filter(|p| p.exists())
        };
        match file {
            Some(p) => {
                let text = std::fs::read_to_string(&p)
                    .map_err(|e| format!("cannot read theme {}: {e}", p.display()))?;
                Theme::parse(name, &text)
            }
            None => Theme::builtin(name).ok_or_else(|| {
                let names: Vec<_> = BUILTIN.iter().map(|(n, _)| *n).collect();
                format!("unknown theme {name:?}; built in: {}", names.join(", "))
            }),
        }
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::builtin("default").expect("the embedded default theme parses")
    }
}

fn to_style(spec: &StyleSpec) -> Result<Style, String> {
    let mut style = Style::default();
    if let Some(fg) = &spec.fg {
        style = style.fg(color(fg)?);
    }
    if let Some(bg) = &spec.bg {
        style = style.bg(color(bg)?);
    }
    for m in &spec.modifiers {
        style = style.add_modifier(match m.as_str() {
            "bold" => Modifier::BOLD,
            "dim" => Modifier::DIM,
            "italic" => Modifier::ITALIC,
            "underlined" => Modifier::UNDERLINED,
            "reversed" => Modifier::REVERSED,
            other => return Err(format!("unknown modifier {other:?}")),
        });
    }
    Ok(style)
}

fn color(name: &str) -> Result<Color, String> {
    name.parse::<Color>()
        .map_err(|_| format!("unknown colour {name:?} (use a name like \"cyan\" or \"#rrggbb\")"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_theme_is_complete() {
        for (name, text) in BUILTIN {
            let theme = Theme::parse(name, text).unwrap();
            assert_eq!(
                theme.styles.len(),
                KEYS.len(),
                "{name} has keys no one uses"
            );
        }
        // The files in themes/ are the embedded ones.
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("themes");
        let on_disk = std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "toml"))
            })
            .count();
        assert_eq!(on_disk, BUILTIN.len());
    }

    #[test]
    fn mono_uses_no_colour_and_errors_name_the_key() {
        let mono = Theme::builtin("mono").unwrap();
        for key in KEYS {
            let s = mono.style(key);
            assert!(
                s.fg.is_none() && s.bg.is_none(),
                "{key} has a colour in mono"
            );
        }
        let err = Theme::parse("x", "[pane]\nborder = { fg = \"chartreuse-ish\" }").unwrap_err();
        assert!(
            err.contains("pane.border") && err.contains("chartreuse-ish"),
            "{err}"
        );
        let err = Theme::parse("x", "[pane]\nborder = {}").unwrap_err();
        assert!(err.contains("does not define"), "{err}");
    }
}
