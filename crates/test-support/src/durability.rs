//! Checking from a system-call trace that what a program acknowledged was on disk first.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::trace::{Call, Event, Target, Trace, TraceError, normalize, trace_expression};

/// Runs a program under `strace -f` so that [`Trace`] can read what it did. See the crate
/// documentation for the whole procedure.
#[derive(Debug, Clone)]
pub struct Strace {
    trace_file: PathBuf,
    string_limit: usize,
    inject_noop: Vec<String>,
    socket_addresses: bool,
    cwd: PathBuf,
}

impl Strace {
    /// Traces into `trace_file` (created or overwritten when the program starts).
    pub fn new(trace_file: impl Into<PathBuf>) -> Strace {
        Strace {
            trace_file: trace_file.into(),
            string_limit: 256,
            socket_addresses: false,
            inject_noop: Vec::new(),
            cwd: PathBuf::new(),
        }
    }

    /// How many bytes of each written buffer the trace shows (default 256): enough for the
    /// acknowledgement lines or replies the check looks for.
    pub fn string_limit(mut self, bytes: usize) -> Strace {
        self.string_limit = bytes;
        self
    }

    /// Shows a socket's addresses instead of its inode (`strace -yy`): a TCP connection's
    /// [`crate::Target::Other`] reads `TCP:[127.0.0.1:25->127.0.0.1:40000]`, so a test can tell
    /// which client a reply went to by the client's port.
    pub fn socket_addresses(mut self) -> Strace {
        self.socket_addresses = true;
        self
    }

    /// Makes every call of `syscall` (such as `"fsync"`) return 0 without running: the traced
    /// program believes it flushed, and the trace shows the call as not made. For tests that
    /// the durability check notices a missing flush.
    pub fn inject_noop(mut self, syscall: &str) -> Strace {
        self.inject_noop.push(syscall.to_string());
        self
    }

    /// The trace file.
    pub fn trace_file(&self) -> &Path {
        &self.trace_file
    }

    /// A command that runs `program` (its arguments, environment and working directory) under
    /// strace. Set its stdio and spawn it as you would `program`; the exit status is the
    /// program's. Fails if strace is not installed (Debian package `strace`, in `.ci/deps`).
    pub fn command(&mut self, program: &Command) -> io::Result<Command> {
        match Command::new("strace").arg("-V").output() {
            Ok(o) if o.status.success() => {}
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "strace is not installed: the durability tests need it \
                     (apt-get install strace; .ci/deps installs it)",
                ));
            }
        }
        self.cwd = match program.get_current_dir() {
            Some(d) => d.to_path_buf(),
            None => std::env::current_dir()?,
        };
        let mut c = Command::new("strace");
        // -f: threads and children; -qq: no attach/exit messages; -ttt: timestamps; -y: paths
        // of descriptors (-yy: and sockets' addresses); -xx: all strings in hex, so any byte
        // parses back.
        let y = if self.socket_addresses { "-yy" } else { "-y" };
        c.args(["-f", "-qq", "-ttt", y, "-xx"]);
        c.arg("-s").arg(self.string_limit.to_string());
        c.arg("-e").arg(trace_expression());
        for s in &self.inject_noop {
            c.arg("-e").arg(format!("inject={s}:retval=0"));
        }
        c.arg("-o").arg(&self.trace_file);
        c.arg("--").arg(program.get_program()).args(program.get_args());
        for (k, v) in program.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        if let Some(d) = program.get_current_dir() {
            c.current_dir(d);
        }
        Ok(c)
    }

    /// Reads the trace once the program has exited.
    pub fn trace(&self) -> Result<Trace, TraceError> {
        Trace::read(&self.trace_file, &self.cwd)
    }
}

/// Something that must be on disk before an acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durable {
    /// Every write to this file before the acknowledgement was flushed before it (an
    /// `fsync`/`fdatasync` of the file that started after the write completed, a synchronous
    /// write, or a `sync`/`syncfs`). Follows the file through renames.
    FileData(PathBuf),
    /// The file's name is on disk: the name, and each directory on the way to it that was
    /// created in the trace, were followed by an `fsync` of the directory holding them (or a
    /// `sync`/`syncfs`) before the acknowledgement. The name must have been created in the
    /// trace.
    Entry(PathBuf),
    /// An LMDB transaction on this data file (`.../data.mdb`) was committed durably after
    /// everything else required for the same acknowledgement was on disk, and before the
    /// acknowledgement: one thread wrote data pages, flushed them, and then wrote a meta page
    /// (the commit point, in the first two pages of the file) synchronously or flushed it.
    /// (Which transaction holds which record is not in the trace: this checks that a complete
    /// durable commit happened in that window.)
    LmdbCommit(PathBuf),
}

