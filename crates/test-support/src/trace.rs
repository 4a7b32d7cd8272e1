//! Reading the output of `strace -f -ttt -y -xx` into the file-system events that matter for
//! durability: data written, flushes, names created, renamed and removed.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// A parsed strace output: the completed, successful calls that write data, flush it, or
/// create, rename or remove names, in the order strace saw them start.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    events: Vec<Event>,
    lines: usize,
}

/// One successful system call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Line of the trace where the call started (1-based), for messages.
    pub line: usize,
    /// Thread that made the call.
    pub tid: u32,
    /// When the call started, as strace printed it (seconds since the epoch).
    pub time: String,
    /// Where the call started and where it completed, as positions in the trace (line
    /// numbers). strace prints a call's start before the kernel runs it and its completion
    /// after, so a call that completed at position `p` happened before any call that started
    /// after `p`.
    pub start: usize,
    /// See [`Event::start`].
    pub end: usize,
    /// What the call did.
    pub call: Call,
}

/// What a system call did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Call {
    /// Data written or changed: `write`, `pwrite64`, `writev`, `pwritev`, `pwritev2`, `sendto`,
    /// `sendmsg`, `sendmmsg`, `sendfile`, `copy_file_range`, `ftruncate`, `fallocate`,
    /// `truncate`, and `open` with `O_TRUNC`.
    Write(Write),
    /// `fsync` or `fdatasync`: the target's data (and, for a directory, its entries) on disk.
    Flush {
        /// What was flushed.
        target: Target,
    },
    /// `sync` or `syncfs`: everything (on the file system) on disk.
    FlushAll,
    /// A name created: `open`/`openat`/`openat2` with `O_CREAT`, `creat`, `mkdir`, `mkdirat`,
    /// `link`, `linkat`, `symlink`, `symlinkat`, `mknod`, `mknodat`.
    Create {
        /// The new name.
        path: PathBuf,
        /// Whether the call fails if the name exists (`O_EXCL`, `mkdir`, ...), so the name is
        /// certainly new. An `O_CREAT` open without `O_EXCL` may have opened an existing file.
        exclusive: bool,
    },
    /// `rename`, `renameat`, `renameat2`.
    Rename {
        /// The old name.
        from: PathBuf,
        /// The new name.
        to: PathBuf,
    },
    /// `unlink`, `unlinkat`, `rmdir`.
    Remove {
        /// The name removed.
        path: PathBuf,
    },
}

/// Data written to a file or socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    /// Where it went.
    pub target: Target,
    /// The system call.
    pub syscall: String,
    /// The data, as far as strace showed it (`-s` limits it; see [`Write::complete`]).
    pub data: Vec<u8>,
    /// Whether [`Write::data`] is everything written.
    pub complete: bool,
    /// Bytes written (the return value).
    pub len: u64,
    /// The file offset, for `pwrite64`, `pwritev` and `pwritev2`.
    pub offset: Option<u64>,
    /// Whether the write was synchronous: on a descriptor opened with `O_SYNC` or `O_DSYNC`, or
    /// a `pwritev2` with `RWF_SYNC` or `RWF_DSYNC`. Such a write is on disk when it returns.
    pub synchronous: bool,
}

/// What a file descriptor referred to, as `strace -y` showed it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A file or directory.
    File(PathBuf),
    /// Anything else: `socket:[1234]`, `pipe:[5678]`, a deleted file, or a descriptor strace
    /// did not resolve.
    Other(String),
}

impl Target {
    /// The path, for a file or directory.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Target::File(p) => Some(p),
            Target::Other(_) => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::File(p) => write!(f, "{}", p.display()),
            Target::Other(s) => f.write_str(s),
        }
    }
}

/// A trace that could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum TraceError {
    /// Reading the trace file failed.
    Io {
        /// The trace file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A call this module interprets was printed in a form it does not understand; ignoring it
    /// could hide a write or miss a flush, so this is an error.
    Syntax {
        /// Line of the trace (1-based).
        line: usize,
        /// What was expected.
        problem: &'static str,
        /// The line.
        text: String,
    },
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::Io { path, source } => {
                write!(f, "reading trace {}: {source}", path.display())
            }
            TraceError::Syntax { line, problem, text } => {
                write!(f, "trace line {line}: {problem}: {text}")
            }
        }
    }
}

