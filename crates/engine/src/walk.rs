//! The working-tree scan: a parallel walk that honours ignore files, reads each file once
//! into a per-thread buffer, and hands it to the [`Scanner`].

use crate::error::EngineError;
use crate::finding::{Finding, ScanStats};
use crate::generated;
use crate::scanner::{ScanInput, Scanner};
use crate::text::{classify, Content};
use crate::unread::{SkipKind, Skipped, Unreadable};
use ignore::{DirEntry, ParallelVisitor, ParallelVisitorBuilder, WalkBuilder, WalkState};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The path that names standard input.
pub const STDIN: &str = "-";

/// How to walk.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Worker threads; 0 picks one per core.
    pub threads: usize,
    /// Files larger than this many bytes are counted and not read.
    pub max_file_size: u64,
    /// Files never scanned wherever they are found (the config file in use holds rule
    /// examples that would otherwise report themselves).
    pub exclude: Vec<PathBuf>,
    /// The name standard input (the root `-`) is scanned and reported under.
    pub stdin_name: Option<String>,
    /// Counters the walk advances as it reads files, for a progress display.
    pub progress: Option<Arc<WalkProgress>>,
}

/// How far a working-tree scan has got: files and bytes read so far.
#[derive(Debug, Default)]
pub struct WalkProgress {
    pub files: AtomicU64,
    pub bytes: AtomicU64,
}

impl Default for WalkOptions {
    fn default() -> WalkOptions {
        WalkOptions {
            threads: 0,
            max_file_size: 10 * 1024 * 1024,
            exclude: Vec::new(),
            stdin_name: None,
            progress: None,
        }
    }
}

/// What a working-tree scan found and read.
#[derive(Debug, Clone, Default)]
pub struct WalkOutcome {
    /// Sorted by path, then position: the same whatever the thread count.
    pub findings: Vec<Finding>,
    pub stats: ScanStats,
    /// Source maps and minified bundles (scanned by format-specific rules only).
    pub skipped_generated: u64,
    /// Every file skipped on purpose (large, binary, generated), by name, sorted.
    pub skipped: Vec<Skipped>,
    /// Every file or directory that could not be read, sorted. Each is also counted in
    /// `stats.errors`.
    pub errors: Vec<Unreadable>,
}

/// Scans every file under `roots`. A directory is walked honouring `.gitignore` (inside a
/// git repository or not), `.ignore` and `.git/info/exclude`, including dotfiles and
/// skipping `.git`; a file named directly is scanned even if an ignore file lists it.
/// Paths in findings are each root as given, joined with the file's path below it.
pub fn scan_paths(
    scanner: &Scanner,
    roots: &[PathBuf],
    options: &WalkOptions,
) -> Result<WalkOutcome, EngineError> {
    for root in roots.iter().filter(|r| r.as_os_str() != STDIN) {
        // `symlink_metadata` so that a dangling link named explicitly is still "there".
        if std::fs::symlink_metadata(root).is_err() {
            return Err(EngineError::NotFound { path: root.clone() });
        }
    }
    let exclude: Vec<PathBuf> = options
        .exclude
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    let shared = Mutex::new(WalkOutcome::default());
    for root in roots {
        if root.as_os_str() == STDIN {
            let shown = options
                .stdin_name
                .clone()
                .unwrap_or_else(|| STDIN.to_owned());
            let mut worker = Worker::new(scanner, options, &exclude, root, &shown, &shared);
            worker.scan_stdin(shown.clone());
            continue;
        }
        let shown = display_root(root);
        if root.is_dir() {
            let mut builder = WalkBuilder::new(root);
            builder
                .hidden(false)
                .git_ignore(true)
                .git_exclude(true)
                // A global excludes file often lists `.env`: exactly what must be scanned.
                .git_global(false)
                .require_git(false)
                .ignore(true)
                .parents(true)
                .follow_links(false)
                .threads(options.threads)
                .filter_entry(|entry| entry.file_name() != ".git");
            let mut visitors = Builder {
                scanner,
                options,
                exclude: &exclude,
                root,
                shown: &shown,
                shared: &shared,
            };
            builder.build_parallel().visit(&mut visitors);
        } else {
            let mut worker = Worker::new(scanner, options, &exclude, root, &shown, &shared);
            match std::fs::metadata(root) {
                Ok(meta) if meta.is_file() => worker.scan_file(root, shown.clone()),
                Ok(meta) => {
                    // A FIFO or device would block or never end: named, not read.
                    let hint = if is_stdin_link(root) {
                        " (use `scan -` to read standard input)"
                    } else {
                        ""
                    };
                    worker.error(
                        shown.clone(),
                        format!("{}{hint}", special_file_reason(&meta.file_type())),
                    );
                }
                Err(e) => worker.error(shown.clone(), link_reason(root, &e)),
            }
        }
    }
    let mut outcome = shared.into_inner().unwrap_or_else(|e| e.into_inner());
    outcome.findings.sort_by(|a, b| {
        (
            &a.path,
            a.line,
            a.column,
            &a.rule_id,
            a.end_line,
            a.end_column,
        )
            .cmp(&(
                &b.path,
                b.line,
                b.column,
                &b.rule_id,
                b.end_line,
                b.end_column,
            ))
    });
    // Overlapping roots (`scan . src`) reach the same file twice under the same name.
    outcome.findings.dedup_by(|a, b| {
        a.path == b.path
            && a.line == b.line
            && a.column == b.column
            && a.rule_id == b.rule_id
            && a.secret == b.secret
    });
    outcome.errors.sort();
    outcome.errors.dedup();
    outcome.skipped.sort();
    outcome.skipped.dedup();
    Ok(outcome)
}

