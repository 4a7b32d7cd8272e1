//! The sconf file format of mox's configuration files, read and written by type.
//!
//! ```text
//! # A comment, on a line of its own.
//! Hostname: mail.example.org
//! Listeners:
//! 	public:
//! 		IPs:
//! 			- 0.0.0.0
//! 		SMTP:
//! 			Enabled: true
//! 	internal: nil
//! ```
//!
//! Nesting is by tabs, one per level. A struct or map is a block of `Key: value` lines; a value
//! that is itself a struct, map or list starts on the next line, one tab deeper. List items
//! start with `-`; an item that is a struct has its fields on the lines after the `-`, one tab
//! deeper. `nil` as a map value is the empty value. Strings run to the end of the line, without
//! quoting or escaping. Which of these a value is comes from the type it is read into, as in
//! mox's `sconf` package; this module reads and writes the same files.
//!
//! Reading collects every problem (with its line and key path) instead of stopping at the
//! first, and records the line of every key, so that later checks can point at the line too.

// The format is indented with tabs, so its example is too.
#![allow(clippy::tabs_in_doc_comments)]

pub(crate) mod duration;
mod wrap;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::error::{ConfigError, ErrorKind, WriteError};

/// One element of a key path: a struct field or map key, or a list position (from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

/// A key path such as `Accounts.mjl.Destinations.mjl@example.com.Rulesets[1]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyPath(Vec<Segment>);

impl KeyPath {
    /// The empty path (the file as a whole).
    pub(crate) fn root() -> KeyPath {
        KeyPath(Vec::new())
    }

    /// This path with a key appended.
    pub(crate) fn key(&self, key: impl Into<String>) -> KeyPath {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.into()));
        KeyPath(segments)
    }

    /// This path with a list position (from 1) appended.
    pub(crate) fn index(&self, position: usize) -> KeyPath {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(position));
        KeyPath(segments)
    }

    pub(crate) fn from_segments(segments: Vec<Segment>) -> KeyPath {
        KeyPath(segments)
    }

    fn render(segments: &[Segment]) -> String {
        let mut out = String::new();
        for segment in segments {
            match segment {
                Segment::Key(key) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(key);
                }
                Segment::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
            }
        }
        out
    }
}

impl std::fmt::Display for KeyPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&KeyPath::render(&self.0))
    }
}

/// The line of every key and list item of a file, by key path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Positions(HashMap<String, usize>);

impl Positions {
    /// The line of `path`, or of its nearest ancestor that is in the file (for a key that is
    /// absent, the struct that lacks it).
    pub(crate) fn line(&self, path: &KeyPath) -> Option<usize> {
        (0..=path.0.len()).rev().find_map(|n| self.0.get(&KeyPath::render(&path.0[..n])).copied())
    }
}

#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    number: usize,
    /// Leading tabs.
    indent: usize,
    /// The line after its leading tabs.
    text: &'a str,
}

/// A `Key: value` line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<'a> {
    pub(crate) key: &'a str,
    /// The value on the key's line, after `": "`; empty if there is none.
    pub(crate) inline: &'a str,
    pub(crate) line: usize,
}

/// Reads one sconf file into typed values, collecting problems.
#[derive(Debug)]
pub(crate) struct Parser<'a> {
    file: &'a str,
    lines: Vec<Line<'a>>,
    pos: usize,
    errors: Vec<ConfigError>,
    positions: Positions,
    path: Vec<Segment>,
}