impl std::error::Error for TraceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TraceError::Io { source, .. } => Some(source),
            TraceError::Syntax { .. } => None,
        }
    }
}

impl Trace {
    /// Reads a trace file written by `strace -o`; `cwd` is the traced program's working
    /// directory, for relative paths of calls without a directory descriptor.
    pub fn read(path: &Path, cwd: &Path) -> Result<Trace, TraceError> {
        let text = fs::read_to_string(path)
            .map_err(|source| TraceError::Io { path: path.to_path_buf(), source })?;
        Trace::parse(&text, cwd)
    }

    /// Parses strace output (from `strace -f -ttt -y -xx`; see
    /// [`Strace`](crate::Strace) for the exact options). Calls that failed, were injected by
    /// strace (`(INJECTED)`) or never completed (the process was killed) are left out.
    pub fn parse(text: &str, cwd: &Path) -> Result<Trace, TraceError> {
        let mut parser = Parser {
            cwd: cwd.to_path_buf(),
            synchronous_fds: HashSet::new(),
            pending: HashMap::new(),
            events: Vec::new(),
        };
        let mut lines = 0;
        for (i, line) in text.lines().enumerate() {
            lines = i + 1;
            parser.line(i + 1, line)?;
        }
        let mut events = parser.events;
        events.sort_by_key(|e| e.start);
        Ok(Trace { events, lines })
    }

    /// The events, in the order the calls started.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Lines in the trace (all of them, also those of calls not kept as events).
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// Writes to `path` (as an index into [`Trace::events`] and the write), in order.
    pub fn writes_to<'a>(&'a self, path: &'a Path) -> impl Iterator<Item = (usize, &'a Write)> {
        self.events.iter().enumerate().filter_map(move |(i, e)| match &e.call {
            Call::Write(w) if w.target.path() == Some(path) => Some((i, w)),
            _ => None,
        })
    }

    /// The lines written to `path` (a file the traced program appends acknowledgements to, one
    /// line per write call), each with the index of its write in [`Trace::events`]. Errors if
    /// a write's data was cut short by strace's string limit.
    pub fn lines_written_to(&self, path: &Path) -> Result<Vec<(usize, String)>, String> {
        let mut out = Vec::new();
        for (i, w) in self.writes_to(path) {
            if !w.complete {
                return Err(format!(
                    "trace line {}: write to {} longer than strace's string limit",
                    self.events[i].line,
                    path.display()
                ));
            }
            for l in String::from_utf8_lossy(&w.data).lines() {
                out.push((i, l.to_string()));
            }
        }
        Ok(out)
    }
}

struct Parser {
    cwd: PathBuf,
    /// Descriptors opened with O_SYNC or O_DSYNC (with the path, as descriptor numbers are
    /// reused).
    synchronous_fds: HashSet<(i64, PathBuf)>,
    /// Calls started and not completed yet, per thread: the text so far, its line and time.
    pending: HashMap<u32, (String, usize, String)>,
    events: Vec<Event>,
}

/// A complete call: name, arguments (top-level split) and return value text.
struct Parsed<'a> {
    name: &'a str,
    args: Vec<&'a str>,
    ret: &'a str,
}

