//! `--git`: every blob the history of all refs (or one ref) introduces, each distinct blob
//! scanned once in parallel, each finding attributed to the commit that first introduced it.

use crate::blob::{display_path, is_binary, read_blob, skipped_blob, BlobRead, Skip};
use crate::changes::{malformed, tree_changes, Change, Kind, PackedFirst};
use crate::collect::Collected;
use crate::commit::commit_info;
use crate::error::GitError;
use crate::packs::{self, Family, IdMap, Pack, PackedTrees, RawId};
use crate::{
    repo, served, GitScan, GitScanOptions, GitStats, HistoryReader, MissingBlob, Progress,
};
use git2::{Oid, Repository, Sort};
use rayon::prelude::*;
use sg_engine::{ContentMemo, Finding, ScanInput, Scanner};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// A distinct blob and every path that holds it, each with the order of the first commit
/// that put it there. The first path is the earliest.
struct BlobUse {
    id: Oid,
    paths: Vec<(String, u32)>,
}

/// The scanner, and the memo of what it found in content seen before.
type Memoized<'a> = (&'a Scanner, &'a ContentMemo);

enum Outcome {
    /// Findings at each path holding the blob, with that path's commit order.
    Scanned {
        bytes: u64,
        findings: Vec<(u32, Finding)>,
    },
    /// Not read: binary, or over the size limit.
    Skipped(Skip),
    /// Not in the repository (a partial clone).
    Missing,
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
    let packs = match opts.reader {
        HistoryReader::Packs => packs::open_packs(&repo.commondir().join("objects"))?,
        HistoryReader::Odb => Vec::new(),
    };
    // The packs' trees and commits, decoded in bulk: the sorted walk reads its commits
    // from them, and listing each commit's changes its trees.
    let packed = std::sync::Arc::new(PackedTrees::decode(&packs, opts.threads)?);
    let serving = served::serve_commits(&repo, std::sync::Arc::clone(&packed))?;
    let commits = commits_parents_first(&repo, branch);
    serving.stop();
    let commits = commits?;
    let shallow = repo::shallow_boundary(&repo)?;
    let mut stats = GitStats {
        commits: commits.len() as u64,
        shallow: repo.is_shallow(),
        ..GitStats::default()
    };
    let blobs = blob_uses(&repo, &packed, &commits, &shallow, &mut stats, opts)?;
    drop_in_background(packed);

    // Versions of a file share most of their lines: what their bytes alone decide is
    // worked out once.
    let memo = ContentMemo::new();
    let scanner = (scanner, &memo);
    let outcomes = match opts.reader {
        HistoryReader::Packs => {
            scan_packed_then_rest(&repo, &packs, scanner, &commits, &blobs, opts)?
        }
        HistoryReader::Odb => scan_blobs(repo.path(), scanner, &commits, &blobs, None, opts)?,
    };

    drop_in_background(memo);
    let mut collected = Collected::default();
    for (usage, outcome) in blobs.iter().zip(outcomes) {
        match outcome {
            Outcome::Skipped(skip) => {
                match skip {
                    Skip::Binary => stats.skipped_binary += 1,
                    Skip::Large(_) => stats.skipped_large += 1,
                }
                // Named by the first path and commit that hold the blob, like a missing one.
                let (path, order) = usage.paths.first().cloned().unwrap_or_default();
                let commit = commits
                    .get(order as usize)
                    .copied()
                    .unwrap_or_else(Oid::zero);
                stats.skipped.push(skipped_blob(
                    &path,
                    commit,
                    usage.id,
                    skip,
                    opts.max_file_size,
                ));
            }
            Outcome::Missing => {
                let (path, order) = usage.paths.first().cloned().unwrap_or_default();
                stats.missing.push(MissingBlob {
                    id: usage.id.to_string(),
                    path,
                    commit: commits
                        .get(order as usize)
                        .map(Oid::to_string)
                        .unwrap_or_default(),
                });
            }
            Outcome::Scanned { bytes, findings } => {
                stats.blobs_scanned += 1;
                stats.bytes_scanned += bytes;
                for (order, finding) in findings {
                    collected.add(order, finding);
                }
            }
        }
    }

