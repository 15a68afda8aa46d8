//! Keys as the app sees them, independent of any terminal library: a key code and modifiers,
//! written and parsed as strings such as `F5`, `tab`, `space`, `C-c`, `j` or `?`.

use std::fmt;

/// A key code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    Char(char),
    F(u8),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Insert,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
}

/// A key press: a code and whether Ctrl or Alt was held (Shift is part of the character).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: Code,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    /// A key without modifiers.
    pub const fn plain(code: Code) -> Key {
        Key {
            code,
            ctrl: false,
            alt: false,
        }
    }

    /// A character key without modifiers.
    pub const fn char(c: char) -> Key {
        Key::plain(Code::Char(c))
    }

    /// Parses `F5`, `C-c`, `ctrl-c`, `A-x`, `enter`, `space`, `pgdn`, `?`, `j` and the like.
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut rest = text;
        let (mut ctrl, mut alt) = (false, false);
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.chars().count() > 2 && (lower.starts_with("c-") || lower.starts_with("ctrl-")) {
                ctrl = true;
                rest = &rest[if lower.starts_with("c-") { 2 } else { 5 }..];
            } else if rest.chars().count() > 2
                && (lower.starts_with("a-") || lower.starts_with("alt-"))
            {
                alt = true;
                rest = &rest[if lower.starts_with("a-") { 2 } else { 4 }..];
            } else {
                break;
            }
        }
        let code = parse_code(rest).ok_or_else(|| format!("unknown key {text:?}"))?;
        Ok(Key { code, ctrl, alt })
    }

    /// Parses a space-separated key sequence, e.g. `"tab space j F5 enter"`.
    pub fn parse_seq(text: &str) -> Result<Vec<Key>, String> {
        text.split_whitespace().map(Key::parse).collect()
    }
}

fn parse_code(s: &str) -> Option<Code> {
    let mut chars = s.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Some(Code::Char(c));
    }
    let lower = s.to_ascii_lowercase();
    if let Some(n) = lower.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
        return (1..=24).contains(&n).then_some(Code::F(n));
    }
    Some(match lower.as_str() {
        "enter" | "return" | "cr" => Code::Enter,
        "esc" | "escape" => Code::Esc,
        "tab" => Code::Tab,
        "backtab" | "s-tab" => Code::BackTab,
        "backspace" | "bs" => Code::Backspace,
        "delete" | "del" => Code::Delete,
        "insert" | "ins" => Code::Insert,
        "space" => Code::Char(' '),
        "up" => Code::Up,
        "down" => Code::Down,
        "left" => Code::Left,
        "right" => Code::Right,
        "pageup" | "pgup" => Code::PageUp,
        "pagedown" | "pgdn" => Code::PageDown,
        "home" => Code::Home,
        "end" => Code::End,
        "minus" => Code::Char('-'),
        "plus" => Code::Char('+'),
        _ => return None,
    })
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("C-")?;
        }
        if self.alt {
            f.write_str("A-")?;
        }
        match self.code {
            Code::Char(' ') => f.write_str("Space"),
            Code::Char(c) => write!(f, "{c}"),
            Code::F(n) => write!(f, "F{n}"),
            Code::Enter => f.write_str("Enter"),
            Code::Esc => f.write_str("Esc"),
            Code::Tab => f.write_str("Tab"),
            Code::BackTab => f.write_str("S-Tab"),
            Code::Backspace => f.write_str("Backspace"),
            Code::Delete => f.write_str("Del"),
            Code::Insert => f.write_str("Ins"),
            Code::Up => f.write_str("Up"),
            Code::Down => f.write_str("Down"),
            Code::Left => f.write_str("Left"),
            Code::Right => f.write_str("Right"),
            Code::PageUp => f.write_str("PgUp"),
            Code::PageDown => f.write_str("PgDn"),
            Code::Home => f.write_str("Home"),
            Code::End => f.write_str("End"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_shows_keys() {
        for (text, shown) in [
            ("F5", "F5"),
            ("f10", "F10"),
            ("C-c", "C-c"),
            ("ctrl-r", "C-r"),
            ("space", "Space"),
            ("?", "?"),
            ("G", "G"),
            ("pgdn", "PgDn"),
            ("-", "-"),
            ("insert", "Ins"),
        ] {
            let key = Key::parse(text).unwrap();
            assert_eq!(key.to_string(), shown, "{text}");
            assert_eq!(Key::parse(&key.to_string()).unwrap(), key, "{text}");
        }
        assert!(Key::parse("F99").is_err());
        assert!(Key::parse("hyper-x").is_err());
        assert_eq!(
            Key::parse_seq("tab space F5").unwrap(),
            vec![
                Key::plain(Code::Tab),
                Key::char(' '),
                Key::plain(Code::F(5))
            ]
        );
    }
}