impl fmt::Display for Durable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Durable::FileData(p) => write!(f, "data of {} flushed", p.display()),
            Durable::Entry(p) => write!(f, "directory entry of {} flushed", p.display()),
            Durable::LmdbCommit(p) => write!(f, "LMDB commit of {} synced", p.display()),
        }
    }
}

/// One acknowledgement and what must be on disk before it.
#[derive(Debug, Clone)]
pub struct Acknowledged {
    /// Names it in messages ("message 17", "250 for RCPT <a@example.org>").
    pub label: String,
    /// The acknowledgement: an index into [`Trace::events`], usually of a write found with
    /// [`Trace::lines_written_to`] or [`Trace::writes_to`].
    pub at: usize,
    /// An event (index into [`Trace::events`]) that the [`Durable::LmdbCommit`] must come
    /// after, besides the other requirements: for a change with nothing else to flush, a
    /// marker the program wrote before making it.
    pub after: Option<usize>,
    /// What must be on disk.
    pub durable: Vec<Durable>,
}

/// A requirement not met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The acknowledgement's label.
    pub label: String,
    /// The trace line of the acknowledgement.
    pub line: usize,
    /// The requirement.
    pub durable: Durable,
    /// What the trace shows instead.
    pub problem: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (acknowledged at trace line {}): {}: {}",
            self.label, self.line, self.durable, self.problem
        )
    }
}

/// What a successful check covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Checked {
    /// Acknowledgements checked.
    pub acknowledgements: usize,
    /// Requirements met (acknowledgements times their requirements).
    pub requirements: usize,
}

impl Trace {
    /// Checks each acknowledgement's requirements against the trace. Returns every violation
    /// (an empty list means none); the LMDB page size is the system's (`getconf PAGESIZE`).
    pub fn check(&self, acknowledged: &[Acknowledged]) -> Result<Checked, Vec<Violation>> {
        self.check_with_page_size(acknowledged, system_page_size())
    }

    /// [`Trace::check`] with the LMDB page size given.
    pub fn check_with_page_size(
        &self,
        acknowledged: &[Acknowledged],
        page_size: u64,
    ) -> Result<Checked, Vec<Violation>> {
        let mut order: Vec<&Acknowledged> = acknowledged.iter().collect();
        order.sort_by_key(|a| a.at);
        let mut state = State::default();
        let mut violations = Vec::new();
        let mut checked = Checked::default();
        let mut next = order.into_iter().peekable();
        for (i, event) in self.events().iter().enumerate() {
            while let Some(a) = next.next_if(|a| a.at == i) {
                let found = state.check(self.events(), a, event, page_size);
                checked.acknowledgements += 1;
                checked.requirements += a.durable.len() - found.len();
                violations.extend(found);
            }
            state.apply(i, event);
        }
        for a in next {
            violations.push(Violation {
                label: a.label.clone(),
                line: 0,
                durable: a.durable.first().cloned().unwrap_or(Durable::FileData(PathBuf::new())),
                problem: format!("acknowledgement event {} is not in the trace", a.at),
            });
        }
        if violations.is_empty() { Ok(checked) } else { Err(violations) }
    }
}

/// Files (followed through renames) and names, as the trace has them up to some point.
#[derive(Default)]
struct State {
    /// Current name of each file → its identity.
    files: HashMap<PathBuf, u64>,
    next_file: u64,
    /// Per file identity: indices of its writes and flushes.
    history: HashMap<u64, History>,
    /// Per name: the event that last created it.
    created: HashMap<PathBuf, usize>,
    /// `sync`/`syncfs` events.
    flush_all: Vec<usize>,
}

#[derive(Default)]
struct History {
    writes: Vec<usize>,
    flushes: Vec<usize>,
}