    if !opts.allow_missing_objects {
        if let Some(first) = stats.missing.first() {
            return Err(GitError::MissingObject {
                id: first.id.clone(),
                path: first.path.clone(),
                commit: first.commit.clone(),
                more: stats.missing.len() - 1,
            });
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

/// Drops `value` on a thread of its own: freeing millions of small allocations (the
/// decoded trees, the memo's tables) then overlaps the rest of the scan instead of adding
/// to it.
fn drop_in_background<T: Send + 'static>(value: T) {
    let spawned = std::thread::Builder::new()
        .name("sg-free".into())
        .spawn(move || drop(value));
    // Without a thread, the value was dropped with the failed spawn's closure.
    drop(spawned);
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

/// Every distinct blob the commits introduce, with the paths it appears at. Each commit's
/// changes are listed in parallel (they are independent), then merged in commit order, so
/// the earliest commit still wins.
fn blob_uses(
    repo: &Repository,
    packed: &PackedTrees,
    commits: &[Oid],
    shallow: &HashSet<Oid>,
    stats: &mut GitStats,
    opts: &GitScanOptions<'_>,
) -> Result<Vec<BlobUse>, GitError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.unwrap_or(0))
        .build()
        .map_err(|e| GitError::Threads(e.to_string()))?;
    let git_dir = repo.path();
    let done = AtomicU64::new(0);
    let total = commits.len() as u64;
    // Each commit's changes as (display path, blob, kind), converted on the workers.
    type Listed = Vec<(String, Oid, Kind)>;
    let per_commit: Vec<Result<Listed, GitError>> = pool.install(|| {
        commits
            .par_iter()
            // Neighbouring commits share most of their trees: keep them on one worker,
            // whose repository caches the trees it has read.
            .with_min_len(64)
            .map_init(
                || repo::reopen(git_dir),
                |worker, &id| {
                    let changes = match worker {
                        Ok(repo) => commit_changes(repo, packed, id, shallow),
                        // GitError is not Clone: open again for the error itself.
                        Err(_) => Err(repo::reopen(git_dir).err().unwrap_or(GitError::Threads(
                            "a worker could not open the repository".into(),
                        ))),
                    };
                    if let Some(report) = opts.progress {
                        let done = done.fetch_add(1, Ordering::Relaxed) + 1;
                        report(Progress::Commits { done, total });
                    }
                    changes.map(|changes| {
                        changes
                            .into_iter()
                            .map(|c| (display_path(&c.path), c.new, c.kind))
                            .collect()
                    })
                },
            )
            .collect()
    });

    let mut blobs: Vec<BlobUse> = Vec::new();
    let mut slot_of: HashMap<Oid, usize, ahash::RandomState> = HashMap::default();
    // (slot, hash of a path) -> where that path is in the slot's list: a path is added to
    // a blob once, checked by comparing the path itself, so the set holds no copies.
    let path_hasher = ahash::RandomState::new();
    let mut seen_pairs: HashMap<(usize, u64), usize, ahash::RandomState> = HashMap::default();
    for (order, changes) in per_commit.into_iter().enumerate() {
        for (path, new, kind) in changes? {
            if kind == Kind::Submodule {
                stats.note_submodule(path);
                continue;
            }
            let slot = *slot_of.entry(new).or_insert_with(|| {
                blobs.push(BlobUse {
                    id: new,
                    paths: Vec::new(),
                });
                blobs.len() - 1
            });
            let paths = &mut blobs[slot].paths;
            let known = match seen_pairs.entry((slot, path_hasher.hash_one(&path))) {
                Entry::Occupied(at) => {
                    paths.get(*at.get()).is_some_and(|(p, _)| *p == path)
                        // Two paths with one hash: look through them all.
                        || paths.iter().any(|(p, _)| *p == path)
                }
                Entry::Vacant(at) => {
                    at.insert(paths.len());
                    false
                }
            };
            if !known {
                paths.push((path, order as u32));
            }
        }
    }
    Ok(blobs)
}

/// What commit `id` changes relative to its first parent (everything, for a root commit
/// or a shallow clone's cut-off commit).
fn commit_changes(
    repo: &Repository,
    packed: &PackedTrees,
    id: Oid,
    shallow: &HashSet<Oid>,
) -> Result<Vec<Change>, GitError> {
    let (tree, first_parent) = commit_links(repo, packed, id)?;
    // A merge is diffed against its first parent only: whatever it brings from the
    // other parents was already seen in their own commits, which come earlier.
    let parent_tree = match first_parent {
        Some(parent) if !shallow.contains(&id) => Some(commit_links(repo, packed, parent)?.0),
        _ => None,
    };
    let odb = repo
        .odb()
        .map_err(GitError::git("cannot open the object database"))?;
    tree_changes(&PackedFirst { packed, odb: &odb }, parent_tree, tree)
}

/// A commit's tree and first parent, from the packs' decoded commits or else libgit2.
fn commit_links(
    repo: &Repository,
    packed: &PackedTrees,
    id: Oid,
) -> Result<(Oid, Option<Oid>), GitError> {
    use gix_object::commit::ref_iter::Token;
    let bytes = RawId::try_from(id.as_bytes())
        .ok()
        .and_then(|raw| packed.get(&raw, Family::Commit));
    let Some(bytes) = bytes else {
        let commit = repo.find_commit(id).map_err(GitError::object(id, None))?;
        let parent = match commit.parent_count() {
            0 => None,
            _ => Some(commit.parent_id(0).map_err(GitError::object(id, None))?),
        };
        return Ok((commit.tree_id(), parent));
    };
    let bad = |e: &dyn std::fmt::Display| malformed(id, b"", format!("malformed commit: {e}"));
    let as_oid = |id: gix_hash::ObjectId| Oid::from_bytes(id.as_bytes()).map_err(|e| bad(&e));
    let mut tokens = gix_object::CommitRefIter::from_bytes(bytes, gix_hash::Kind::Sha1);
    let tree = as_oid(tokens.tree_id().map_err(|e| bad(&e))?)?;
    let parent = match tokens.next() {
        Some(Ok(Token::Parent { id })) => Some(as_oid(id)?),
        Some(Err(e)) => return Err(bad(&e)),
        _ => None,
    };
    Ok((tree, parent))
}

/// The pack reader: every pack decoded once, in parallel, each wanted blob scanned as it
/// is decoded; then whatever no pack held (loose objects, alternates, blobs a partial
/// clone left out) through libgit2, one blob at a time.
fn scan_packed_then_rest(
    repo: &Repository,
    packs: &[Pack],
    scanner: Memoized<'_>,
    commits: &[Oid],
    blobs: &[BlobUse],
    opts: &GitScanOptions<'_>,
) -> Result<Vec<Outcome>, GitError> {
    let mut wanted: IdMap<usize> = packs::id_map(blobs.len());
    for (slot, usage) in blobs.iter().enumerate() {
        if let Ok(id) = RawId::try_from(usage.id.as_bytes()) {
            wanted.insert(id, slot);
        }
    }
    let found: Vec<OnceLock<Outcome>> = (0..blobs.len()).map(|_| OnceLock::new()).collect();
    let done = AtomicU64::new(0);
    let total = blobs.len() as u64;
    packs::visit_packed_blobs(packs, &wanted, blobs.len(), opts.threads, |slot, bytes| {
        let (Some(usage), Some(cell)) = (blobs.get(slot), found.get(slot)) else {
            return;
        };
        let outcome = if bytes.len() as u64 > opts.max_file_size {
            Outcome::Skipped(Skip::Large(bytes.len() as u64))
        } else if is_binary(bytes) {
            Outcome::Skipped(Skip::Binary)
        } else {
            scan_bytes(scanner, commits, usage, bytes)
        };
        // Each slot is visited at most once, so the cell is always empty here.
        let _ = cell.set(outcome);
        if let Some(report) = opts.progress {
            let done = done.fetch_add(1, Ordering::Relaxed) + 1;
            report(Progress::Blobs { done, total });
        }
    })?;
    let mut outcomes: Vec<Option<Outcome>> = found.into_iter().map(OnceLock::into_inner).collect();
    let rest: Vec<usize> = (0..blobs.len())
        .filter(|&slot| outcomes[slot].is_none())
        .collect();
    if !rest.is_empty() {
        let read = scan_blobs(repo.path(), scanner, commits, blobs, Some(&rest), opts)?;
        for (slot, outcome) in rest.into_iter().zip(read) {
            outcomes[slot] = Some(outcome);
        }
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::Missing))
        .collect())
}

