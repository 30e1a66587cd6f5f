//! `--range BASE..HEAD` (and `--since REF`): the lines the commits of a range add, for
//! CI on pull requests. A shallow clone that lacks part of the range is an error.

use crate::blob::{display_path, read_bytes, read_text, skipped_blob, Skip, TextRead};
use crate::changes::{tree_changes, Change, Kind};
use crate::collect::Collected;
use crate::commit::commit_info;
use crate::error::GitError;
use crate::lines::AddedLines;
use crate::{repo, GitScan, GitScanOptions};
use git2::{Commit, Odb, Oid, Repository, Sort};
use sg_engine::{ContentMemo, Finding, ScanInput, Scanner, Unreadable};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Scans the lines added by the commits in `spec` (`BASE..HEAD`; `BASE..` means
/// `BASE..HEAD`) in the repository containing `path`. Each finding is attributed to the
/// earliest commit of the range that added it.
pub fn scan_range(
    path: &Path,
    scanner: &Scanner,
    spec: &str,
    opts: &GitScanOptions<'_>,
) -> Result<GitScan, GitError> {
    let repo = repo::open(path)?;
    let (base_spec, head_spec) = split_range(spec)?;
    let shallow_error = |detail: String| GitError::Shallow {
        path: repo.path().to_path_buf(),
        range: spec.to_owned(),
        detail,
    };
    let base = resolve(&repo, base_spec).map_err(|e| match e {
        GitError::Revision { spec: s, .. } if repo.is_shallow() => {
            shallow_error(format!("`{s}` is not in this clone"))
        }
        other => other,
    })?;
    let head = resolve(&repo, head_spec)?;
    let shallow = repo::shallow_boundary(&repo)?;

    let mut walk = repo
        .revwalk()
        .map_err(GitError::git("cannot walk the history"))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME | Sort::REVERSE)
        .map_err(GitError::git("cannot walk the history"))?;
    walk.push(head.id())
        .and_then(|()| walk.hide(base.id()))
        .map_err(GitError::git(format!("cannot walk {spec}")))?;
    let commits = walk
        .collect::<Result<Vec<Oid>, git2::Error>>()
        .map_err(|source| {
            if repo.is_shallow() {
                shallow_error(source.message().to_owned())
            } else {
                GitError::git(format!("cannot walk {spec}"))(source)
            }
        })?;
    if let Some(cut) = commits.iter().find(|id| shallow.contains(id)) {
        return Err(shallow_error(format!(
            "the walk from {head_spec} reaches the clone's cut-off at {cut} before {base_spec}"
        )));
    }

    let odb = repo
        .odb()
        .map_err(GitError::git("cannot open the object database"))?;
    let mut out = GitScan::default();
    out.stats.commits = commits.len() as u64;
    let mut scans = BlobScans::default();
    let mut collected = Collected::default();
    let mut infos: HashMap<u32, sg_engine::CommitInfo> = HashMap::new();
    for (order, &id) in commits.iter().enumerate() {
        let commit = repo.find_commit(id).map_err(GitError::object(id, None))?;
        let order = order as u32;
        let found = added_findings(&repo, &odb, scanner, &commit, &mut scans, &mut out, opts)?;
        if !found.is_empty() {
            infos.insert(order, commit_info(&commit));
        }
        for finding in found {
            collected.add(order, finding);
        }
    }
    for (order, mut finding) in collected.into_sorted() {
        finding.commit = infos.get(&order).cloned();
        out.findings.push(finding);
    }
    Ok(out)
}

/// The config file at the two ends of a range, as stored in each commit's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeConfig {
    /// The file's bytes at the base revision, if it has one.
    pub base: Option<Vec<u8>>,
    /// Whether the range changes, adds or removes the file.
    pub changed: bool,
}