impl State {
    fn file(&mut self, path: &Path) -> u64 {
        if let Some(&id) = self.files.get(path) {
            return id;
        }
        self.next_file += 1;
        self.files.insert(path.to_path_buf(), self.next_file);
        self.next_file
    }

    fn apply(&mut self, i: usize, event: &Event) {
        match &event.call {
            Call::Write(w) => {
                if let Target::File(p) = &w.target {
                    let id = self.file(p);
                    self.history.entry(id).or_default().writes.push(i);
                }
            }
            Call::Flush { target: Target::File(p) } => {
                let id = self.file(p);
                self.history.entry(id).or_default().flushes.push(i);
            }
            Call::Flush { .. } => {}
            Call::FlushAll => self.flush_all.push(i),
            Call::Create { path, exclusive } => {
                // An O_CREAT open of a file seen before (and not removed) opens it.
                if *exclusive || !self.files.contains_key(path) {
                    self.files.remove(path);
                    self.file(path);
                    self.created.insert(path.clone(), i);
                }
            }
            Call::Rename { from, to } => {
                self.forget_under(to);
                for map in [0, 1] {
                    let moved: Vec<PathBuf> = if map == 0 {
                        self.files.keys().filter(|p| p.starts_with(from)).cloned().collect()
                    } else {
                        self.created.keys().filter(|p| p.starts_with(from)).cloned().collect()
                    };
                    for old in moved {
                        let Ok(rest) = old.strip_prefix(from) else { continue };
                        let new =
                            if rest.as_os_str().is_empty() { to.clone() } else { to.join(rest) };
                        if map == 0 {
                            if let Some(id) = self.files.remove(&old) {
                                self.files.insert(new, id);
                            }
                        } else if let Some(e) = self.created.remove(&old) {
                            self.created.insert(new, e);
                        }
                    }
                }
                self.file(to);
                self.created.insert(to.clone(), i);
            }
            Call::Remove { path } => self.forget_under(path),
        }
    }

    fn forget_under(&mut self, path: &Path) {
        self.files.retain(|p, _| !p.starts_with(path));
        self.created.retain(|p, _| !p.starts_with(path));
    }

    /// The first flush of `path` (or `sync`/`syncfs`) that started after position `after` and
    /// completed before position `before`: its event index.
    fn flush_between(
        &self,
        events: &[Event],
        path: &Path,
        after: usize,
        before: usize,
    ) -> Option<usize> {
        // A file or directory the trace never touched (made before the program started) has
        // no flushes of its own, but a `sync`/`syncfs` still covers it.
        let own = self
            .files
            .get(path)
            .and_then(|id| self.history.get(id))
            .map(|h| h.flushes.as_slice())
            .unwrap_or(&[]);
        own.iter()
            .chain(&self.flush_all)
            .copied()
            .filter(|&f| events[f].start > after && events[f].end < before)
            .min_by_key(|&f| events[f].end)
    }

    fn check(
        &self,
        events: &[Event],
        a: &Acknowledged,
        ack: &Event,
        page_size: u64,
    ) -> Vec<Violation> {
        let mut violations = Vec::new();
        // Position by which everything but the LMDB commit was on disk.
        let mut anchor = a.after.and_then(|i| events.get(i)).map_or(0, |e| e.end);
        let mut commits = Vec::new();
        for d in &a.durable {
            let result = match d {
                Durable::FileData(p) => self.file_data(events, &canonical(p), ack),
                Durable::Entry(p) => self.entry(events, &canonical(p), ack),
                Durable::LmdbCommit(_) => {
                    commits.push(d);
                    continue;
                }
            };
            match result {
                Ok(done) => anchor = anchor.max(done),
                Err(problem) => violations.push(Violation {
                    label: a.label.clone(),
                    line: ack.line,
                    durable: d.clone(),
                    problem,
                }),
            }
        }
        for d in commits {
            let Durable::LmdbCommit(p) = d else { continue };
            if let Err(problem) = self.lmdb_commit(events, &canonical(p), anchor, ack, page_size) {
                violations.push(Violation {
                    label: a.label.clone(),
                    line: ack.line,
                    durable: d.clone(),
                    problem,
                });
            }
        }
        violations
    }