impl Parser {
    fn line(&mut self, n: usize, line: &str) -> Result<(), TraceError> {
        let (tid, time, rest) = split_prefix(line);
        if rest.starts_with("---") || rest.starts_with("+++") || rest.is_empty() {
            return Ok(());
        }
        if let Some(resumed) = rest.strip_prefix("<... ") {
            // "<... fsync resumed>) = 0"
            let Some((_, after)) = resumed.split_once(" resumed>") else {
                return Err(syntax(n, "a resumed call", line));
            };
            let Some((text, start, start_time)) = self.pending.remove(&tid) else {
                return Ok(()); // Started before the trace did.
            };
            let full = format!("{text}{after}");
            return self.call(n, line, start, n, tid, &start_time, &full);
        }
        if let Some(text) = rest.strip_suffix(" <unfinished ...>") {
            self.pending.insert(tid, (text.to_string(), n, time.to_string()));
            return Ok(());
        }
        self.call(n, line, n, n, tid, time, rest)
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        n: usize,
        line: &str,
        start: usize,
        end: usize,
        tid: u32,
        time: &str,
        text: &str,
    ) -> Result<(), TraceError> {
        let Some(open) = text.find('(') else { return Ok(()) };
        let name = &text[..open];
        if !INTERPRETED.contains(&name) {
            return Ok(());
        }
        let Some(parsed) = parse_call(name, &text[open + 1..]) else {
            return Err(syntax(n, "a call with arguments and a return value", line));
        };
        if parsed.ret.starts_with('-') || parsed.ret.starts_with('?') {
            return Ok(()); // Failed, or did not return (the process died).
        }
        if text.contains("(INJECTED)") {
            return Ok(()); // Not run: strace made it up.
        }
        let bad = |problem| syntax(n, problem, line);
        let call = match self.interpret(&parsed) {
            Ok(Some(call)) => call,
            Ok(None) => return Ok(()),
            Err(problem) => return Err(bad(problem)),
        };
        self.events.push(Event { line: start, tid, time: time.to_string(), start, end, call });
        Ok(())
    }