/// `name` (a path at the top of the tree, e.g. `.secrets-guard.toml`) at the base and head
/// of `spec`: a pull request that edits its own allowlist must not be judged by it.
pub fn range_config(path: &Path, spec: &str, name: &str) -> Result<RangeConfig, GitError> {
    let repo = repo::open(path)?;
    let (base_spec, head_spec) = split_range(spec)?;
    let blob_at = |spec: &str| -> Result<Option<Oid>, GitError> {
        let commit = resolve(&repo, spec)?;
        let tree = commit
            .tree()
            .map_err(GitError::object(commit.tree_id(), None))?;
        Ok(tree.get_name(name).map(|e| e.id()))
    };
    let base = blob_at(base_spec)?;
    let head = blob_at(head_spec)?;
    let base_bytes = match base {
        Some(id) => Some(
            repo.find_blob(id)
                .map_err(GitError::object(id, Some(name)))?
                .content()
                .to_vec(),
        ),
        None => None,
    };
    Ok(RangeConfig {
        base: base_bytes,
        changed: base != head,
    })
}

fn split_range(spec: &str) -> Result<(&str, &str), GitError> {
    let bad = || GitError::BadRange {
        spec: spec.to_owned(),
    };
    if spec.contains("...") {
        return Err(bad());
    }
    let (base, head) = spec.split_once("..").ok_or_else(bad)?;
    if base.is_empty() {
        return Err(bad());
    }
    Ok((base, if head.is_empty() { "HEAD" } else { head }))
}

fn resolve<'r>(repo: &'r Repository, spec: &str) -> Result<Commit<'r>, GitError> {
    repo.revparse_single(spec)
        .and_then(|object| object.peel_to_commit())
        .map_err(|source| GitError::Revision {
            spec: spec.to_owned(),
            reason: source.into(),
        })
}

/// Scan results per distinct blob, so a blob reached by several commits is read and
/// scanned once. `None`: skipped (binary or too large).
#[derive(Default)]
struct BlobScans {
    /// Per blob: the path it was scanned under, and its findings there (`None`: skipped).
    by_id: HashMap<Oid, (String, Option<Vec<Finding>>)>,
    /// The versions of a file across the range share most of their lines.
    memo: ContentMemo,
}

/// The findings on lines `commit` adds. A merge adds only what none of its parents had.
fn added_findings(
    repo: &Repository,
    odb: &Odb<'_>,
    scanner: &Scanner,
    commit: &Commit<'_>,
    scans: &mut BlobScans,
    out: &mut GitScan,
    opts: &GitScanOptions<'_>,
) -> Result<Vec<Finding>, GitError> {
    let tree = commit.tree_id();
    let mut per_parent: Vec<Vec<Change>> = Vec::new();
    for index in 0..commit.parent_count().max(1) {
        let parent_tree = if commit.parent_count() == 0 {
            None
        } else {
            let parent_id = commit
                .parent_id(index)
                .map_err(GitError::object(commit.id(), None))?;
            let parent = repo
                .find_commit(parent_id)
                .map_err(GitError::object(parent_id, None))?;
            Some(parent.tree_id())
        };
        per_parent.push(tree_changes(odb, parent_tree, tree)?);
    }
    let others: Vec<HashMap<&[u8], &Change>> = per_parent
        .iter()
        .skip(1)
        .map(|changes| changes.iter().map(|c| (c.path.as_slice(), c)).collect())
        .collect();

    let mut found = Vec::new();
    let mut submodules = HashSet::new();
    for change in per_parent.first().map(Vec::as_slice).unwrap_or_default() {
        let path = display_path(&change.path);
        if change.kind == Kind::Submodule {
            submodules.insert(path);
            continue;
        }
        // Unchanged relative to some parent: the merge took this file from that parent.
        let other_changes: Option<Vec<&Change>> = others
            .iter()
            .map(|m| m.get(change.path.as_slice()).copied())
            .collect();
        let Some(other_changes) = other_changes else {
            continue;
        };
        let blob_findings = scan_blob(
            odb,
            scanner,
            change.new,
            &path,
            commit.id(),
            scans,
            out,
            opts,
        )?;
        if blob_findings.is_empty() {
            continue;
        }
        let new_bytes = read_bytes(odb, change.new, &path)?;
        let mut added = added_lines(odb, change.old, new_bytes.data(), &path)?;
        for other in other_changes {
            added = added.intersect(&added_lines(odb, other.old, new_bytes.data(), &path)?);
        }
        for finding in blob_findings {
            if added.touches(finding.line, finding.end_line) {
                found.push(finding);
            }
        }
    }
    for path in submodules {
        out.stats.note_submodule(path);
    }
    Ok(found)
}