/// Why a path whose target cannot be reached was not read: a dangling link, a loop, or
/// the I/O error itself.
fn link_reason(path: &Path, err: &std::io::Error) -> String {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if err.raw_os_error() == Some(libc::ELOOP) {
        "symbolic link loop: cannot read".to_owned()
    } else if is_link && err.kind() == std::io::ErrorKind::NotFound {
        "dangling symbolic link (its target does not exist): cannot read".to_owned()
    } else if err.kind() == std::io::ErrorKind::NotFound {
        "vanished during the scan: cannot read".to_owned()
    } else {
        format!("cannot read: {}", io_reason(err))
    }
}

/// An I/O error's text without the `(os error N)` suffix.
fn io_reason(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_lowercase(),
        None => text,
    }
}

fn special_file_reason(kind: &std::fs::FileType) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let what = if kind.is_fifo() {
            "a FIFO (named pipe)"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_char_device() {
            "a character device"
        } else if kind.is_block_device() {
            "a block device"
        } else {
            "not a regular file"
        };
        format!("{what}, not a regular file: not read")
    }
    #[cfg(not(unix))]
    {
        let _ = kind;
        "not a regular file: not read".to_owned()
    }
}

fn is_stdin_link(path: &Path) -> bool {
    path == Path::new("/dev/stdin")
        || std::fs::read_link(path).is_ok_and(|t| t.starts_with("/proc/self/fd/0"))
}

/// Threads beyond this many per available core only contend for the same cores (and each
/// walker thread costs a stack and a read buffer): `--threads 100000` must not hang.
pub const THREADS_PER_CORE: usize = 4;

/// `requested` threads capped at [`THREADS_PER_CORE`] per available core, and whether the
/// cap lowered it.
pub fn cap_threads(requested: usize) -> (usize, bool) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max = cores * THREADS_PER_CORE;
    if requested > max {
        (max, true)
    } else {
        (requested, false)
    }
}

/// The root as the user named it, `/`-separated, without `./` in front or `/` behind;
/// empty for the current directory.
fn display_root(root: &Path) -> String {
    let mut s = slashes(root.to_string_lossy().into_owned());
    while let Some(rest) = s.strip_prefix("./") {
        s = rest.to_owned();
    }
    while s.len() > 1 && s.ends_with('/') {
        s.pop();
    }
    if s == "." {
        s.clear();
    }
    s
}