/// Reads and scans each blob once (or each of the blobs at the slots `only`), in
/// parallel, each through libgit2's object database. Each worker holds one blob at a
/// time, so memory follows the largest blob rather than the history.
fn scan_blobs(
    git_dir: &Path,
    scanner: Memoized<'_>,
    commits: &[Oid],
    blobs: &[BlobUse],
    only: Option<&[usize]>,
    opts: &GitScanOptions<'_>,
) -> Result<Vec<Outcome>, GitError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.unwrap_or(0))
        .build()
        .map_err(|e| GitError::Threads(e.to_string()))?;
    let done = AtomicU64::new(0);
    let selected: Vec<&BlobUse> = match only {
        Some(slots) => slots.iter().filter_map(|&slot| blobs.get(slot)).collect(),
        None => blobs.iter().collect(),
    };
    let total = selected.len() as u64;
    let max_size = opts.max_file_size;
    pool.install(|| {
        selected
            .par_iter()
            .map_init(
                || repo::reopen(git_dir),
                |worker, &usage| {
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
    scanner: Memoized<'_>,
    commits: &[Oid],
    usage: &BlobUse,
    max_size: u64,
) -> Result<Outcome, GitError> {
    let Some((path, _)) = usage.paths.first() else {
        return Ok(Outcome::Scanned {
            bytes: 0,
            findings: Vec::new(),
        });
    };
    let odb = repo
        .odb()
        .map_err(GitError::git("cannot open the object database"))?;
    let object = match read_blob(&odb, usage.id, path, max_size) {
        Ok(BlobRead::Text(object)) => object,
        Ok(BlobRead::Binary) => return Ok(Outcome::Skipped(Skip::Binary)),
        Ok(BlobRead::Large(size)) => return Ok(Outcome::Skipped(Skip::Large(size))),
        Err(GitError::Object { reason, .. }) if reason.code == git2::ErrorCode::NotFound => {
            return Ok(Outcome::Missing)
        }
        Err(e) => return Err(e),
    };
    Ok(scan_bytes(scanner, commits, usage, object.data()))
}

/// Scans a text blob's bytes at its first path, and relocates what was found to every
/// other path holding it.
fn scan_bytes(scanner: Memoized<'_>, commits: &[Oid], usage: &BlobUse, bytes: &[u8]) -> Outcome {
    let Some((path, order)) = usage.paths.first() else {
        return Outcome::Scanned {
            bytes: 0,
            findings: Vec::new(),
        };
    };
    let (scanner, memo) = scanner;
    let commit = commits.get(*order as usize).map(Oid::to_string);
    let found = scanner.scan_with(
        ScanInput {
            path,
            bytes,
            commit: commit.as_deref(),
        },
        Some(memo),
    );
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
    Outcome::Scanned {
        bytes: bytes.len() as u64,
        findings,
    }
}