fn added_lines(
    odb: &Odb<'_>,
    old: Option<Oid>,
    new: &[u8],
    path: &str,
) -> Result<AddedLines, GitError> {
    match old {
        None => Ok(AddedLines::all()),
        Some(old) => {
            let before = read_bytes(odb, old, path)?;
            AddedLines::between(before.data(), new)
                .map_err(GitError::git(format!("cannot diff {path} at {old}")))
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn scan_blob(
    odb: &Odb<'_>,
    scanner: &Scanner,
    id: Oid,
    path: &str,
    commit: Oid,
    scans: &mut BlobScans,
    out: &mut GitScan,
    opts: &GitScanOptions<'_>,
) -> Result<Vec<Finding>, GitError> {
    if let Some((from, known)) = scans.by_id.get(&id) {
        return match known {
            None => Ok(Vec::new()),
            Some(found) if from == path => Ok(found.clone()),
            Some(found) => {
                // Another path may change what the rules say (a lockfile, a generated
                // name, a path allowlist): the engine moves the findings or rescans.
                let bytes = read_bytes(odb, id, path)?;
                let commit = commit.to_string();
                Ok(scanner.relocate(
                    found,
                    from,
                    ScanInput {
                        path,
                        bytes: bytes.data(),
                        commit: Some(&commit),
                    },
                ))
            }
        };
    }
    let content = match read_text(odb, id, path, opts.max_file_size) {
        Ok(content) => content,
        Err(e) => {
            // Named, and the rest of the range still scanned; the scan then fails.
            out.stats.errors.push(Unreadable::new(
                format!("{path} (commit {commit})"),
                e.to_string(),
            ));
            scans.by_id.insert(id, (path.to_owned(), None));
            return Ok(Vec::new());
        }
    };
    let result = match &content {
        TextRead::Binary(_) => {
            out.stats.skipped_binary += 1;
            out.stats.skipped.push(skipped_blob(
                path,
                commit,
                id,
                Skip::Binary,
                opts.max_file_size,
            ));
            None
        }
        TextRead::Large(size) => {
            out.stats.skipped_large += 1;
            out.stats.skipped.push(skipped_blob(
                path,
                commit,
                id,
                Skip::Large(*size),
                opts.max_file_size,
            ));
            None
        }
        TextRead::Text(_) | TextRead::Decoded(_) => {
            let text = content.text().unwrap_or_default();
            out.stats.blobs_scanned += 1;
            out.stats.bytes_scanned += text.len() as u64;
            let commit = commit.to_string();
            Some(scanner.scan_with(
                ScanInput {
                    path,
                    bytes: text,
                    commit: Some(&commit),
                },
                Some(&scans.memo),
            ))
        }
    };
    scans.by_id.insert(id, (path.to_owned(), result.clone()));
    Ok(result.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::split_range;

    #[test]
    fn ranges_need_a_base_and_default_the_head() {
        assert_eq!(split_range("main..feature").ok(), Some(("main", "feature")));
        assert_eq!(split_range("v1..").ok(), Some(("v1", "HEAD")));
        assert!(split_range("main...feature").is_err());
        assert!(split_range("..HEAD").is_err());
        assert!(split_range("main").is_err());
    }
}