impl<'a> Parser<'a> {
    /// A parser over `text`, naming `file` in its errors.
    pub(crate) fn new(file: &'a str, text: &'a str) -> Parser<'a> {
        let mut p = Parser {
            file,
            lines: Vec::new(),
            pos: 0,
            errors: Vec::new(),
            positions: Positions::default(),
            path: Vec::new(),
        };
        for (i, raw) in text.split('\n').enumerate() {
            let number = i + 1;
            if raw.is_empty() || raw.trim_start().starts_with('#') {
                continue;
            }
            if raw.trim().is_empty() {
                p.errors.push(ConfigError::new(
                    file,
                    Some(number),
                    String::new(),
                    ErrorKind::WhitespaceLine,
                ));
                continue;
            }
            let text = raw.trim_start_matches('\t');
            p.lines.push(Line { number, indent: raw.len() - text.len(), text });
        }
        p
    }

    /// Reads a whole file as `T` (a struct whose keys are at the top level).
    pub(crate) fn parse_file<T: Struct>(mut self) -> (T, Vec<ConfigError>, Positions) {
        let value = T::parse_fields(&mut self, 0, None);
        (value, self.errors, self.positions)
    }

    /// Records a problem at `line` for the current key path.
    pub(crate) fn error(&mut self, line: Option<usize>, kind: ErrorKind) {
        let path = KeyPath::render(&self.path);
        self.errors.push(ConfigError::new(self.file, line, path, kind));
    }

    /// Records a problem for a key below the current path.
    fn error_at_key(&mut self, key: &str, line: Option<usize>, kind: ErrorKind) {
        self.path.push(Segment::Key(key.to_string()));
        self.error(line, kind);
        self.path.pop();
    }

    /// Enters a key (struct field or map key) found at `line`.
    pub(crate) fn enter_key(&mut self, key: &str, line: usize) {
        self.path.push(Segment::Key(key.to_string()));
        self.positions.0.insert(KeyPath::render(&self.path), line);
    }

    fn enter_index(&mut self, position: usize, line: usize) {
        self.path.push(Segment::Index(position));
        self.positions.0.insert(KeyPath::render(&self.path), line);
    }

    /// Leaves the key or list item entered last.
    pub(crate) fn leave(&mut self) {
        self.path.pop();
    }

    /// Starts a nested block for the value of the key at `line`: checks that there is no
    /// value on that line and that nested lines follow. On a problem, records it, skips the
    /// nested lines and returns false.
    pub(crate) fn begin_block(&mut self, inline: &str, line: usize, depth: usize) -> bool {
        if !inline.is_empty() {
            self.error(Some(line), ErrorKind::ExpectedBlock { value: inline.to_string() });
            self.skip_nested(depth);
            return false;
        }
        if self.lines.get(self.pos).is_none_or(|l| l.indent < depth) {
            self.error(Some(line), ErrorKind::EmptyBlock);
            return false;
        }
        true
    }

    /// Skips lines indented to `depth` or deeper.
    fn skip_nested(&mut self, depth: usize) {
        while self.lines.get(self.pos).is_some_and(|l| l.indent >= depth) {
            self.pos += 1;
        }
    }

    /// The next `Key: value` line of the block at `depth`, or `None` at its end. Malformed
    /// lines and duplicate keys are recorded as problems and skipped with their nested lines.
    pub(crate) fn next_entry(&mut self, depth: usize, seen: &mut Vec<String>) -> Option<Entry<'a>> {
        loop {
            let line = *self.lines.get(self.pos)?;
            if line.indent < depth {
                return None;
            }
            self.pos += 1;
            if line.indent > depth {
                self.error(Some(line.number), ErrorKind::UnexpectedIndent);
                self.skip_nested(depth + 1);
                continue;
            }
            let Some((key, rest)) = line.text.split_once(':') else {
                self.error(
                    Some(line.number),
                    ErrorKind::MissingColon { line: line.text.to_string() },
                );
                self.skip_nested(depth + 1);
                continue;
            };
            let problem = if key.is_empty() {
                Some(ErrorKind::EmptyKey)
            } else if key.starts_with([' ', '\t']) || key.ends_with([' ', '\t']) {
                Some(ErrorKind::SpaceInKey { key: key.to_string() })
            } else if !rest.is_empty() && !rest.starts_with(' ') {
                Some(ErrorKind::MissingSpaceAfterColon)
            } else if seen.iter().any(|k| k == key) {
                Some(ErrorKind::DuplicateKey { key: key.to_string() })
            } else {
                None
            };
            if let Some(kind) = problem {
                if key.is_empty() {
                    self.error(Some(line.number), kind);
                } else {
                    self.error_at_key(key, Some(line.number), kind);
                }
                self.skip_nested(depth + 1);
                continue;
            }
            seen.push(key.to_string());
            let inline = rest.strip_prefix(' ').unwrap_or(rest);
            return Some(Entry { key, inline, line: line.number });
        }
    }

    /// Records an unknown key and skips its nested lines.
    pub(crate) fn unknown_key(&mut self, entry: &Entry<'_>, depth: usize) {
        self.error_at_key(
            entry.key,
            Some(entry.line),
            ErrorKind::UnknownKey { key: entry.key.to_string() },
        );
        self.skip_nested(depth + 1);
    }

    /// Records a missing required key of the struct at `line`.
    pub(crate) fn missing_key(&mut self, key: &str, line: Option<usize>) {
        self.error_at_key(key, line, ErrorKind::MissingKey { key: key.to_string() });
    }

    /// The next `- value` item of the list at `depth`: its value and line.
    fn next_item(&mut self, depth: usize) -> Option<(&'a str, usize)> {
        loop {
            let line = *self.lines.get(self.pos)?;
            if line.indent < depth {
                return None;
            }
            self.pos += 1;
            if line.indent > depth {
                self.error(Some(line.number), ErrorKind::UnexpectedIndent);
                self.skip_nested(depth + 1);
                continue;
            }
            let Some(rest) = line.text.strip_prefix('-') else {
                self.error(
                    Some(line.number),
                    ErrorKind::ExpectedListItem { line: line.text.to_string() },
                );
                self.skip_nested(depth + 1);
                continue;
            };
            if rest.is_empty() {
                return Some(("", line.number));
            }
            match rest.strip_prefix(' ') {
                Some(value) => return Some((value, line.number)),
                None => {
                    self.error(Some(line.number), ErrorKind::MissingSpaceAfterDash);
                    self.skip_nested(depth + 1);
                }
            }
        }
    }
}