/// The raw bytes of `path` as shown (without a leading `./`), when `shown` had to replace
/// some of them because they are not UTF-8.
fn raw_path(path: &Path, shown: &str) -> Option<Vec<u8>> {
    if !shown.contains('\u{FFFD}') {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let mut bytes = path.as_os_str().as_bytes();
        while let Some(rest) = bytes.strip_prefix(b"./") {
            bytes = rest;
        }
        crate::unread::non_utf8_bytes(bytes)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// `/`-separated on Windows; elsewhere a backslash is part of a file name and kept.
fn slashes(path: String) -> String {
    if cfg!(windows) {
        path.replace('\\', "/")
    } else {
        path
    }
}

/// The path shown for `path`, found under `root` (shown as `shown`).
fn display_path(root: &Path, shown: &str, path: &Path) -> String {
    let below = path
        .strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned();
    let below = slashes(below);
    match (shown.is_empty(), below.is_empty()) {
        (true, _) => below,
        (false, true) => shown.to_owned(),
        (false, false) if shown.ends_with('/') => format!("{shown}{below}"),
        (false, false) => format!("{shown}/{below}"),
    }
}

/// The path and reason of a walk error, whatever wrapping `ignore` added.
fn describe(err: &ignore::Error) -> (Option<PathBuf>, String) {
    match err {
        ignore::Error::WithDepth { err, .. } => describe(err),
        ignore::Error::WithPath { path, err } => match err.as_ref() {
            ignore::Error::Io(io) => (
                Some(path.clone()),
                format!("cannot read: {}", io_reason(io)),
            ),
            other => (Some(path.clone()), describe(other).1),
        },
        ignore::Error::Loop { child, .. } => (
            Some(child.clone()),
            "symbolic link loop: cannot read".to_owned(),
        ),
        ignore::Error::Io(io) => (None, format!("cannot read: {}", io_reason(io))),
        other => (None, other.to_string()),
    }
}

struct Builder<'a> {
    scanner: &'a Scanner,
    options: &'a WalkOptions,
    exclude: &'a [PathBuf],
    root: &'a Path,
    shown: &'a str,
    shared: &'a Mutex<WalkOutcome>,
}

impl<'s> ParallelVisitorBuilder<'s> for Builder<'s> {
    fn build(&mut self) -> Box<dyn ParallelVisitor + 's> {
        Box::new(Worker::new(
            self.scanner,
            self.options,
            self.exclude,
            self.root,
            self.shown,
            self.shared,
        ))
    }
}

/// One walker thread: its own read buffer and results, merged into the shared outcome
/// when the thread is done, so threads never contend per file.
struct Worker<'a> {
    scanner: &'a Scanner,
    options: &'a WalkOptions,
    exclude: &'a [PathBuf],
    root: &'a Path,
    shown: &'a str,
    shared: &'a Mutex<WalkOutcome>,
    buf: Vec<u8>,
    local: WalkOutcome,
}