    fn interpret(&mut self, c: &Parsed<'_>) -> Result<Option<Call>, &'static str> {
        let arg = |i: usize| c.args.get(i).copied().ok_or("an argument missing");
        // A descriptor argument with its -y annotation.
        let target = |i: usize| -> Result<(i64, Target), &'static str> { descriptor(arg(i)?) };
        let number = |i: usize| -> Result<u64, &'static str> {
            arg(i)?.trim().parse::<u64>().map_err(|_| "a number")
        };
        let ret_number = || -> Result<u64, &'static str> {
            c.ret.split(['<', ' ']).next().unwrap_or("").parse::<u64>().map_err(|_| "a result")
        };
        let call = match c.name {
            "write" | "sendto" => {
                let (fd, target) = target(0)?;
                let (data, complete) = quoted(arg(1)?)?;
                self.write(fd, target, c.name, data, complete, ret_number()?, None, false)
            }
            "pwrite64" => {
                let (fd, target) = target(0)?;
                let (data, complete) = quoted(arg(1)?)?;
                let offset = number(3)?;
                self.write(fd, target, c.name, data, complete, ret_number()?, Some(offset), false)
            }
            "writev" | "sendmsg" | "sendmmsg" => {
                let (fd, target) = target(0)?;
                let (data, complete) = iov_data(arg(1)?)?;
                self.write(fd, target, c.name, data, complete, ret_number()?, None, false)
            }
            "pwritev" | "pwritev2" => {
                let (fd, target) = target(0)?;
                let (data, complete) = iov_data(arg(1)?)?;
                let offset = number(3)?;
                let sync_flag = c.name == "pwritev2"
                    && arg(4).is_ok_and(|f| f.contains("RWF_SYNC") || f.contains("RWF_DSYNC"));
                let len = ret_number()?;
                self.write(fd, target, c.name, data, complete, len, Some(offset), sync_flag)
            }
            "sendfile" | "ftruncate" | "fallocate" => {
                let (fd, target) = target(0)?;
                self.write(fd, target, c.name, Vec::new(), false, 0, None, false)
            }
            "copy_file_range" => {
                let (fd, target) = target(2)?;
                self.write(fd, target, c.name, Vec::new(), false, 0, None, false)
            }
            "truncate" => {
                let path = self.resolve(None, arg(0)?)?;
                Some(Call::Write(Write {
                    target: Target::File(path),
                    syscall: c.name.into(),
                    data: Vec::new(),
                    complete: false,
                    len: 0,
                    offset: None,
                    synchronous: false,
                }))
            }
            "fsync" | "fdatasync" => Some(Call::Flush { target: target(0)?.1 }),
            "sync" | "syncfs" => Some(Call::FlushAll),
            "open" | "creat" => {
                let flags = if c.name == "creat" { "O_CREAT|O_WRONLY|O_TRUNC" } else { arg(1)? };
                let path = self.resolve(None, arg(0)?)?;
                self.open(path, flags, c.ret)?
            }
            "openat" | "openat2" => {
                let dir = target(0)?;
                let path = self.resolve(Some(&dir), arg(1)?)?;
                self.open(path, arg(2)?, c.ret)?
            }
            "mkdir" | "mknod" => {
                Some(Call::Create { path: self.resolve(None, arg(0)?)?, exclusive: true })
            }
            "mkdirat" | "mknodat" => {
                let dir = target(0)?;
                Some(Call::Create { path: self.resolve(Some(&dir), arg(1)?)?, exclusive: true })
            }
            "link" | "symlink" => {
                Some(Call::Create { path: self.resolve(None, arg(1)?)?, exclusive: true })
            }
            "linkat" => {
                let dir = target(2)?;
                Some(Call::Create { path: self.resolve(Some(&dir), arg(3)?)?, exclusive: true })
            }
            "symlinkat" => {
                let dir = target(1)?;
                Some(Call::Create { path: self.resolve(Some(&dir), arg(2)?)?, exclusive: true })
            }
            "rename" => Some(Call::Rename {
                from: self.resolve(None, arg(0)?)?,
                to: self.resolve(None, arg(1)?)?,
            }),
            "renameat" | "renameat2" => {
                let (from_dir, to_dir) = (target(0)?, target(2)?);
                Some(Call::Rename {
                    from: self.resolve(Some(&from_dir), arg(1)?)?,
                    to: self.resolve(Some(&to_dir), arg(3)?)?,
                })
            }
            "unlink" | "rmdir" => Some(Call::Remove { path: self.resolve(None, arg(0)?)? }),
            "unlinkat" => {
                let dir = target(0)?;
                Some(Call::Remove { path: self.resolve(Some(&dir), arg(1)?)? })
            }
            "close" => {
                let (fd, target) = target(0)?;
                if let Target::File(p) = target {
                    self.synchronous_fds.remove(&(fd, p));
                }
                None
            }
            "dup" | "dup2" | "dup3" | "fcntl" => {
                if c.name == "fcntl" && !arg(1)?.starts_with("F_DUPFD") {
                    return Ok(None);
                }
                let (old, target) = target(0)?;
                let (new, _) = descriptor(c.ret)?;
                if let Target::File(p) = target
                    && self.synchronous_fds.contains(&(old, p.clone()))
                {
                    self.synchronous_fds.insert((new, p));
                }
                None
            }
            _ => None,
        };
        Ok(call)
    }

    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        fd: i64,
        target: Target,
        syscall: &str,
        data: Vec<u8>,
        complete: bool,
        len: u64,
        offset: Option<u64>,
        sync_flag: bool,
    ) -> Option<Call> {
        let synchronous = sync_flag
            || matches!(&target, Target::File(p) if self.synchronous_fds.contains(&(fd, p.clone())));
        let complete = complete && data.len() as u64 == len;
        Some(Call::Write(Write {
            target,
            syscall: syscall.to_string(),
            data,
            complete,
            len,
            offset,
            synchronous,
        }))
    }

    /// An open: a name created with O_CREAT, data cut with O_TRUNC, a synchronous descriptor
    /// with O_SYNC/O_DSYNC.
    fn open(
        &mut self,
        path: PathBuf,
        flags: &str,
        ret: &str,
    ) -> Result<Option<Call>, &'static str> {
        let (fd, opened) = descriptor(ret)?;
        // The resolved path of the new descriptor is the better name (symlinks resolved).
        let path = match opened {
            Target::File(p) => p,
            Target::Other(_) => path,
        };
        let has = |flag: &str| flags.split(['|', '{', '}', ',', ' ', '=']).any(|f| f == flag);
        if has("O_SYNC") || has("O_DSYNC") {
            self.synchronous_fds.insert((fd, path.clone()));
        } else {
            self.synchronous_fds.remove(&(fd, path.clone()));
        }
        if has("O_CREAT") {
            return Ok(Some(Call::Create { path, exclusive: has("O_EXCL") }));
        }
        if has("O_TRUNC") {
            return Ok(Some(Call::Write(Write {
                target: Target::File(path),
                syscall: "open O_TRUNC".into(),
                data: Vec::new(),
                complete: false,
                len: 0,
                offset: None,
                synchronous: false,
            })));
        }
        Ok(None)
    }

    /// The absolute path for a path argument, relative to a directory descriptor's target or,
    /// without one, to the working directory (the latest `AT_FDCWD<...>` seen, which strace
    /// annotates, or the one the program started in).
    fn resolve(&mut self, dir: Option<&(i64, Target)>, arg: &str) -> Result<PathBuf, &'static str> {
        let (bytes, complete) = quoted(arg)?;
        if !complete {
            return Err("a path longer than strace's string limit");
        }
        let path = path_from(bytes);
        if path.is_absolute() {
            return Ok(normalize(&path));
        }
        let base = match dir {
            Some((fd, Target::File(d))) => {
                if *fd == AT_FDCWD {
                    self.cwd = d.clone();
                }
                d.clone()
            }
            Some((_, Target::Other(_))) => return Err("a directory descriptor strace resolved"),
            None => self.cwd.clone(),
        };
        Ok(normalize(&base.join(path)))
    }
}