/// A type that an sconf value reads into and writes from.
pub(crate) trait Value: Default {
    /// Reads the value whose key (or `-`) is on `line`: `inline` is the text after `": "` (or
    /// `"- "`) on that line, nested lines are at `depth`. On a problem, records it and returns
    /// what it could (the default value for a malformed scalar).
    fn parse(p: &mut Parser<'_>, inline: &str, line: usize, depth: usize) -> Self;

    /// Writes the value, starting right after `"Key:"` or `"-"`: a scalar as `" value\n"`, a
    /// block as `"\n"` and its nested lines.
    fn write(&self, w: &mut Writer);

    /// Whether this is the zero value, which is not written for an optional key.
    fn is_zero(&self) -> bool;

    /// Writes the value even if it is zero in a form that reads back as present (for an
    /// optional pointer-like value: a struct whose fields are all zero writes its first field).
    fn write_forced(&self, w: &mut Writer) {
        self.write(w);
    }

    /// Whether, as a map value, this is written as `nil` (a struct whose fields are all
    /// optional and zero).
    fn is_nil(&self) -> bool {
        false
    }
}

/// A struct whose fields are keys, generated by [`sconf_struct!`].
pub(crate) trait Struct: Value {
    /// Reads the fields of a block at `depth` whose key is on `line` (`None` at the top).
    fn parse_fields(p: &mut Parser<'_>, depth: usize, line: Option<usize>) -> Self;
    /// Writes the fields at the writer's depth.
    fn write_fields(&self, w: &mut Writer);
}

/// Optional values whose presence matters even when zero (Go pointers in mox's structs, such
/// as `FirstTimeSenderDelay: 0s` or a transport's `Direct:`).
pub(crate) trait Present {
    fn parse_present(p: &mut Parser<'_>, inline: &str, line: usize, depth: usize) -> Self;
    fn write_present(&self, w: &mut Writer);
}

impl<T: Value> Present for Option<T> {
    fn parse_present(p: &mut Parser<'_>, inline: &str, line: usize, depth: usize) -> Self {
        Some(T::parse(p, inline, line, depth))
    }

