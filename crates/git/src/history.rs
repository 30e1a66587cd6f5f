//! `--git`: every blob the history of all refs (or one ref) introduces, each distinct blob
//! scanned once in parallel, each finding attributed to the commit that first introduced it.

use crate::blob::{display_path, read_blob, BlobRead};
use crate::changes::{tree_changes, Kind};
use crate::collect::Collected;
use crate::commit::commit_info;
use crate::error::GitError;
use crate::{repo, GitScan, GitScanOptions, GitStats, Progress};
use git2::{Oid, Repository, Sort};
use rayon::prelude::*;
use sg_engine::{Finding, ScanInput, Scanner};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// A distinct blob and every path that holds it, each with the order of the first commit
/// that put it there. The first path is the earliest.
struct BlobUse {
    id: Oid,
    paths: Vec<(String, u32)>,
}

enum Outcome {
    /// Findings at each path holding the blob, with that path's commit order.
    Scanned {
        bytes: u64,
        findings: Vec<(u32, Finding)>,
    },
    Binary,
    Large,
}

/// Scans the history reachable from every ref (or from `branch` only) of the repository
/// containing `path`.
pub fn scan_history(
    path: &Path,
    scanner: &Scanner,
    branch: Option<&str>,
    opts: &GitScanOptions<'_>,
) -> Result<GitScan, GitError> {
    let repo = repo::open(path)?;
    let commits = commits_parents_first(&repo, branch)?;
    let shallow = repo::shallow_boundary(&repo)?;
    let mut stats = GitStats {
        commits: commits.len() as u64,
        shallow: repo.is_shallow(),
        ..GitStats::default()
    };
    let blobs = blob_uses(&repo, &commits, &shallow, &mut stats, opts)?;

    let outcomes = scan_blobs(repo.path(), scanner, &commits, &blobs, opts)?;

    let mut collected = Collected::default();
    for outcome in outcomes {
        match outcome {
            Outcome::Binary => stats.skipped_binary += 1,
            Outcome::Large => stats.skipped_large += 1,
            Outcome::Scanned { bytes, findings } => {
                stats.blobs_scanned += 1;
                stats.bytes_scanned += bytes;
                for (order, finding) in findings {
                    collected.add(order, finding);
                }
            }
        }
    }

    let mut infos: HashMap<u32, sg_engine::CommitInfo> = HashMap::new();
    let mut findings = Vec::new();
    for (order, mut finding) in collected.into_sorted() {
        let info = match infos.get(&order) {
            Some(info) => info.clone(),
            None => {
                let id = commits[order as usize];
                let commit = repo.find_commit(id).map_err(GitError::object(id, None))?;
                let info = commit_info(&commit);
                infos.insert(order, info.clone());
                info
            }
        };
        finding.commit = Some(info);
        findings.push(finding);
    }
    Ok(GitScan { findings, stats })
}

/// Commit ids with every parent before its children (oldest first), so the first commit
/// seen to introduce a blob at a path is the one that introduced it.
fn commits_parents_first(repo: &Repository, branch: Option<&str>) -> Result<Vec<Oid>, GitError> {
    let mut walk = repo
        .revwalk()
        .map_err(GitError::git("cannot walk the history"))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME | Sort::REVERSE)
        .map_err(GitError::git("cannot walk the history"))?;
    match branch {
        Some(name) => {
            let commit = repo
                .revparse_single(name)
                .and_then(|object| object.peel_to_commit())
                .map_err(|source| GitError::Revision {
                    spec: name.to_owned(),
                    reason: source.into(),
                })?;
            walk.push(commit.id())
                .map_err(GitError::git(format!("cannot walk the history of {name}")))?;
        }
        None => {
            walk.push_glob("*")
                .map_err(GitError::git("cannot list the repository's refs"))?;
            // A detached HEAD is history no ref names; an unborn one has none.
            if let Some(id) = repo.head().ok().and_then(|h| h.target()) {
                walk.push(id)
                    .map_err(GitError::git("cannot walk the history of HEAD"))?;
            }
        }
    }
    walk.collect::<Result<Vec<Oid>, git2::Error>>()
        .map_err(GitError::git("cannot walk the history"))
}

