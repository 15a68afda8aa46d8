//! Text fitting for cells: display-width aware truncation in the middle, short sizes, rates
//! and durations.

use std::time::Duration;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Fits `s` into `width` columns, cutting the middle out with `…` if it is too long
/// (`very_long_fi…name.txt`), so both the start and the extension stay visible.
pub fn truncate_middle(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let budget = width - 1; // the ellipsis
    let tail_budget = budget / 2;
    let head_budget = budget - tail_budget;
    let head = take_width(s.chars(), head_budget);
    let mut tail: Vec<char> = take_width(s.chars().rev(), tail_budget).chars().collect();
    tail.reverse();
    format!("{head}…{}", tail.into_iter().collect::<String>())
}

fn take_width(chars: impl Iterator<Item = char>, budget: usize) -> String {
    let mut used = 0;
    let mut out = String::new();
    for c in chars {
        let w = c.width().unwrap_or(0);
        if used + w > budget {
            break;
        }
        used += w;
        out.push(c);
    }
    out
}

/// Pads or truncates (in the middle) to exactly `width` columns.
pub fn fit(s: &str, width: usize) -> String {
    let t = truncate_middle(s, width);
    let pad = width.saturating_sub(t.width());
    format!("{t}{}", " ".repeat(pad))
}

/// A size in at most 7 columns: `999 B`, `1.5K`, `12.3M`, `4.0G`.
pub fn short_size(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "K", "M", "G", "T", "P"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if v >= 100.0 {
        format!("{v:.0}{}", UNITS[unit])
    } else {
        format!("{v:.1}{}", UNITS[unit])
    }
}

/// A rate: `12.3M/s`.
pub fn rate(bytes_per_sec: f64) -> String {
    format!("{}/s", short_size(bytes_per_sec.max(0.0) as u64))
}

/// A duration: `4.2s`, `3m05s`, `1h02m`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{:.1}s", d.as_secs_f64())
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_both_ends_and_width() {
        assert_eq!(truncate_middle("short", 10), "short");
        assert_eq!(
            truncate_middle("very_long_file_name.txt", 12),
            "very_l…e.txt"
        );
        assert_eq!(truncate_middle("abc", 0), "");
        assert_eq!(truncate_middle("abcdef", 1), "…");
        // Wide characters count two columns.
        let t = truncate_middle("日本語のファイル名.txt", 10);
        assert!(t.width() <= 10, "{t}");
        assert_eq!(fit("ab", 4), "ab  ");
        assert_eq!(fit("日本語", 5).width(), 5);
    }

    #[test]
    fn sizes_rates_durations() {
        assert_eq!(short_size(999), "999 B");
        assert_eq!(short_size(1536), "1.5K");
        assert_eq!(short_size(48 * 1024 * 1024), "48.0M");
        assert_eq!(short_size(300 * 1024 * 1024), "300M");
        assert_eq!(rate(2.0 * 1024.0 * 1024.0), "2.0M/s");
        assert_eq!(duration(Duration::from_millis(4200)), "4.2s");
        assert_eq!(duration(Duration::from_secs(185)), "3m05s");
        assert_eq!(duration(Duration::from_secs(3720)), "1h02m");
    }
}