    fn write_present(&self, w: &mut Writer) {
        match self {
            Some(v) => v.write_forced(w),
            None => T::default().write_forced(w),
        }
    }
}

/// Writes typed values as an sconf file.
#[derive(Debug)]
pub(crate) struct Writer {
    out: String,
    depth: usize,
    /// Describe mode: write zero values and an example entry for empty maps and lists.
    keep_zero: bool,
    /// Write the documentation of each key as comments.
    docs: bool,
    /// Set by `write_forced`: the next optional key is written even if zero.
    force: bool,
    path: Vec<Segment>,
    error: Option<WriteError>,
    /// When set, the path of every key written, and of every scalar with its value.
    written: Option<Vec<(Vec<Segment>, Option<String>)>>,
}

/// The keys a configuration sets (non-zero values), each with its scalar value if it has one;
/// with `all`, every key there is (as describe writes them, `x` for map keys).
pub(crate) fn set_keys<T: Struct>(value: &T, all: bool) -> Vec<(Vec<Segment>, Option<String>)> {
    let mut w = Writer::new(all);
    w.docs = false;
    w.written = Some(Vec::new());
    value.write_fields(&mut w);
    w.written.unwrap_or_default()
}

impl Writer {
    /// A writer for a config file (no zero values, no comments), or, with `describe`, for an
    /// annotated example (every key, with comments).
    pub(crate) fn new(describe: bool) -> Writer {
        Writer {
            out: String::new(),
            depth: 0,
            keep_zero: describe,
            docs: describe,
            force: false,
            path: Vec::new(),
            error: None,
            written: None,
        }
    }

    /// Writes a whole file from a top-level struct.
    pub(crate) fn write_file<T: Struct>(mut self, value: &T) -> Result<String, WriteError> {
        value.write_fields(&mut self);
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.out),
        }
    }

    pub(crate) fn keep_zero(&self) -> bool {
        self.keep_zero
    }

    /// Takes the flag set by `write_forced`.
    pub(crate) fn take_force(&mut self) -> bool {
        std::mem::take(&mut self.force)
    }

    pub(crate) fn set_force(&mut self) {
        self.force = true;
    }

    fn fail(&mut self, make: impl FnOnce(String) -> WriteError) {
        if self.error.is_none() {
            self.error = Some(make(KeyPath::render(&self.path)));
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push('\t');
        }
    }

    /// Writes one struct field: its documentation (in describe mode), its key, and its value.
    pub(crate) fn field(
        &mut self,
        key: &str,
        doc: &str,
        optional: bool,
        write: impl FnOnce(&mut Writer),
    ) {
        if self.docs && (!doc.is_empty() || optional) {
            self.comment(doc, optional);
        }
        self.indent();
        self.out.push_str(key);
        self.out.push(':');
        self.path.push(Segment::Key(key.to_string()));
        if let Some(written) = &mut self.written {
            written.push((self.path.clone(), None));
        }
        write(self);
        self.path.pop();
    }

    fn comment(&mut self, doc: &str, optional: bool) {
        let prefix = "\t".repeat(self.depth);
        // A blank line before each comment, except at the start of the file. Sections of the
        // documentation separated by two blank lines stay separated by blank lines.
        let mut text = if self.out.is_empty() { String::new() } else { "\n".to_string() };
        for (si, section) in doc.split("\n\n\n").enumerate() {
            if si > 0 {
                text.push_str("\n\n\n");
            }
            for (li, line) in section.split('\n').enumerate() {
                if li > 0 {
                    text.push('\n');
                }
                text.push_str(&prefix);
                text.push('#');
                if !line.is_empty() {
                    text.push(' ');
                    text.push_str(line);
                }
            }
        }
        if optional {
            if !doc.ends_with(' ') {
                text.push(' ');
            }
            text.push_str("(optional)");
        }
        text.push('\n');
        self.out.push_str(&wrap::format(&text));
    }