    /// Every write to the file flushed before the acknowledgement; returns when the last of
    /// them was.
    fn file_data(&self, events: &[Event], path: &Path, ack: &Event) -> Result<usize, String> {
        let Some(id) = self.files.get(path) else {
            return Err("the file does not exist in the trace at that point".into());
        };
        let mut done = self.created.get(path).map_or(0, |&c| events[c].end);
        let writes = self.history.get(id).map(|h| h.writes.as_slice()).unwrap_or(&[]);
        for &w in writes {
            let we = &events[w];
            if let Call::Write(write) = &we.call
                && write.synchronous
                && we.end < ack.start
            {
                done = done.max(we.end);
                continue;
            }
            match self.flush_between(events, path, we.end, ack.start) {
                Some(f) => done = done.max(events[f].end),
                None => {
                    return Err(format!(
                        "its write at trace line {} (t={}, thread {}) was not flushed before the \
                         acknowledgement",
                        we.line, we.time, we.tid
                    ));
                }
            }
        }
        Ok(done)
    }

    /// The name and each directory created on the way to it flushed in its parent; returns
    /// when the last was.
    fn entry(&self, events: &[Event], path: &Path, ack: &Event) -> Result<usize, String> {
        if !self.created.contains_key(path) {
            return Err("the name was not created in the trace (before the acknowledgement)".into());
        }
        let mut done = 0;
        for name in path.ancestors() {
            let (Some(&c), Some(parent)) = (self.created.get(name), name.parent()) else {
                continue;
            };
            let ce = &events[c];
            match self.flush_between(events, parent, ce.end, ack.start) {
                Some(f) => done = done.max(events[f].end),
                None => {
                    return Err(format!(
                        "{} was created at trace line {} (t={}, thread {}) and {} was not \
                         fsynced after that before the acknowledgement",
                        name.display(),
                        ce.line,
                        ce.time,
                        ce.tid,
                        parent.display()
                    ));
                }
            }
        }
        Ok(done)
    }

    /// A complete, durable LMDB commit between `anchor` and the acknowledgement.
    fn lmdb_commit(
        &self,
        events: &[Event],
        path: &Path,
        anchor: usize,
        ack: &Event,
        page_size: u64,
    ) -> Result<(), String> {
        let Some(id) = self.files.get(path) else {
            return Err("the database file does not exist in the trace at that point".into());
        };
        let empty = History::default();
        let h = self.history.get(id).unwrap_or(&empty);
        let write_of = |i: usize| match &events[i].call {
            Call::Write(w) => Some(w),
            _ => None,
        };
        let is_meta =
            |i: usize| write_of(i).and_then(|w| w.offset).is_some_and(|o| o < 2 * page_size);
        let in_window = |i: usize| events[i].start > anchor && events[i].end < ack.start;
        let mut problem = format!(
            "no meta page write (commit) to it between trace line {} and the acknowledgement",
            anchor
        );
        for &m in h.writes.iter().filter(|&&m| in_window(m) && is_meta(m)) {
            let me = &events[m];
            let tid = me.tid;
            // The committing thread's last flush before the meta page write.
            let flush = h
                .flushes
                .iter()
                .chain(&self.flush_all)
                .copied()
                .filter(|&f| {
                    events[f].tid == tid && events[f].start > anchor && events[f].end < me.start
                })
                .max_by_key(|&f| events[f].end);
            let data: Vec<usize> = h
                .writes
                .iter()
                .copied()
                .filter(|&w| events[w].tid == tid && !is_meta(w))
                .filter(|&w| events[w].start > anchor && events[w].start < me.start)
                .collect();
            let Some(f) = flush else {
                problem = format!(
                    "the meta page write at trace line {} (thread {tid}) was not preceded by a \
                     flush of the data pages",
                    me.line
                );
                continue;
            };
            if data.is_empty() {
                problem = format!(
                    "the meta page write at trace line {} (thread {tid}) had no data page \
                     writes before it",
                    me.line
                );
                continue;
            }
            if let Some(&w) = data.iter().find(|&&w| events[w].end > events[f].start) {
                problem = format!(
                    "the data page write at trace line {} was not flushed before the meta page \
                     write at trace line {}",
                    events[w].line, me.line
                );
                continue;
            }
            let meta_synced = write_of(m).is_some_and(|w| w.synchronous)
                || self.flush_between(events, path, me.end, ack.start).is_some();
            if !meta_synced {
                problem = format!(
                    "the meta page write at trace line {} (t={}, thread {tid}) was neither \
                     synchronous (O_DSYNC) nor flushed before the acknowledgement",
                    me.line, me.time
                );
                continue;
            }
            return Ok(());
        }
        Err(problem)
    }
}

