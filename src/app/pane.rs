//! One pane: the location it shows, its entries (kept sorted as pages arrive), the cursor,
//! marks, the filter, and the listing in flight. Pure state; no I/O.

use std::collections::BTreeSet;
use std::time::SystemTime;

use crate::storage::{Entry, Location};

/// Sort order of a pane; directories always come first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    Name,
    Size,
    Time,
}

impl SortBy {
    /// The next order (`s` cycles).
    pub fn next(self) -> SortBy {
        match self {
            SortBy::Name => SortBy::Size,
            SortBy::Size => SortBy::Time,
            SortBy::Time => SortBy::Name,
        }
    }

    /// Shown in the pane title.
    pub fn label(self) -> &'static str {
        match self {
            SortBy::Name => "name",
            SortBy::Size => "size",
            SortBy::Time => "time",
        }
    }
}

/// A pane's state.
#[derive(Debug, Clone)]
pub struct Pane {
    pub location: Location,
    /// Entries in display order (sorted), including those the filter hides.
    pub entries: Vec<Entry>,
    /// Indices into `entries` that pass the filter, in order.
    pub view: Vec<usize>,
    /// Cursor position within `view`.
    pub cursor: usize,
    /// First visible row (kept by the reducer so the cursor stays on screen).
    pub scroll: usize,
    /// Marked entries, by location.
    pub marks: BTreeSet<Location>,
    pub filter: String,
    pub sort: SortBy,
    /// The id of the listing this pane waits for; results with another id are stale.
    pub request: u64,
    pub loading: bool,
    pub error: Option<String>,
    /// Problems with single entries (unreadable files, undecodable names).
    pub problems: Vec<String>,
    /// The entry name to put the cursor on once it arrives (after going to the parent).
    pub want_cursor: Option<String>,
}

impl Pane {
    /// An empty pane on `location` (its listing still to be requested).
    pub fn new(location: Location) -> Pane {
        Pane {
            location,
            entries: Vec::new(),
            view: Vec::new(),
            cursor: 0,
            scroll: 0,
            marks: BTreeSet::new(),
            filter: String::new(),
            sort: SortBy::Name,
            request: 0,
            loading: false,
            error: None,
            problems: Vec::new(),
            want_cursor: None,
        }
    }

    /// Starts showing `location`: clears entries and marks; returns nothing (the caller asks for
    /// the listing with the new request id).
    pub fn go(&mut self, location: Location, request: u64) {
        self.location = location;
        self.entries.clear();
        self.view.clear();
        self.marks.clear();
        self.filter.clear();
        self.cursor = 0;
        self.scroll = 0;
        self.begin_listing(request);
    }

    /// Marks a (re)listing as in flight; entries stay until the first page replaces them.
    pub fn begin_listing(&mut self, request: u64) {
        self.request = request;
        self.loading = true;
        self.error = None;
        self.problems.clear();
    }

    /// The entry under the cursor.
    pub fn current(&self) -> Option<&Entry> {
        self.view.get(self.cursor).map(|&i| &self.entries[i])
    }

    /// Marked entries, or the one under the cursor when nothing is marked.
    pub fn targets(&self) -> Vec<Entry> {
        if self.marks.is_empty() {
            return self.current().cloned().into_iter().collect();
        }
        self.entries
            .iter()
            .filter(|e| self.marks.contains(&e.location))
            .cloned()
            .collect()
    }

