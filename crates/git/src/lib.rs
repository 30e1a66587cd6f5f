//! Git scanning for secrets-guard: what the index holds for the next commit (`--staged`),
//! the lines a commit range adds (`--range`, for pull requests), and whole histories
//! (`--git`), plus installing the pre-commit hook.
//!
//! Repositories are read in-process, never through a `git` subprocess: `git2` for refs, the
//! index, revwalks and trees; history scans read blobs by decoding each pack once with
//! `gix-pack` (deltas resolved in parallel), and anything no pack holds through `git2`.
//! They scan each distinct blob once, in parallel, and attribute every finding to the
//! earliest commit that introduced it at that path. Errors fail closed: a scan that cannot
//! read what it was asked to scan is an error, never an empty result.

mod blob;
mod changes;
mod collect;
mod commit;
mod error;
mod history;
mod hooks;
mod index;
mod lines;
mod loose;
mod packs;
mod range;
mod repo;
mod served;
mod staged;

pub use error::GitError;
pub use history::scan_history;
pub use hooks::{hooks_dir, install_hook, HookInstall};
pub use range::{range_config, scan_range, RangeConfig};
pub use repo::config_root;
pub use staged::scan_staged;

use serde::Serialize;
use sg_engine::{Finding, ScanStats, Skipped, Unreadable};

/// How far a history scan has got, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Listing what each commit introduces.
    Commits { done: u64, total: u64 },
    /// Scanning the distinct blobs found.
    Blobs { done: u64, total: u64 },
}

/// Settings shared by the git scans.
#[derive(Clone, Copy)]
pub struct GitScanOptions<'a> {
    /// Blobs larger than this many bytes are skipped and counted, never read.
    pub max_file_size: u64,
    /// Worker threads for history scans (`None`: one per core).
    pub threads: Option<usize>,
    /// `--staged` only: report secrets on every line of the staged files, not only added lines.
    pub all_lines: bool,
    /// Called from worker threads as a history scan advances.
    pub progress: Option<&'a (dyn Fn(Progress) + Sync)>,
    /// `--git`: scan what is present when blobs are missing (a partial clone), listing
    /// the missing ones in [`GitStats::missing`] instead of failing.
    pub allow_missing_objects: bool,
    /// `--git`: how blobs are read.
    pub reader: HistoryReader,
}

/// How a history scan reads the blobs it scans.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HistoryReader {
    /// Every pack decoded once with its deltas resolved in parallel; what no pack holds
    /// (loose objects, alternates) read through libgit2.
    #[default]
    Packs,
    /// Each blob looked up on its own through libgit2's object database (the reader before
    /// the pack reader, kept to compare against).
    Odb,
}

impl Default for GitScanOptions<'_> {
    fn default() -> Self {
        GitScanOptions {
            max_file_size: 10 * 1024 * 1024,
            threads: None,
            all_lines: false,
            progress: None,
            allow_missing_objects: false,
            reader: HistoryReader::default(),
        }
    }
}

/// What a git scan read and skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GitStats {
    /// Commits whose changes were examined.
    pub commits: u64,
    /// Distinct blobs read and scanned (each at most once per scan).
    pub blobs_scanned: u64,
    pub bytes_scanned: u64,
    pub skipped_binary: u64,
    /// Blobs over the size limit, skipped without being read.
    pub skipped_large: u64,
    /// Paths of submodules seen, which are not descended into; sorted, distinct.
    pub submodules: Vec<String>,
    /// A history scan of a shallow clone: commits before the clone's depth were not there
    /// to scan, and each cut-off commit counts as introducing everything it holds.
    pub shallow: bool,
    /// Blobs the history holds but the repository does not (a partial clone), skipped
    /// under `allow_missing_objects`; in the order the history introduces them.
    pub missing: Vec<MissingBlob>,
    /// What was skipped on purpose (large, binary, archive limits), by name: staged files
    /// by path; history and range blobs by path, commit and blob id (history scans: each
    /// distinct blob once, at the first path and commit that hold it).
    pub skipped: Vec<Skipped>,
    /// What could not be read or was refused (`--staged`: oversized or undecodable files),
    /// by path: the scan goes on and then fails.
    pub errors: Vec<Unreadable>,
}

/// A blob a history scan could not read because the repository does not hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingBlob {
    pub id: String,
    /// The first path that holds it.
    pub path: String,
    /// The commit that first put it there.
    pub commit: String,
}

impl GitStats {
    /// The counts in the form every scan mode reports.
    pub fn scan_stats(&self) -> ScanStats {
        ScanStats {
            files: self.blobs_scanned,
            bytes: self.bytes_scanned,
            skipped_binary: self.skipped_binary,
            skipped_large: self.skipped_large,
            errors: self.errors.len() as u64,
        }
    }

    pub(crate) fn note_submodule(&mut self, path: String) {
        if let Err(at) = self.submodules.binary_search(&path) {
            self.submodules.insert(at, path);
        }
    }
}

/// The result of a git scan: findings (with `commit` filled for history and range scans)
/// and what was read.
#[derive(Debug, Clone, Default)]
pub struct GitScan {
    pub findings: Vec<Finding>,
    pub stats: GitStats,
}
