//! The working-tree scan: a parallel walk that honours ignore files, reads each file once
//! into a per-thread buffer, and hands it to the [`Scanner`].

use crate::error::EngineError;
use crate::finding::{Finding, ScanStats};
use crate::generated;
use crate::scanner::{ScanInput, Scanner};
use ignore::{DirEntry, ParallelVisitor, ParallelVisitorBuilder, WalkBuilder, WalkState};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Binary sniffing looks for a NUL byte in this much of the file, as git does.
const SNIFF: usize = 8 * 1024;

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
}

impl Default for WalkOptions {
    fn default() -> WalkOptions {
        WalkOptions {
            threads: 0,
            max_file_size: 10 * 1024 * 1024,
            exclude: Vec::new(),
        }
    }
}

/// What a working-tree scan found and read.
#[derive(Debug, Clone, Default)]
pub struct WalkOutcome {
    /// Sorted by path, then position: the same whatever the thread count.
    pub findings: Vec<Finding>,
    pub stats: ScanStats,
    /// Source maps and minified bundles, skipped.
    pub skipped_generated: u64,
    /// One message per file or directory that could not be read, sorted. Each is also
    /// counted in `stats.errors`.
    pub problems: Vec<String>,
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
    for root in roots {
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
            if root.is_file() {
                worker.scan_file(root, shown.clone());
            } else {
                // A FIFO or device would block or never end: named, not read.
                worker.problem(format!(
                    "{}: not a regular file or directory",
                    root.display()
                ));
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
    outcome.problems.sort();
    outcome.problems.dedup();
    Ok(outcome)
}

/// The root as the user named it, `/`-separated, without `./` in front or `/` behind;
/// empty for the current directory.
fn display_root(root: &Path) -> String {
    let mut s = root.to_string_lossy().replace('\\', "/");
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

/// The path shown for `path`, found under `root` (shown as `shown`).
fn display_path(root: &Path, shown: &str, path: &Path) -> String {
    let below = path
        .strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    match (shown.is_empty(), below.is_empty()) {
        (true, _) => below,
        (false, true) => shown.to_owned(),
        (false, false) if shown.ends_with('/') => format!("{shown}{below}"),
        (false, false) => format!("{shown}/{below}"),
    }
}

/// `path: cannot read: reason` for a walk error, whatever wrapping `ignore` added.
fn describe(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithDepth { err, .. } => describe(err),
        ignore::Error::WithPath { path, err } => match err.as_ref() {
            ignore::Error::Io(io) => format!("{}: cannot read: {io}", path.display()),
            other => format!("{}: {}", path.display(), describe(other)),
        },
        other => other.to_string(),
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

    fn problem(&mut self, message: String) {
        self.local.stats.errors += 1;
        self.local.problems.push(message);
    }

    fn visit_entry(&mut self, entry: DirEntry) {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            return;
        }
        let path = entry.path();
        let shown = display_path(self.root, self.shown, path);
        self.scan_file(path, shown);
    }

    fn scan_file(&mut self, path: &Path, shown: String) {
        // Cheap checks on the name first: most skipped files are never opened.
        if self.scanner.rules().is_path_allowed(&shown) {
            return;
        }
        if generated::is_generated_path(&shown) {
            self.local.skipped_generated += 1;
            return;
        }
        if !self.exclude.is_empty() && self.is_excluded(path) {
            return;
        }
        let mut file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => return self.problem(format!("{}: cannot read: {e}", path.display())),
        };
        let size = match file.metadata() {
            Ok(m) => m.len(),
            Err(e) => return self.problem(format!("{}: cannot read: {e}", path.display())),
        };
        if size > self.options.max_file_size {
            self.local.stats.skipped_large += 1;
            self.add_path_findings(&shown);
            return;
        }
        self.buf.clear();
        // `take` bounds the read even if the file grows while we read it.
        let limit = self.options.max_file_size.saturating_add(1);
        if let Err(e) = (&mut file).take(limit).read_to_end(&mut self.buf) {
            return self.problem(format!("{}: cannot read: {e}", path.display()));
        }
        if self.buf.len() as u64 > self.options.max_file_size {
            self.local.stats.skipped_large += 1;
            self.add_path_findings(&shown);
            return;
        }
        let sniff = &self.buf[..self.buf.len().min(SNIFF)];
        if memchr::memchr(0, sniff).is_some() {
            self.local.stats.skipped_binary += 1;
            self.add_path_findings(&shown);
            return;
        }
        if generated::looks_minified(&shown, &self.buf) {
            self.local.skipped_generated += 1;
            return;
        }
        self.local.stats.files += 1;
        self.local.stats.bytes += self.buf.len() as u64;
        let found = self.scanner.scan(ScanInput {
            path: &shown,
            bytes: &self.buf,
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
            Err(err) => self.problem(describe(&err)),
        }
        WalkState::Continue
    }
}

impl Drop for Worker<'_> {
    fn drop(&mut self) {
        let local = std::mem::take(&mut self.local);
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        shared.findings.extend(local.findings);
        shared.problems.extend(local.problems);
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