    /// Merges one page into the sorted entries. `first` replaces what a previous listing of
    /// the same location left. Keeps the cursor on the same entry.
    pub fn add_page(&mut self, mut page: Vec<Entry>, first: bool) {
        let sort = self.sort;
        page.sort_by(|a, b| compare(sort, a, b));
        // S3 sends keys in order, so a page usually sorts after everything already here:
        // append it, leaving indices (and the cursor) alone: O(page), not O(listing).
        let appends = !first
            && self.want_cursor.is_none()
            && match (self.entries.last(), page.first()) {
                (Some(last), Some(next)) => compare(sort, last, next).is_le(),
                _ => true,
            };
        if appends {
            let start = self.entries.len();
            self.entries.extend(page);
            let needle = self.filter.to_lowercase();
            self.view.extend((start..self.entries.len()).filter(|&i| {
                needle.is_empty() || self.entries[i].name.to_lowercase().contains(&needle)
            }));
            return;
        }
        let keep = self
            .want_cursor
            .clone()
            .or_else(|| self.current().map(|e| e.name.clone()));
        if first {
            self.entries.clear();
        }
        let old = std::mem::take(&mut self.entries);
        self.entries = merge(old, page, |a, b| compare(sort, a, b));
        self.refilter(keep.as_deref());
        if let Some(want) = &self.want_cursor
            && self.current().is_some_and(|e| &e.name == want)
        {
            self.want_cursor = None;
        }
    }

    /// The listing is complete: marks on entries that are gone are dropped.
    pub fn finish_listing(&mut self) {
        self.loading = false;
        let present: BTreeSet<&Location> = self.entries.iter().map(|e| &e.location).collect();
        self.marks.retain(|m| present.contains(m));
        self.want_cursor = None;
    }

    /// Re-sorts after the order changed.
    pub fn resort(&mut self) {
        let keep = self.current().map(|e| e.name.clone());
        let sort = self.sort;
        self.entries.sort_by(|a, b| compare(sort, a, b));
        self.refilter(keep.as_deref());
    }

    /// Recomputes the filtered view, putting the cursor on `keep` if it is still visible.
    pub fn refilter(&mut self, keep: Option<&str>) {
        let needle = self.filter.to_lowercase();
        self.view = (0..self.entries.len())
            .filter(|&i| needle.is_empty() || self.entries[i].name.to_lowercase().contains(&needle))
            .collect();
        if let Some(name) = keep
            && let Some(pos) = self.view.iter().position(|&i| self.entries[i].name == name)
        {
            self.cursor = pos;
        }
        self.cursor = self.cursor.min(self.view.len().saturating_sub(1));
    }

    /// Moves the cursor by `delta` rows, clamped.
    pub fn move_cursor(&mut self, delta: isize) {
        let last = self.view.len().saturating_sub(1);
        self.cursor = self.cursor.saturating_add_signed(delta).min(last);
    }

    /// Keeps the cursor within `rows` visible rows.
    pub fn scroll_to_cursor(&mut self, rows: usize) {
        let rows = rows.max(1);
        if self.cursor < self.scroll {
            self.scroll = self.cursor;
        } else if self.cursor >= self.scroll + rows {
            self.scroll = self.cursor + 1 - rows;
        }
        self.scroll = self.scroll.min(self.view.len().saturating_sub(1));
    }

    /// Toggles the mark of the entry under the cursor.
    pub fn toggle_mark(&mut self) {
        if let Some(loc) = self.current().map(|e| e.location.clone())
            && !self.marks.remove(&loc)
        {
            self.marks.insert(loc);
        }
    }

    /// Inverts the marks of the visible entries.
    pub fn invert_marks(&mut self) {
        for &i in &self.view {
            let loc = &self.entries[i].location;
            if !self.marks.remove(loc) {
                self.marks.insert(loc.clone());
            }
        }
    }

    /// Marks (or unmarks) the visible entries whose names match a glob; returns how many.
    pub fn mark_glob(&mut self, pattern: &str, mark: bool) -> usize {
        let mut n = 0;
        for &i in &self.view {
            let e = &self.entries[i];
            if glob_match(pattern, &e.name) {
                n += 1;
                if mark {
                    self.marks.insert(e.location.clone());
                } else {
                    self.marks.remove(&e.location);
                }
            }
        }
        n
    }

    /// Total size of the marked entries that are files.
    pub fn marked_bytes(&self) -> u64 {
        self.entries
            .iter()
            .filter(|e| self.marks.contains(&e.location))
            .filter_map(|e| e.size)
            .sum()
    }
}

