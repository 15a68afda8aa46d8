//! The keymap: every action and the keys bound to it (Midnight Commander and vim keys by
//! default), with user overrides from `config.toml` (`[keys] copy = ["F5", "c"]`). One key
//! bound to two actions is an error, reported with both names.

use std::collections::BTreeMap;

use super::keys::Key;

/// Everything a key can do outside a dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    Parent,
    SwitchPane,
    Mark,
    InvertMarks,
    MarkGlob,
    UnmarkGlob,
    Filter,
    Copy,
    Move,
    MakeDir,
    Delete,
    Rename,
    Info,
    Preview,
    OpenLocation,
    Endpoint,
    Presign,
    Sort,
    Refresh,
    FocusJobs,
    CancelJob,
    RetryJob,
    History,
    Help,
    Quit,
}

/// Every action with its config name, default keys and help text, in help order.
pub const ACTIONS: &[(Action, &str, &[&str], &str)] = &[
    (Action::Up, "up", &["up", "k"], "cursor up"),
    (Action::Down, "down", &["down", "j"], "cursor down"),
    (Action::PageUp, "page-up", &["pgup", "C-b"], "page up"),
    (Action::PageDown, "page-down", &["pgdn", "C-f"], "page down"),
    (Action::Top, "top", &["home", "g"], "first entry"),
    (Action::Bottom, "bottom", &["end", "G"], "last entry"),
    (
        Action::Open,
        "open",
        &["enter", "l", "right"],
        "open dir / bucket",
    ),
    (
        Action::Parent,
        "parent",
        &["backspace", "h", "left"],
        "parent directory",
    ),
    (Action::SwitchPane, "switch-pane", &["tab"], "switch pane"),
    (Action::Mark, "mark", &["space", "insert"], "mark / unmark"),
    (Action::InvertMarks, "invert-marks", &["*"], "invert marks"),
    (Action::MarkGlob, "mark-glob", &["+"], "mark by glob"),
    (Action::UnmarkGlob, "unmark-glob", &["-"], "unmark by glob"),
    (Action::Filter, "filter", &["/"], "filter as you type"),
    (Action::Copy, "copy", &["F5", "c"], "copy to other pane"),
    (Action::Move, "move", &["F6", "m"], "move to other pane"),
    (Action::MakeDir, "mkdir", &["F7"], "new folder / bucket"),
    (Action::Delete, "delete", &["F8", "d"], "delete"),
    (Action::Rename, "rename", &["F2", "r"], "rename"),
    (Action::Info, "info", &["i"], "object info"),
    (Action::Preview, "preview", &["v"], "preview first 64 KiB"),
    (
        Action::OpenLocation,
        "open-location",
        &["o"],
        "open a location",
    ),
    (Action::Endpoint, "endpoint", &["e"], "endpoint / profile"),
    (Action::Presign, "presign", &["p"], "presigned URL"),
    (Action::Sort, "sort", &["s"], "sort name/size/time"),
    (Action::Refresh, "refresh", &["R", "C-r"], "refresh"),
    (Action::FocusJobs, "jobs", &["J"], "focus the job list"),
    (
        Action::CancelJob,
        "cancel-job",
        &["x"],
        "cancel selected job",
    ),
    (Action::RetryJob, "retry-job", &["t"], "retry a failed job"),
    (Action::History, "history", &["H"], "history chart"),
    (Action::Help, "help", &["?", "F1"], "help"),
    (Action::Quit, "quit", &["q", "F10", "C-c"], "quit"),
];

impl Action {
    /// The name used in `config.toml`.
    pub fn name(self) -> &'static str {
        ACTIONS
            .iter()
            .find(|(a, ..)| *a == self)
            .map_or("?", |(_, n, ..)| *n)
    }

    /// The help text.
    pub fn help(self) -> &'static str {
        ACTIONS
            .iter()
            .find(|(a, ..)| *a == self)
            .map_or("", |(.., h)| *h)
    }
}

/// Keys → actions, and actions → keys for the help overlay and hint bar.
#[derive(Debug, Clone)]
pub struct Keymap {
    by_key: BTreeMap<Key, Action>,
    by_action: BTreeMap<Action, Vec<Key>>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::new(&BTreeMap::new()).expect("the default keymap has no duplicate keys")
    }
}

impl Keymap {
    /// The default keymap with `overrides` (action name → keys) replacing actions' keys.
    pub fn new(overrides: &BTreeMap<String, Vec<String>>) -> Result<Keymap, String> {
        let mut by_action = BTreeMap::new();
        for (action, _, keys, _) in ACTIONS {
            let keys: Vec<Key> = keys
                .iter()
                .map(|k| Key::parse(k))
                .collect::<Result<_, _>>()?;
            by_action.insert(*action, keys);
        }
        for (name, keys) in overrides {
            let action = ACTIONS
                .iter()
                .find(|(_, n, ..)| n == name)
                .map(|(a, ..)| *a)
                .ok_or_else(|| format!("[keys]: unknown action {name:?}"))?;
            let keys = keys
                .iter()
                .map(|k| Key::parse(k).map_err(|e| format!("[keys] {name}: {e}")))
                .collect::<Result<_, _>>()?;
            by_action.insert(action, keys);
        }
        let mut by_key = BTreeMap::new();
        for (action, keys) in &by_action {
            for key in keys {
                if let Some(other) = by_key.insert(*key, *action) {
                    return Err(format!(
                        "[keys]: {key} is bound to both {} and {}",
                        other.name(),
                        action.name()
                    ));
                }
            }
        }
        Ok(Keymap { by_key, by_action })
    }

    /// The action a key triggers.
    pub fn action(&self, key: &Key) -> Option<Action> {
        self.by_key.get(key).copied()
    }

    /// The keys of an action, as shown to the user (`F5/c`).
    pub fn keys_of(&self, action: Action) -> String {
        self.by_action
            .get(&action)
            .map(|keys| {
                keys.iter()
                    .map(Key::to_string)
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .unwrap_or_default()
    }

    /// The first key of an action, for the hint bar.
    pub fn first_key(&self, action: Action) -> String {
        self.by_action
            .get(&action)
            .and_then(|k| k.first())
            .map(Key::to_string)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_cover_every_action_without_duplicates() {
        let map = Keymap::default();
        for (action, ..) in ACTIONS {
            assert!(!map.keys_of(*action).is_empty(), "{action:?}");
        }
        assert_eq!(map.action(&Key::parse("F5").unwrap()), Some(Action::Copy));
        assert_eq!(map.action(&Key::parse("j").unwrap()), Some(Action::Down));
        assert_eq!(map.keys_of(Action::Mark), "Space/Ins");
    }

    #[test]
    fn overrides_replace_keys_and_duplicates_are_errors() {
        let mut o = BTreeMap::new();
        o.insert("copy".to_string(), vec!["y".to_string()]);
        let map = Keymap::new(&o).unwrap();
        assert_eq!(map.action(&Key::char('y')), Some(Action::Copy));
        assert_eq!(map.action(&Key::parse("F5").unwrap()), None);

        o.insert("move".to_string(), vec!["y".to_string()]);
        let err = Keymap::new(&o).unwrap_err();
        assert!(err.contains("y is bound to both"), "{err}");

        let mut bad = BTreeMap::new();
        bad.insert("fly".to_string(), vec!["z".to_string()]);
        assert!(Keymap::new(&bad).unwrap_err().contains("unknown action"));
    }
}