impl<'a> Worker<'a> {
    fn new(
        scanner: &'a Scanner,
        options: &'a WalkOptions,
        exclude: &'a [PathBuf],
        root: &'a Path,
        shown: &'a str,
        shared: &'a Mutex<WalkOutcome>,
    ) -> Worker<'a> {
        Worker {
            scanner,
            options,
            exclude,
            root,
            shown,
            shared,
            buf: Vec::new(),
            local: WalkOutcome::default(),
        }
    }

    fn error(&mut self, shown: String, reason: String) {
        self.local.stats.errors += 1;
        self.local.errors.push(Unreadable::new(shown, reason));
    }

    fn skip(&mut self, shown: &str, kind: SkipKind, reason: String) {
        match kind {
            SkipKind::Large => self.local.stats.skipped_large += 1,
            SkipKind::Binary => self.local.stats.skipped_binary += 1,
            SkipKind::Generated => self.local.skipped_generated += 1,
            SkipKind::Limit => {}
        }
        self.local.skipped.push(Skipped::new(shown, kind, reason));
    }

    fn visit_entry(&mut self, entry: DirEntry) {
        let Some(kind) = entry.file_type() else {
            return;
        };
        let path = entry.path();
        if kind.is_file() {
            let shown = display_path(self.root, self.shown, path);
            self.scan_file(path, shown);
        } else if !kind.is_dir() && !kind.is_symlink() {
            // Links inside a tree are not followed (their targets are scanned where they
            // live); a FIFO, socket or device cannot be read as a file: named, never passed.
            let shown = display_path(self.root, self.shown, path);
            if !self.scanner.rules().is_path_allowed(&shown) {
                self.error(shown, special_file_reason(&kind));
            }
        }
    }

    fn scan_file(&mut self, path: &Path, shown: String) {
        // Cheap checks on the name first: most skipped files are never opened.
        if self.scanner.rules().is_path_allowed(&shown) {
            return;
        }
        if !self.exclude.is_empty() && self.is_excluded(path) {
            return;
        }
        let mut file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => return self.error(shown, link_reason(path, &e)),
        };
        let size = match file.metadata() {
            Ok(m) => m.len(),
            Err(e) => return self.error(shown, format!("cannot read: {}", io_reason(&e))),
        };
        if size > self.options.max_file_size {
            return self.skip_large(&shown, size);
        }
        self.buf.clear();
        // `take` bounds the read even if the file grows while we read it.
        let limit = self.options.max_file_size.saturating_add(1);
        if let Err(e) = (&mut file).take(limit).read_to_end(&mut self.buf) {
            return self.error(shown, format!("cannot read: {}", io_reason(&e)));
        }
        if self.buf.len() as u64 > self.options.max_file_size {
            return self.skip_large(&shown, self.buf.len() as u64);
        }
        let buf = std::mem::take(&mut self.buf);
        let before = self.local.findings.len();
        self.scan_bytes(&shown, &buf);
        self.buf = buf;
        if let Some(raw) = raw_path(path, &shown) {
            for f in &mut self.local.findings[before..] {
                f.path_bytes = Some(raw.clone());
            }
        }
    }

    /// Standard input, read to its end (within the size limit) and scanned as one file.
    fn scan_stdin(&mut self, shown: String) {
        let limit = self.options.max_file_size.saturating_add(1);
        let mut buf = Vec::new();
        if let Err(e) = std::io::stdin().lock().take(limit).read_to_end(&mut buf) {
            return self.error(
                shown,
                format!("cannot read standard input: {}", io_reason(&e)),
            );
        }
        if buf.len() as u64 > self.options.max_file_size {
            return self.skip_large(&shown, buf.len() as u64);
        }
        if self.scanner.rules().is_path_allowed(&shown) {
            return;
        }
        self.scan_bytes(&shown, &buf);
    }

    fn skip_large(&mut self, shown: &str, size: u64) {
        let reason = format!(
            "{size} bytes, over --max-file-size {}: not read",
            self.options.max_file_size
        );
        self.skip(shown, SkipKind::Large, reason);
        self.add_path_findings(shown);
    }

    /// Opens an archive and scans its members (see [`crate::archive`]).
    fn scan_archive(&mut self, shown: &str, bytes: &[u8]) {
        let found =
            crate::archive::scan_archive(self.scanner, shown, bytes, self.options.max_file_size);
        self.add_path_findings(shown);
        self.local.findings.extend(found.findings);
        for s in found.skipped {
            self.skip(&s.path, s.kind, s.reason);
        }
        for e in found.errors {
            self.error(e.path, e.reason);
        }
        self.local.stats.files += found.files;
        self.local.stats.bytes += found.bytes;
        if let Some(progress) = &self.options.progress {
            progress.files.fetch_add(found.files, Ordering::Relaxed);
            progress.bytes.fetch_add(found.bytes, Ordering::Relaxed);
        }
    }

    /// Classifies and scans one file's bytes: UTF-16 decoded, binary skipped by name,
    /// generated files named and scanned by the format-specific rules.
    fn scan_bytes(&mut self, shown: &str, bytes: &[u8]) {
        if crate::archive::is_archive(shown, bytes) {
            return self.scan_archive(shown, bytes);
        }
        let content = classify(bytes);
        let text = match &content {
            Content::Text(text) => text.as_ref(),
            Content::Binary => {
                self.skip(
                    shown,
                    SkipKind::Binary,
                    "binary (NUL bytes): not read".into(),
                );
                self.add_path_findings(shown);
                return;
            }
        };
        if generated::is_generated(shown, text) {
            self.skip(
                shown,
                SkipKind::Generated,
                "generated (minified bundle or source map): only format-specific rules ran".into(),
            );
        }
        self.local.stats.files += 1;
        self.local.stats.bytes += text.len() as u64;
        if let Some(progress) = &self.options.progress {
            progress.files.fetch_add(1, Ordering::Relaxed);
            progress
                .bytes
                .fetch_add(text.len() as u64, Ordering::Relaxed);
        }
        let found = self.scanner.scan(ScanInput {
            path: shown,
            bytes: text,
            commit: None,
        });
        self.local.findings.extend(found);
    }

    /// A key store or `.p12` is binary: its content is skipped, but its name alone is a
    /// finding for the rules that match on names.
    fn add_path_findings(&mut self, shown: &str) {
        self.local
            .findings
            .extend(self.scanner.path_findings(shown));
    }

    fn is_excluded(&self, path: &Path) -> bool {
        let name = path.file_name();
        self.exclude.iter().any(|x| x.file_name() == name)
            && std::fs::canonicalize(path).is_ok_and(|p| self.exclude.contains(&p))
    }
}

