//! Making names safe to show: control characters, escape sequences, bidi overrides and
//! zero-width characters come out visibly escaped (`\u{1b}`), never raw, so a key cannot drive
//! the terminal and two names that differ only by such a character look different.

/// True for characters that must never reach a terminal raw.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}' // zero-width spaces, joiners, LRM/RLM
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{FEFF}' // BOM / zero-width no-break space
            | '\u{2028}' | '\u{2029}')
}

/// The name with every unsafe character written as `\u{XX}` (and `\` itself as `\\`).
pub fn escape(name: &str) -> String {
    if !name.chars().any(|c| is_unsafe(c) || c == '\\') {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// JSON text with every character that must not reach a terminal raw written as a `\uXXXX`
/// escape. serde_json escapes ASCII controls itself but not C1 controls (`\u{9b}` is a CSI on
/// many terminals), bidi overrides or zero-width characters; escaped, the JSON value is the same.
/// Raw tabs and line breaks can only be whitespace between tokens, so they stay.
pub fn json_safe(json: &str) -> String {
    if !json.chars().any(is_unsafe) {
        return json.to_string();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_unsafe(c) && !matches!(c, '\n' | '\r' | '\t') {
            // Every unsafe character is in the Basic Multilingual Plane: one escape each.
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Human sizes: 1.5 MiB.
pub fn human_bytes(n: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// A time as `2024-11-03 14:22` (UTC), for listings and info.
pub fn timestamp(t: std::time::SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_could_drive_a_terminal() {
        assert_eq!(escape("plain ü.txt"), "plain ü.txt");
        assert_eq!(escape("\x1b[2J"), "\\u{1b}[2J");
        assert_eq!(escape("a\rb\nc\x07"), "a\\u{d}b\\u{a}c\\u{7}");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_ne!(escape("ab"), escape("a\u{200b}b"));
        assert_ne!(
            escape("a\\u{7}"),
            escape("a\x07"),
            "a literal backslash cannot imitate an escape"
        );
    }

    #[test]
    fn json_stays_the_same_value_without_raw_invisibles() {
        let v = serde_json::json!({"k": "a\u{9b}31m\u{202e}b\u{200b}\x1b\n", "n": [1, 2]});
        for text in [
            serde_json::to_string(&v).unwrap(),
            serde_json::to_string_pretty(&v).unwrap(),
        ] {
            let safe = json_safe(&text);
            assert!(
                !safe
                    .chars()
                    .any(|c| is_unsafe(c) && !matches!(c, '\n' | ' ')),
                "{safe:?}"
            );
            assert!(
                safe.contains("\\u009b") && safe.contains("\\u202e"),
                "{safe}"
            );
            assert_eq!(serde_json::from_str::<serde_json::Value>(&safe).unwrap(), v);
        }
    }
}