fn modified_key(e: &Entry) -> SystemTime {
    e.modified.unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Directories first, then by the chosen order (largest and newest first), then by name.
fn compare(sort: SortBy, a: &Entry, b: &Entry) -> std::cmp::Ordering {
    let by_kind = b.is_dir().cmp(&a.is_dir());
    let by_sort = match sort {
        SortBy::Name => std::cmp::Ordering::Equal,
        SortBy::Size => b.size.unwrap_or(0).cmp(&a.size.unwrap_or(0)),
        SortBy::Time => modified_key(b).cmp(&modified_key(a)),
    };
    by_kind.then(by_sort).then_with(|| a.name.cmp(&b.name))
}

/// Merges two sorted vectors (O(n) per page, so a 100,000-key listing stays cheap).
fn merge<T>(a: Vec<T>, b: Vec<T>, cmp: impl Fn(&T, &T) -> std::cmp::Ordering) -> Vec<T> {
    if a.is_empty() {
        return b;
    }
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => cmp(x, y) != std::cmp::Ordering::Greater,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return out,
        };
        out.extend(if take_a { a.next() } else { b.next() });
    }
}

/// Shell-style glob: `*` any run, `?` one character; everything else literal.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::EntryKind;

    fn entry(name: &str, dir: bool, size: u64) -> Entry {
        Entry {
            name: name.into(),
            location: Location::local(format!("/t/{name}")),
            kind: if dir { EntryKind::Dir } else { EntryKind::File },
            size: (!dir).then_some(size),
            modified: None,
            etag: None,
            storage_class: None,
        }
    }

    #[test]
    fn pages_merge_sorted_with_dirs_first_and_cursor_kept() {
        let mut p = Pane::new(Location::local("/t"));
        p.begin_listing(1);
        p.add_page(vec![entry("b.txt", false, 1), entry("zdir", true, 0)], true);
        p.move_cursor(1);
        assert_eq!(p.current().unwrap().name, "b.txt");
        p.add_page(
            vec![entry("a.txt", false, 5), entry("adir", true, 0)],
            false,
        );
        let names: Vec<_> = p.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["adir", "zdir", "a.txt", "b.txt"]);
        assert_eq!(
            p.current().unwrap().name,
            "b.txt",
            "cursor follows its entry"
        );
        p.sort = SortBy::Size;
        p.resort();
        let names: Vec<_> = p.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["adir", "zdir", "a.txt", "b.txt"]);
    }

    #[test]
    fn filter_marks_and_globs() {
        let mut p = Pane::new(Location::local("/t"));
        p.add_page(
            ["a.jpg", "b.jpg", "c.txt"]
                .iter()
                .map(|n| entry(n, false, 10))
                .collect(),
            true,
        );
        assert_eq!(p.mark_glob("*.jpg", true), 2);
        assert_eq!(p.marked_bytes(), 20);
        p.invert_marks();
        assert_eq!(p.targets()[0].name, "c.txt");
        p.filter = "JP".into();
        p.refilter(None);
        assert_eq!(p.view.len(), 2);
        assert!(glob_match("img_0?.jp*", "img_01.jpeg"));
        assert!(!glob_match("*.jpg", "a.jpgx"));
        assert!(glob_match("*", ""));
    }

    #[test]
    fn cursor_and_scroll_stay_in_range() {
        let mut p = Pane::new(Location::local("/t"));
        p.move_cursor(5);
        p.scroll_to_cursor(0);
        assert_eq!((p.cursor, p.scroll), (0, 0));
        p.add_page(
            (0..50)
                .map(|i| entry(&format!("{i:02}"), false, 1))
                .collect(),
            true,
        );
        p.move_cursor(30);
        p.scroll_to_cursor(10);
        assert_eq!((p.cursor, p.scroll), (30, 21));
        p.move_cursor(-100);
        p.scroll_to_cursor(10);
        assert_eq!((p.cursor, p.scroll), (0, 0));
    }
}