/// Every distinct blob the commits introduce, with the paths it appears at.
fn blob_uses(
    repo: &Repository,
    commits: &[Oid],
    shallow: &HashSet<Oid>,
    stats: &mut GitStats,
    opts: &GitScanOptions<'_>,
) -> Result<Vec<BlobUse>, GitError> {
    let mut blobs: Vec<BlobUse> = Vec::new();
    let mut slot_of: HashMap<Oid, usize> = HashMap::new();
    let mut seen_pairs: HashSet<(usize, String)> = HashSet::new();
    let total = commits.len() as u64;
    for (order, &id) in commits.iter().enumerate() {
        let commit = repo.find_commit(id).map_err(GitError::object(id, None))?;
        let tree = commit
            .tree()
            .map_err(GitError::object(commit.tree_id(), None))?;
        // A merge is diffed against its first parent only: whatever it brings from the
        // other parents was already seen in their own commits, which come earlier.
        let parent_tree = if commit.parent_count() == 0 || shallow.contains(&id) {
            None
        } else {
            let parent_id = commit.parent_id(0).map_err(GitError::object(id, None))?;
            let parent = repo
                .find_commit(parent_id)
                .map_err(GitError::object(parent_id, None))?;
            Some(
                parent
                    .tree()
                    .map_err(GitError::object(parent.tree_id(), None))?,
            )
        };
        for change in tree_changes(repo, parent_tree.as_ref(), &tree)? {
            let path = display_path(&change.path);
            if change.kind == Kind::Submodule {
                stats.note_submodule(path);
                continue;
            }
            let slot = *slot_of.entry(change.new).or_insert_with(|| {
                blobs.push(BlobUse {
                    id: change.new,
                    paths: Vec::new(),
                });
                blobs.len() - 1
            });
            if seen_pairs.insert((slot, path.clone())) {
                blobs[slot].paths.push((path, order as u32));
            }
        }
        if let Some(report) = opts.progress {
            report(Progress::Commits {
                done: order as u64 + 1,
                total,
            });
        }
    }
    Ok(blobs)
}

/// Reads and scans each blob once, in parallel. Each worker holds one blob at a time, so
/// memory follows the largest blob rather than the history.
fn scan_blobs(
    git_dir: &Path,
    scanner: &Scanner,
    commits: &[Oid],
    blobs: &[BlobUse],
    opts: &GitScanOptions<'_>,
) -> Result<Vec<Outcome>, GitError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.unwrap_or(0))
        .build()
        .map_err(|e| GitError::Threads(e.to_string()))?;
    let done = AtomicU64::new(0);
    let total = blobs.len() as u64;
    let max_size = opts.max_file_size;
    pool.install(|| {
        blobs
            .par_iter()
            .map_init(
                || repo::reopen(git_dir),
                |worker, usage| {
                    let repo = match worker {
                        Ok(repo) => repo,
                        Err(_) => {
                            return Err(repo::reopen(git_dir).err().unwrap_or(GitError::Threads(
                                "a worker could not open the repository".into(),
                            )))
                        }
                    };
                    let outcome = scan_one(repo, scanner, commits, usage, max_size);
                    if let Some(report) = opts.progress {
                        let done = done.fetch_add(1, Ordering::Relaxed) + 1;
                        report(Progress::Blobs { done, total });
                    }
                    outcome
                },
            )
            .collect()
    })
}

fn scan_one(
    repo: &Repository,
    scanner: &Scanner,
    commits: &[Oid],
    usage: &BlobUse,
    max_size: u64,
) -> Result<Outcome, GitError> {
    let Some((path, order)) = usage.paths.first() else {
        return Ok(Outcome::Scanned {
            bytes: 0,
            findings: Vec::new(),
        });
    };
    let odb = repo
        .odb()
        .map_err(GitError::git("cannot open the object database"))?;
    let object = match read_blob(&odb, usage.id, path, max_size)? {
        BlobRead::Text(object) => object,
        BlobRead::Binary => return Ok(Outcome::Binary),
        BlobRead::Large => return Ok(Outcome::Large),
    };
    let bytes = object.data();
    let commit = commits.get(*order as usize).map(Oid::to_string);
    let found = scanner.scan(ScanInput {
        path,
        bytes,
        commit: commit.as_deref(),
    });
    // Every other path holding the blob, while its bytes are at hand: a path may change
    // what the rules say (a lockfile, a generated name, a path allowlist).
    let mut findings: Vec<(u32, Finding)> = found.iter().map(|f| (*order, f.clone())).collect();
    for (other, other_order) in usage.paths.iter().skip(1) {
        let other_commit = commits.get(*other_order as usize).map(Oid::to_string);
        let moved = scanner.relocate(
            &found,
            path,
            ScanInput {
                path: other,
                bytes,
                commit: other_commit.as_deref(),
            },
        );
        findings.extend(moved.into_iter().map(|f| (*other_order, f)));
    }
    Ok(Outcome::Scanned {
        bytes: bytes.len() as u64,
        findings,
    })
}