    /// Writes a scalar after its key: `" value\n"`.
    pub(crate) fn scalar(&mut self, text: &str) {
        if let Some(written) = &mut self.written {
            written.push((self.path.clone(), Some(text.to_string())));
        }
        if text.contains('\n') {
            self.fail(|path| WriteError::MultilineValue { path, value: text.to_string() });
        }
        self.out.push(' ');
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// Starts a nested block after its key.
    pub(crate) fn begin_block(&mut self) {
        self.out.push('\n');
        self.depth += 1;
    }

    /// Ends a nested block.
    pub(crate) fn end_block(&mut self) {
        self.depth -= 1;
    }
}

// Scalars.

impl Value for String {
    fn parse(_: &mut Parser<'_>, inline: &str, _: usize, _: usize) -> Self {
        inline.to_string()
    }
    fn write(&self, w: &mut Writer) {
        w.scalar(self);
    }
    fn is_zero(&self) -> bool {
        self.is_empty()
    }
}

impl Value for bool {
    fn parse(p: &mut Parser<'_>, inline: &str, line: usize, _: usize) -> Self {
        match inline {
            "true" => true,
            "false" => false,
            _ => {
                p.error(Some(line), invalid(inline, "true or false"));
                false
            }
        }
    }
    fn write(&self, w: &mut Writer) {
        w.scalar(if *self { "true" } else { "false" });
    }
    fn is_zero(&self) -> bool {
        !*self
    }
}

impl Value for i64 {
    fn parse(p: &mut Parser<'_>, inline: &str, line: usize, _: usize) -> Self {
        inline.parse().unwrap_or_else(|_| {
            p.error(Some(line), invalid(inline, "a number"));
            0
        })
    }
    fn write(&self, w: &mut Writer) {
        w.scalar(&self.to_string());
    }
    fn is_zero(&self) -> bool {
        *self == 0
    }
}

impl Value for u16 {
    fn parse(p: &mut Parser<'_>, inline: &str, line: usize, _: usize) -> Self {
        match inline.parse::<i64>() {
            Ok(n) => u16::try_from(n).unwrap_or_else(|_| {
                p.error(Some(line), invalid(inline, "a port number (0 to 65535)"));
                0
            }),
            Err(_) => {
                p.error(Some(line), invalid(inline, "a number"));
                0
            }
        }
    }
    fn write(&self, w: &mut Writer) {
        w.scalar(&self.to_string());
    }
    fn is_zero(&self) -> bool {
        *self == 0
    }
}

impl Value for f64 {
    fn parse(p: &mut Parser<'_>, inline: &str, line: usize, _: usize) -> Self {
        match inline.parse::<f64>() {
            Ok(x) if x.is_finite() => x,
            _ => {
                p.error(Some(line), invalid(inline, "a finite decimal number"));
                0.0
            }
        }
    }
    fn write(&self, w: &mut Writer) {
        // Go's %f, as mox writes; more digits only where six would lose the value.
        let fixed = format!("{self:.6}");
        if fixed.parse::<f64>() == Ok(*self) {
            w.scalar(&fixed);
        } else {
            w.scalar(&self.to_string());
        }
    }
    fn is_zero(&self) -> bool {
        *self == 0.0
    }
}

impl Value for Duration {
    fn parse(p: &mut Parser<'_>, inline: &str, line: usize, _: usize) -> Self {
        duration::parse(inline).unwrap_or_else(|e| {
            let expected = match e {
                duration::DurationError::Syntax => "a duration (such as 15s, 4h or 1h30m)",
                duration::DurationError::Negative => "a duration that is not negative",
                duration::DurationError::Overflow => "a duration of at most 2562047h",
            };
            p.error(Some(line), invalid(inline, expected));
            Duration::ZERO
        })
    }
    fn write(&self, w: &mut Writer) {
        w.scalar(&duration::format(*self));
    }
    fn is_zero(&self) -> bool {
        self.is_zero()
    }
}

pub(crate) fn invalid(value: &str, expected: &'static str) -> ErrorKind {
    ErrorKind::InvalidValue { value: value.to_string(), expected }
}

// Containers.

/// An optional value that is absent when zero, as mox's non-pointer optional fields are: a
/// key given with the zero value (`Port: 0`, `Description: `) reads as `None`.
impl<T: Value> Value for Option<T> {
    fn parse(p: &mut Parser<'_>, inline: &str, line: usize, depth: usize) -> Self {
        Some(T::parse(p, inline, line, depth)).filter(|v| !v.is_zero())
    }
    fn write(&self, w: &mut Writer) {
        match self {
            Some(v) => v.write(w),
            None => T::default().write(w),
        }
    }
    fn is_zero(&self) -> bool {
        self.as_ref().is_none_or(Value::is_zero)
    }
    fn write_forced(&self, w: &mut Writer) {
        match self {
            Some(v) => v.write_forced(w),
            None => T::default().write_forced(w),
        }
    }
}

impl<T: Value> Value for Vec<T> {
    fn parse(p: &mut Parser<'_>, inline: &str, line: usize, depth: usize) -> Self {
        let mut items = Vec::new();
        if !p.begin_block(inline, line, depth) {
            return items;
        }
        while let Some((value, item_line)) = p.next_item(depth) {
            p.enter_index(items.len() + 1, item_line);
            items.push(T::parse(p, value, item_line, depth + 1));
            p.leave();
        }
        items
    }