/// The descriptor number standing for `AT_FDCWD` (the working directory).
const AT_FDCWD: i64 = -100;

/// System calls turned into events (or tracked for descriptor state).
const INTERPRETED: &[&str] = &[
    "write",
    "pwrite64",
    "writev",
    "pwritev",
    "pwritev2",
    "sendto",
    "sendmsg",
    "sendmmsg",
    "sendfile",
    "copy_file_range",
    "ftruncate",
    "fallocate",
    "truncate",
    "fsync",
    "fdatasync",
    "sync",
    "syncfs",
    "open",
    "creat",
    "openat",
    "openat2",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "rmdir",
    "close",
    "dup",
    "dup2",
    "dup3",
    "fcntl",
];

/// The system calls to trace for [`Trace`]: [`INTERPRETED`], each marked `?` so a name the
/// architecture lacks (`open`, `mkdir`, ... on arm64) is no error.
pub(crate) fn trace_expression() -> String {
    let names: Vec<String> = INTERPRETED.iter().map(|n| format!("?{n}")).collect();
    format!("trace={}", names.join(","))
}

fn syntax(line: usize, problem: &'static str, text: &str) -> TraceError {
    TraceError::Syntax { line, problem, text: text.to_string() }
}

/// Splits "PID TIME rest" or "[pid PID] TIME rest" (or "TIME rest" from a single process).
fn split_prefix(line: &str) -> (u32, &str, &str) {
    let mut rest = line.trim_start();
    let mut tid = 0;
    if let Some(r) = rest.strip_prefix("[pid") {
        let r = r.trim_start();
        let end = r.find(']').unwrap_or(r.len());
        tid = r[..end].trim().parse().unwrap_or(0);
        rest = r[end..].trim_start_matches(']').trim_start();
    } else if let Some((first, r)) = rest.split_once(char::is_whitespace)
        && !first.contains('.')
        && let Ok(t) = first.parse()
    {
        tid = t;
        rest = r.trim_start();
    }
    let mut time = "";
    if let Some((first, r)) = rest.split_once(' ')
        && first.contains('.')
        && first.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b':')
    {
        time = first;
        rest = r;
    }
    (tid, time, rest)
}

/// Splits the text after `name(` into top-level arguments and the return value.
fn parse_call<'a>(name: &'a str, text: &'a str) -> Option<Parsed<'a>> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut args = Vec::new();
    let mut arg_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'(' | b'[' | b'{' | b'<' => depth += 1,
                b']' | b'}' | b'>' => depth = depth.saturating_sub(1),
                b',' if depth == 0 => {
                    args.push(text[arg_start..i].trim());
                    arg_start = i + 1;
                }
                b')' if depth == 0 => {
                    let last = text[arg_start..i].trim();
                    if !last.is_empty() || !args.is_empty() {
                        args.push(last);
                    }
                    let ret = text[i + 1..].trim_start().strip_prefix('=')?.trim_start();
                    return Some(Parsed { name, args, ret });
                }
                b')' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// A descriptor argument or result: `5</path>` (strace -y), `AT_FDCWD</path>`, `5`.