/// The path as strace shows it (symlinks resolved), where it still exists.
fn canonical(path: &Path) -> PathBuf {
    let mut existing = path;
    let mut rest = Vec::<OsString>::new();
    loop {
        if let Ok(c) = existing.canonicalize() {
            let mut p = c;
            for r in rest.iter().rev() {
                p.push(r);
            }
            return p;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return normalize(path),
        }
    }
}

/// The memory page size (LMDB's page size), 4096 if `getconf` cannot say.
fn system_page_size() -> u64 {
    Command::new("getconf")
        .arg("PAGESIZE")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: u64 = 4096;

    /// A delivery as the store makes it: file written and flushed, directory flushed, LMDB
    /// commit (data pages, flush, meta page on an O_DSYNC descriptor), acknowledgement.
    const DELIVERY: &str = "\
1 1.00 openat(AT_FDCWD</a>, \"/a/data.mdb\", O_RDWR|O_CREAT, 0600) = 5</a/data.mdb>
1 1.01 openat(AT_FDCWD</a>, \"/a/data.mdb\", O_WRONLY|O_DSYNC|O_CLOEXEC) = 6</a/data.mdb>
1 1.02 openat(AT_FDCWD</a>, \"/a/acked\", O_WRONLY|O_CREAT|O_APPEND, 0666) = 7</a/acked>
1 1.10 mkdir(\"/a/msg/0\", 0777) = 0
1 1.11 fsync(8</a/msg>) = 0
2 1.20 openat(9</a/msg/0>, \"1\", O_WRONLY|O_CREAT|O_EXCL, 0666) = 10</a/msg/0/1>
2 1.21 write(10</a/msg/0/1>, \"Subject: x\\r\\n\\r\\n\", 14) = 14
2 1.22 fdatasync(10</a/msg/0/1>) = 0
1 1.30 fsync(9</a/msg/0>) = 0
1 1.31 pwrite64(5</a/data.mdb>, \"page\", 4096, 16384) = 4096
1 1.32 writev(5</a/data.mdb>, [{iov_base=\"pages\", iov_len=8192}], 1) = 8192
1 1.33 fdatasync(5</a/data.mdb>) = 0
1 1.34 pwrite64(6</a/data.mdb>, \"meta\", 136, 4112) = 136
2 1.40 write(7</a/acked>, \"deliver 1\\n\", 10) = 10
";

    fn delivery_ack(trace: &Trace) -> Vec<Acknowledged> {
        trace
            .lines_written_to(Path::new("/a/acked"))
            .unwrap()
            .into_iter()
            .map(|(at, label)| Acknowledged {
                label,
                at,
                after: None,
                durable: vec![
                    Durable::FileData("/a/msg/0/1".into()),
                    Durable::Entry("/a/msg/0/1".into()),
                    Durable::LmdbCommit("/a/data.mdb".into()),
                ],
            })
            .collect()
    }

    /// The problems found in `text` for the delivery acknowledgement, by requirement.
    fn problems(text: &str) -> Vec<String> {
        let trace = Trace::parse(text, Path::new("/a")).unwrap();
        let acks = delivery_ack(&trace);
        assert_eq!(acks.len(), 1);
        match trace.check_with_page_size(&acks, PAGE) {
            Ok(c) => {
                assert_eq!(c, Checked { acknowledgements: 1, requirements: 3 });
                Vec::new()
            }
            Err(v) => v.iter().map(|v| format!("{:?}: {}", v.durable, v.problem)).collect(),
        }
    }

    fn without(line_start: &str) -> String {
        DELIVERY.lines().filter(|l| !l.starts_with(line_start)).map(|l| format!("{l}\n")).collect()
    }

    #[test]
    fn a_complete_delivery_passes() {
        assert_eq!(problems(DELIVERY), Vec::<String>::new());
    }

    #[test]
    fn each_missing_flush_is_named() {
        let p = problems(&without("2 1.22 fdatasync"));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("FileData") && p[0].contains("trace line 7"), "{p:?}");

        let p = problems(&without("1 1.30 fsync"));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("Entry") && p[0].contains("/a/msg/0 was not fsynced"), "{p:?}");

        // The new directory msg/0 must be flushed in msg.
        let p = problems(&without("1 1.11 fsync"));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("/a/msg/0 was created") && p[0].contains("/a/msg was not"), "{p:?}");

        let p = problems(&without("1 1.33 fdatasync"));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("not preceded by a flush of the data pages"), "{p:?}");

        // LMDB's NO_META_SYNC: the meta page goes through the data descriptor, unflushed.
        let p = problems(&DELIVERY.replace("pwrite64(6</a/data.mdb>", "pwrite64(5</a/data.mdb>"));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("neither synchronous (O_DSYNC) nor flushed"), "{p:?}");
        // ... unless a later flush made it durable before the acknowledgement.
        let flushed_later = DELIVERY.replace(
            "1 1.34 pwrite64(6</a/data.mdb>, \"meta\", 136, 4112) = 136\n",
            "1 1.34 pwrite64(5</a/data.mdb>, \"meta\", 136, 4112) = 136\n1 1.35 fdatasync(5</a/data.mdb>) = 0\n",
        );
        assert_eq!(problems(&flushed_later), Vec::<String>::new());

        // Acknowledged before the commit.
        let early = DELIVERY.replace("2 1.40 write(7</a/acked>, \"deliver 1\\n\", 10) = 10\n", "");
        let early = early.replace(
            "1 1.31 pwrite64",
            "2 1.305 write(7</a/acked>, \"deliver 1\\n\", 10) = 10\n1 1.31 pwrite64",
        );
        let p = problems(&early);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("no meta page write"), "{p:?}");
    }

    #[test]
    fn a_flush_running_while_the_write_ran_does_not_count() {
        let racing = DELIVERY.replace(
            "2 1.21 write(10</a/msg/0/1>, \"Subject: x\\r\\n\\r\\n\", 14) = 14\n2 1.22 fdatasync(10</a/msg/0/1>) = 0\n",
            "2 1.21 write(10</a/msg/0/1>, \"Subject: x\\r\\n\\r\\n\", 14 <unfinished ...>\n\
             3 1.215 fdatasync(10</a/msg/0/1>) = 0\n\
             2 1.22 <... write resumed>) = 14\n",
        );
        let p = problems(&racing);
        assert!(p.len() == 1 && p[0].starts_with("FileData"), "{p:?}");
    }

    #[test]
    fn commits_by_another_thread_or_before_the_anchor_do_not_count() {
        // Data pages written after the flush, before the meta page: not covered.
        let late_page = DELIVERY.replace(
            "1 1.34 pwrite64(6",
            "1 1.335 pwrite64(5</a/data.mdb>, \"late\", 4096, 20480) = 4096\n1 1.34 pwrite64(6",
        );
        let p = problems(&late_page);
        // The late page is the commit's (same thread, before the meta page) and not flushed.
        assert!(
            p.len() == 1
                && p[0].contains(
                    "trace line 13 was not flushed before the meta page write at trace line 14"
                ),
            "{p:?}"
        );

        // The data pages flushed by another thread than the one writing the meta page.
        let other = DELIVERY.replace("1 1.33 fdatasync", "3 1.33 fdatasync");
        let p = problems(&other);
        assert!(p.len() == 1 && p[0].contains("not preceded by a flush"), "{p:?}");

        // A commit entirely before the directory flush (the anchor) does not count.
        let before: String = {
            let lines: Vec<&str> = DELIVERY.lines().collect();
            let commit = &lines[9..13];
            let mut out: Vec<&str> = lines[..3].to_vec();
            out.extend_from_slice(commit);
            out.extend_from_slice(&lines[3..9]);
            out.push(lines[13]);
            out.iter().map(|l| format!("{l}\n")).collect()
        };
        let p = problems(&before);
        assert!(p.len() == 1 && p[0].contains("no meta page write"), "{p:?}");
    }

    #[test]
    fn syncfs_flushes_everything() {
        let text = without("2 1.22 fdatasync")
            .replace("1 1.30 fsync(9</a/msg/0>) = 0\n", "1 1.30 syncfs(3</a>) = 0\n");
        assert_eq!(problems(&text), Vec::<String>::new());
    }

    #[test]
    fn syncfs_covers_a_directory_the_trace_never_touched() {
        // /a/msg was made before the trace started and is never opened: the syncfs after
        // msg/0 was created still puts the new entry on disk.
        let text = DELIVERY.replace("1 1.11 fsync(8</a/msg>) = 0\n", "1 1.11 syncfs(3</a>) = 0\n");
        assert_eq!(problems(&text), Vec::<String>::new());
        let p = problems(&without("1 1.11 fsync"));
        assert!(p.len() == 1 && p[0].contains("/a/msg was not"), "{p:?}");
    }

    #[test]
    fn files_are_followed_through_renames() {
        let text = "\
1 1.0 openat(AT_FDCWD</a>, \"/a/tmp/x\", O_WRONLY|O_CREAT|O_EXCL, 0600) = 3</a/tmp/x>
1 1.1 write(3</a/tmp/x>, \"data\", 4) = 4
1 1.2 renameat(AT_FDCWD</a>, \"/a/tmp/x\", AT_FDCWD</a>, \"/a/new/x\") = 0
1 1.3 fsync(4</a/new>) = 0
1 1.4 write(5<socket:[7]>, \"250 ok\\r\\n\", 8) = 8
";
        let trace = Trace::parse(text, Path::new("/a")).unwrap();
        let at = trace
            .events()
            .iter()
            .position(|e| matches!(&e.call, Call::Write(w) if w.data.starts_with(b"250")))
            .unwrap();
        let ack = |durable| Acknowledged { label: "250".into(), at, after: None, durable };
        // The write made under the old name is not flushed.
        let v = trace
            .check_with_page_size(&[ack(vec![Durable::FileData("/a/new/x".into())])], PAGE)
            .unwrap_err();
        assert!(v[0].problem.contains("trace line 2"), "{v:?}");
        // The rename made the name, and /a/new was flushed after it.
        assert_eq!(
            trace.check_with_page_size(&[ack(vec![Durable::Entry("/a/new/x".into())])], PAGE),
            Ok(Checked { acknowledgements: 1, requirements: 1 })
        );
        let flushed =
            text.replace("1 1.2 rename", "1 1.15 fdatasync(3</a/tmp/x>) = 0\n1 1.2 rename");
        let trace = Trace::parse(&flushed, Path::new("/a")).unwrap();
        let at = at + 1;
        let ack = Acknowledged {
            label: "250".into(),
            at,
            after: None,
            durable: vec![Durable::FileData("/a/new/x".into()), Durable::Entry("/a/new/x".into())],
        };
        assert_eq!(trace.check_with_page_size(&[ack], PAGE).map(|c| c.requirements), Ok(2));
    }

    #[test]
    fn a_change_without_files_is_anchored_by_a_marker() {
        let text = "\
1 1.0 openat(AT_FDCWD</a>, \"/a/data.mdb\", O_WRONLY|O_DSYNC|O_CLOEXEC) = 6</a/data.mdb>
1 1.1 pwrite64(5</a/data.mdb>, \"page\", 4096, 16384) = 4096
1 1.2 fdatasync(5</a/data.mdb>) = 0
1 1.3 pwrite64(6</a/data.mdb>, \"meta\", 136, 16) = 136
1 1.4 write(7</a/acked>, \"flags-asked 0\\n\", 14) = 14
1 1.5 write(7</a/acked>, \"flags 0\\n\", 8) = 8
";
        let trace = Trace::parse(text, Path::new("/a")).unwrap();
        let lines = trace.lines_written_to(Path::new("/a/acked")).unwrap();
        let ack = Acknowledged {
            label: "flags 0".into(),
            at: lines[1].0,
            after: Some(lines[0].0),
            durable: vec![Durable::LmdbCommit("/a/data.mdb".into())],
        };
        let v = trace.check_with_page_size(std::slice::from_ref(&ack), PAGE).unwrap_err();
        assert!(v[0].problem.contains("no meta page write"), "{v:?}");
        // Without the marker, the earlier commit would do.
        let ack = Acknowledged { after: None, ..ack };
        assert!(trace.check_with_page_size(&[ack], PAGE).is_ok());
    }
}