    fn write(&self, w: &mut Writer) {
        w.begin_block();
        let example = [T::default()];
        let items: &[T] = if self.is_empty() && w.keep_zero { &example } else { self };
        if items.is_empty() {
            w.fail(|path| WriteError::EmptyBlock { path });
        }
        for (i, item) in items.iter().enumerate() {
            w.indent();
            w.out.push('-');
            w.path.push(Segment::Index(i + 1));
            item.write(w);
            w.path.pop();
        }
        w.end_block();
    }

    fn is_zero(&self) -> bool {
        self.is_empty()
    }
}

impl<V: Value> Value for BTreeMap<String, V> {
    fn parse(p: &mut Parser<'_>, inline: &str, line: usize, depth: usize) -> Self {
        let mut map = BTreeMap::new();
        if !p.begin_block(inline, line, depth) {
            return map;
        }
        let mut seen = Vec::new();
        while let Some(entry) = p.next_entry(depth, &mut seen) {
            p.enter_key(entry.key, entry.line);
            // "nil" is the empty value; nested lines after it are reported by the next entry.
            let value = if entry.inline == "nil" {
                V::default()
            } else {
                V::parse(p, entry.inline, entry.line, depth + 1)
            };
            p.leave();
            map.insert(entry.key.to_string(), value);
        }
        map
    }

    fn write(&self, w: &mut Writer) {
        w.begin_block();
        if self.is_empty() {
            if w.keep_zero {
                w.indent();
                w.out.push_str("x:");
                w.path.push(Segment::Key("x".into()));
                V::default().write(w);
                w.path.pop();
            } else {
                w.fail(|path| WriteError::EmptyBlock { path });
            }
        }
        for (key, value) in self {
            let bad_key = key.is_empty()
                || key.contains([':', '\n'])
                || key.trim_start().starts_with('#')
                || key.starts_with([' ', '\t'])
                || key.ends_with([' ', '\t']);
            w.path.push(Segment::Key(key.clone()));
            if bad_key {
                w.fail(|path| WriteError::BadKey { path, key: key.clone() });
            }
            w.indent();
            w.out.push_str(key);
            w.out.push(':');
            if !w.keep_zero && value.is_nil() {
                w.out.push_str(" nil\n");
            } else {
                let start = w.out.len();
                value.write(w);
                if &w.out[start..] == " nil\n" {
                    w.fail(|path| WriteError::NilValue { path });
                }
            }
            w.path.pop();
        }
        w.end_block();
    }