fn descriptor(arg: &str) -> Result<(i64, Target), &'static str> {
    let arg = arg.trim();
    let (number, annotation) = match arg.find('<') {
        Some(i) => {
            // The last `>`: a socket's addresses (strace -yy) hold one, as in
            // `5<TCP:[127.0.0.1:25->127.0.0.1:40000]>`; a path's `>` is escaped (-xx).
            let inner = arg[i + 1..].rsplit_once('>').map(|(a, _)| a).ok_or("a closed <...>")?;
            (&arg[..i], Some(inner))
        }
        None => (arg.split(' ').next().unwrap_or(arg), None),
    };
    let fd =
        if number == "AT_FDCWD" { AT_FDCWD } else { number.parse().map_err(|_| "a descriptor")? };
    let target = match annotation {
        None => Target::Other(format!("fd {number}")),
        Some(a) => {
            let bytes = unescape(a.as_bytes());
            match bytes.first() {
                Some(b'/') => {
                    let text = String::from_utf8_lossy(&bytes);
                    if text.ends_with(" (deleted)") {
                        Target::Other(text.into_owned())
                    } else {
                        Target::File(path_from(bytes))
                    }
                }
                _ => Target::Other(String::from_utf8_lossy(&bytes).into_owned()),
            }
        }
    };
    Ok((fd, target))
}

/// A quoted string argument: its bytes, and whether strace printed all of it (no `...`).
fn quoted(arg: &str) -> Result<(Vec<u8>, bool), &'static str> {
    let arg = arg.trim();
    let inner = arg.strip_prefix('"').ok_or("a quoted string")?;
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => {
                let complete = !inner[i + 1..].starts_with("...");
                return Ok((unescape(&bytes[..i]), complete));
            }
            _ => i += 1,
        }
    }
    Err("a closed quoted string")
}

/// The data of an iovec array (`[{iov_base="...", iov_len=3}, ...]`) or a msghdr holding one.
fn iov_data(arg: &str) -> Result<(Vec<u8>, bool), &'static str> {
    let mut data = Vec::new();
    let mut complete = true;
    let mut rest = arg;
    while let Some(i) = rest.find("iov_base=") {
        rest = &rest[i + "iov_base=".len()..];
        let (d, c) = quoted(rest)?;
        data.extend_from_slice(&d);
        complete &= c;
        rest = &rest[1..];
    }
    // strace shows a limited number of array elements, then "...".
    if arg.contains("}, ...]") {
        complete = false;
    }
    Ok((data, complete))
}