impl ParallelVisitor for Worker<'_> {
    fn visit(&mut self, entry: Result<DirEntry, ignore::Error>) -> WalkState {
        match entry {
            Ok(entry) => self.visit_entry(entry),
            // An unreadable directory (or a broken ignore file) is reported, never dropped.
            Err(err) => {
                let (path, reason) = describe(&err);
                let shown = match path {
                    Some(p) => display_path(self.root, self.shown, &p),
                    None => self.shown.to_owned(),
                };
                self.error(shown, reason);
            }
        }
        WalkState::Continue
    }
}

impl Drop for Worker<'_> {
    fn drop(&mut self) {
        let local = std::mem::take(&mut self.local);
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        shared.findings.extend(local.findings);
        shared.errors.extend(local.errors);
        shared.skipped.extend(local.skipped);
        shared.skipped_generated += local.skipped_generated;
        let s = &mut shared.stats;
        s.files += local.stats.files;
        s.bytes += local.stats.bytes;
        s.skipped_binary += local.stats.skipped_binary;
        s.skipped_large += local.stats.skipped_large;
        s.errors += local.stats.errors;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_vanishes_between_listing_and_reading_is_an_error() {
        let rules = sg_rules::RuleSet::from_config_text("", Path::new("t.toml")).expect("rules");
        let scanner = Scanner::new(rules);
        let options = WalkOptions::default();
        let shared = Mutex::new(WalkOutcome::default());
        let dir = tempfile::tempdir().expect("tempdir");
        let gone = dir.path().join("gone.env");
        std::fs::write(&gone, "x").expect("write");
        std::fs::remove_file(&gone).expect("remove");
        {
            let mut worker = Worker::new(&scanner, &options, &[], dir.path(), "", &shared);
            worker.scan_file(&gone, "gone.env".into());
        }
        let outcome = shared.into_inner().expect("no poisoning");
        assert_eq!(
            outcome.errors,
            vec![Unreadable::new(
                "gone.env",
                "vanished during the scan: cannot read"
            )]
        );
        assert_eq!(outcome.stats.errors, 1);
    }

    #[test]
    fn root_display_forms() {
        assert_eq!(display_root(Path::new(".")), "");
        assert_eq!(display_root(Path::new("./")), "");
        assert_eq!(display_root(Path::new("./sub/")), "sub");
        assert_eq!(display_root(Path::new("/abs/dir")), "/abs/dir");
        assert_eq!(display_root(Path::new("/")), "/");
        assert_eq!(
            display_path(Path::new("."), "", Path::new("./src/a.rs")),
            "src/a.rs"
        );
        assert_eq!(
            display_path(Path::new("sub"), "sub", Path::new("sub/a/b.rs")),
            "sub/a/b.rs"
        );
        assert_eq!(
            display_path(Path::new("/"), "/", Path::new("/etc/x")),
            "/etc/x"
        );
    }
}