    fn is_zero(&self) -> bool {
        self.is_empty()
    }
}

/// Declares a struct that is read from and written to sconf, with its keys, their
/// documentation (one source for the parser, `describe` and rustdoc) and whether each is
/// required (`req`), optional and absent when zero (`opt`), or optional and present even when
/// zero (`ptr`, an `Option` for mox's pointer fields). Fields after `derived` are not in the
/// file: they hold parsed forms that validation fills in.
macro_rules! sconf_struct {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $key:literal $field:ident : $ty:ty, $kind:ident, $doc:literal; )*
        }
        $( derived { $( $(#[$dmeta:meta])* $dfield:ident : $dty:ty = $dinit:expr; )* } )?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        $vis struct $name {
            $(
                #[doc = concat!("`", $key, "`")]
                #[doc = ""]
                // mox's text, as describe prints it (so rustdoc leaves its <...> alone).
                #[doc = "```text"]
                #[doc = $doc]
                #[doc = "```"]
                $vis $field: $ty,
            )*
            $( $( $(#[$dmeta])* $vis $dfield: $dty, )* )?
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    $( $field: Default::default(), )*
                    $( $( $dfield: $dinit, )* )?
                }
            }
        }

        impl $name {
            /// Whether every key is optional (so a zero value may be written as `nil`).
            const ALL_OPTIONAL: bool = true $( && !sconf_struct!(@required $kind) )*;
        }

        impl $crate::sconf::Struct for $name {
            fn parse_fields(
                p: &mut $crate::sconf::Parser<'_>,
                depth: usize,
                line: Option<usize>,
            ) -> Self {
                let mut value = Self::default();
                let mut seen: Vec<String> = Vec::new();
                while let Some(entry) = p.next_entry(depth, &mut seen) {
                    match entry.key {
                        $(
                            $key => {
                                p.enter_key(entry.key, entry.line);
                                value.$field = sconf_struct!(@parse $kind, $ty, p, entry, depth);
                                p.leave();
                            }
                        )*
                        _ => p.unknown_key(&entry, depth),
                    }
                }
                $(
                    if sconf_struct!(@required $kind) && !seen.iter().any(|k| k == $key) {
                        p.missing_key($key, line);
                    }
                )*
                value
            }

            fn write_fields(&self, w: &mut $crate::sconf::Writer) {
                $( sconf_struct!(@write $kind, $ty, w, $key, $doc, self.$field); )*
            }
        }

        impl $crate::sconf::Value for $name {
            fn parse(
                p: &mut $crate::sconf::Parser<'_>,
                inline: &str,
                line: usize,
                depth: usize,
            ) -> Self {
                if !p.begin_block(inline, line, depth) {
                    return Self::default();
                }
                <Self as $crate::sconf::Struct>::parse_fields(p, depth, Some(line))
            }

            fn write(&self, w: &mut $crate::sconf::Writer) {
                w.begin_block();
                <Self as $crate::sconf::Struct>::write_fields(self, w);
                w.end_block();
            }

            fn is_zero(&self) -> bool {
                true $( && sconf_struct!(@is_zero $kind, self.$field) )*
            }

            fn write_forced(&self, w: &mut $crate::sconf::Writer) {
                if Self::ALL_OPTIONAL && $crate::sconf::Value::is_zero(self) {
                    w.set_force();
                }
                $crate::sconf::Value::write(self, w);
            }

            fn is_nil(&self) -> bool {
                Self::ALL_OPTIONAL && $crate::sconf::Value::is_zero(self)
            }
        }
    };

    (@required req) => { true };
    (@required opt) => { false };
    (@required ptr) => { false };

    (@parse req, $ty:ty, $p:ident, $entry:ident, $depth:ident) => {
        <$ty as $crate::sconf::Value>::parse($p, $entry.inline, $entry.line, $depth + 1)
    };
    (@parse opt, $ty:ty, $p:ident, $entry:ident, $depth:ident) => {
        <$ty as $crate::sconf::Value>::parse($p, $entry.inline, $entry.line, $depth + 1)
    };
    (@parse ptr, $ty:ty, $p:ident, $entry:ident, $depth:ident) => {
        <$ty as $crate::sconf::Present>::parse_present($p, $entry.inline, $entry.line, $depth + 1)
    };

    (@is_zero req, $v:expr) => { $crate::sconf::Value::is_zero(&$v) };
    (@is_zero opt, $v:expr) => { $crate::sconf::Value::is_zero(&$v) };
    (@is_zero ptr, $v:expr) => { $v.is_none() };

    (@write req, $ty:ty, $w:ident, $key:literal, $doc:literal, $v:expr) => {
        $w.field($key, $doc, false, |w| $crate::sconf::Value::write(&$v, w));
    };
    (@write opt, $ty:ty, $w:ident, $key:literal, $doc:literal, $v:expr) => {
        if $w.keep_zero() || !$crate::sconf::Value::is_zero(&$v) {
            $w.field($key, $doc, true, |w| $crate::sconf::Value::write(&$v, w));
        } else if $w.take_force() {
            $w.field($key, $doc, true, |w| $crate::sconf::Value::write_forced(&$v, w));
        }
    };
    (@write ptr, $ty:ty, $w:ident, $key:literal, $doc:literal, $v:expr) => {
        if $w.keep_zero() || $v.is_some() || $w.take_force() {
            $w.field($key, $doc, true, |w| $crate::sconf::Present::write_present(&$v, w));
        }
    };
}

pub(crate) use sconf_struct;

#[cfg(test)]
mod tests;