/// Undoes strace's escapes: `\xNN` (-xx prints everything so), octal, and the C escapes.
fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() / 4 + 1);
    let mut i = 0;
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    while i < s.len() {
        if s[i] != b'\\' || i + 1 >= s.len() {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let e = s[i + 1];
        i += 2;
        match e {
            b'x' => {
                let mut v = 0u8;
                let mut n = 0;
                while n < 2 && i < s.len() && hex(s[i]).is_some() {
                    v = v.wrapping_mul(16).wrapping_add(hex(s[i]).unwrap_or(0));
                    i += 1;
                    n += 1;
                }
                out.push(v);
            }
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                let mut n = 1;
                while n < 3 && i < s.len() && (b'0'..=b'7').contains(&s[i]) {
                    v = v * 8 + u32::from(s[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push(v as u8);
            }
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'f' => out.push(0x0c),
            other => out.push(other),
        }
    }
    out
}

fn path_from(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

/// Removes `.` and resolves `..` lexically (strace's resolved paths have neither).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Trace {
        Trace::parse(text, Path::new("/start")).unwrap()
    }

    fn write_of(e: &Event) -> &Write {
        match &e.call {
            Call::Write(w) => w,
            other => panic!("not a write: {other:?}"),
        }
    }

    #[test]
    fn hex_strings_and_descriptor_paths() {
        // "/a b" and "hi\n" in strace -xx form.
        let t = parse(concat!(
            r#"7 1.5 pwrite64(3<\x2f\x61\x20\x62>, "\x68\x69\x0a", 3, 8192) = 3"#,
            "\n",
            r#"7 1.6 write(4<socket:[99]>, "250 ok\r\n"..., 10) = 10"#,
        ));
        assert_eq!(t.events().len(), 2);
        let w = write_of(&t.events()[0]);
        assert_eq!(w.target, Target::File("/a b".into()));
        assert_eq!(
            (w.data.as_slice(), w.complete, w.len, w.offset),
            (&b"hi\n"[..], true, 3, Some(8192))
        );
        assert_eq!(
            (t.events()[0].tid, t.events()[0].time.as_str(), t.events()[0].line),
            (7, "1.5", 1)
        );
        let w = write_of(&t.events()[1]);
        assert_eq!(w.target, Target::Other("socket:[99]".into()));
        assert_eq!((w.data.as_slice(), w.complete), (&b"250 ok\r\n"[..], false));
    }

    #[test]
    fn socket_addresses_from_strace_yy() {
        let t = parse(
            r#"7 1.5 sendto(5<TCP:[127.0.0.1:40849->127.0.0.1:43866]>, "\x32\x35\x30\x0d\x0a", 5, 0, NULL, 0) = 5"#,
        );
        let w = write_of(&t.events()[0]);
        assert_eq!(w.target, Target::Other("TCP:[127.0.0.1:40849->127.0.0.1:43866]".into()));
        assert_eq!(w.data, b"250\r\n");
    }

    #[test]
    fn unfinished_calls_complete_where_resumed() {
        let t = parse(
            "1 1.0 fsync(3</d> <unfinished ...>\n\
             2 1.1 write(4</f>, \"x\", 1 <unfinished ...>\n\
             1 1.2 <... fsync resumed>) = 0\n\
             2 1.3 <... write resumed>) = 1\n\
             3 1.4 fdatasync(5</g> <unfinished ...>\n",
        );
        // Ordered by start; the never-completed fdatasync is left out.
        assert_eq!(t.events().len(), 2);
        let (f, w) = (&t.events()[0], &t.events()[1]);
        assert_eq!((f.start, f.end, f.tid), (1, 3, 1));
        assert_eq!(f.call, Call::Flush { target: Target::File("/d".into()) });
        assert_eq!((w.start, w.end, w.tid), (2, 4, 2));
        assert_eq!(write_of(w).data, b"x");
    }

    #[test]
    fn failed_injected_and_unkept_calls_are_left_out() {
        let t = parse(
            "1 1.0 fsync(3</d>) = -1 EIO (Input/output error)\n\
             1 1.1 fdatasync(3</d>) = 0 (INJECTED)\n\
             1 1.2 write(3</d>, \"x\", 1) = ?\n\
             1 1.3 futex(0x7f, FUTEX_WAKE, 1) = 0\n\
             1 1.4 --- SIGCHLD {si_signo=SIGCHLD} ---\n\
             1 1.5 +++ exited with 0 +++\n",
        );
        assert!(t.events().is_empty(), "{:?}", t.events());
        assert_eq!(t.lines(), 6);
    }

    #[test]
    fn synchronous_descriptors_are_tracked() {
        let t = parse(
            "1 1.0 openat(AT_FDCWD</w>, \"/db\", O_WRONLY|O_DSYNC|O_CLOEXEC) = 6</db>\n\
             1 1.1 pwrite64(6</db>, \"m\", 1, 0) = 1\n\
             1 1.2 dup(6</db>) = 7</db>\n\
             1 1.3 write(7</db>, \"n\", 1) = 1\n\
             1 1.4 close(6</db>) = 0\n\
             1 1.5 openat(AT_FDCWD</w>, \"/db\", O_RDWR) = 6</db>\n\
             1 1.6 pwrite64(6</db>, \"d\", 1, 8192) = 1\n\
             1 1.7 pwritev2(6</db>, [{iov_base=\"e\", iov_len=1}], 1, 0, RWF_DSYNC) = 1\n",
        );
        let sync: Vec<bool> = t.events().iter().map(|e| write_of(e).synchronous).collect();
        assert_eq!(sync, [true, true, false, true]);
        assert_eq!(write_of(&t.events()[3]).data, b"e");
    }

    #[test]
    fn names_created_renamed_removed_with_relative_paths() {
        let t = parse(
            "1 1.0 openat(AT_FDCWD</home/x>, \"a\", O_WRONLY|O_CREAT|O_EXCL, 0666) = 3</home/x/a>\n\
             1 1.1 mkdir(\"sub/../d\", 0777) = 0\n\
             1 1.2 renameat2(AT_FDCWD</home/x>, \"a\", 4</home/x/d>, \"b\", RENAME_NOREPLACE) = 0\n\
             1 1.3 unlinkat(4</home/x/d>, \"b\", 0) = 0\n\
             1 1.4 rename(\"/abs/p\", \"q\") = 0\n\
             1 1.5 openat(AT_FDCWD</home/x>, \"t\", O_WRONLY|O_TRUNC) = 5</home/x/t>\n",
        );
        let calls: Vec<&Call> = t.events().iter().map(|e| &e.call).collect();
        assert_eq!(calls[0], &Call::Create { path: "/home/x/a".into(), exclusive: true });
        // mkdir has no directory descriptor: relative to the working directory strace showed.
        assert_eq!(calls[1], &Call::Create { path: "/home/x/d".into(), exclusive: true });
        assert_eq!(calls[2], &Call::Rename { from: "/home/x/a".into(), to: "/home/x/d/b".into() });
        assert_eq!(calls[3], &Call::Remove { path: "/home/x/d/b".into() });
        assert_eq!(calls[4], &Call::Rename { from: "/abs/p".into(), to: "/home/x/q".into() });
        assert!(matches!(calls[5], Call::Write(w) if w.syscall == "open O_TRUNC"));
    }

    #[test]
    fn vectored_writes_join_their_buffers() {
        let t = parse(
            "1 1.0 writev(3<socket:[1]>, [{iov_base=\"250 \", iov_len=4}, {iov_base=\"ok\\r\\n\", iov_len=4}], 2) = 8\n\
             1 1.1 sendmsg(3<socket:[1]>, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=\"354\\r\\n\", iov_len=5}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, MSG_NOSIGNAL) = 5\n",
        );
        assert_eq!(write_of(&t.events()[0]).data, b"250 ok\r\n");
        assert!(write_of(&t.events()[0]).complete);
        assert_eq!(write_of(&t.events()[1]).data, b"354\r\n");
    }

    #[test]
    fn lines_written_to_a_file() {
        let t = parse(
            "1 1.0 write(3</acked>, \"deliver 1\\ndeliver 2\\n\", 20) = 20\n\
             1 1.1 write(4</other>, \"x\\n\", 2) = 2\n\
             1 1.2 write(3</acked>, \"flags 0\\n\", 8) = 8\n",
        );
        let lines = t.lines_written_to(Path::new("/acked")).unwrap();
        assert_eq!(
            lines,
            [
                (0, "deliver 1".to_string()),
                (0, "deliver 2".to_string()),
                (2, "flags 0".to_string())
            ]
        );
        let cut = parse("1 1.0 write(3</acked>, \"deli\"..., 10) = 10\n");
        assert!(cut.lines_written_to(Path::new("/acked")).is_err());
    }

    #[test]
    fn a_kept_call_that_does_not_parse_is_an_error() {
        let e = Trace::parse("1 1.0 write(3</f>, \"unterminated, 3) = 3\n", Path::new("/"));
        assert!(matches!(e, Err(TraceError::Syntax { line: 1, .. })), "{e:?}");
        let e = Trace::parse("1 1.0 fsync(notanumber) = 0\n", Path::new("/"));
        assert!(matches!(e, Err(TraceError::Syntax { .. })), "{e:?}");
    }
}
