//! `--staged`: what the index holds for each path staged for commit, diffed against HEAD.

use crate::blob::{display_path, read_blob, read_bytes, BlobRead};
use crate::error::GitError;
use crate::lines::AddedLines;
use crate::{repo, GitScan, GitScanOptions};
use git2::{Delta, DiffOptions, ErrorCode, FileMode};
use sg_engine::{ScanInput, Scanner};
use std::path::Path;

/// Scans the blobs the index stages for commit at the repository containing `path`.
///
/// Only paths that differ between HEAD (or nothing, before the first commit) and the index
/// are read, and their content comes from the index, never the working tree, so partial
/// staging is scanned as it will be committed. Unless `all_lines` is set, a finding is kept
/// only when its secret lies on a line the commit adds.
pub fn scan_staged(
    path: &Path,
    scanner: &Scanner,
    opts: &GitScanOptions<'_>,
) -> Result<GitScan, GitError> {
    let repo = repo::open(path)?;
    let index = repo.index().map_err(|source| GitError::Index {
        path: repo.path().join("index"),
        reason: source.into(),
    })?;
    let head_tree = match repo.head() {
        Ok(head) => Some(
            head.peel_to_tree()
                .map_err(GitError::git("cannot read the tree HEAD points to"))?,
        ),
        // A repository before its first commit: everything staged is new.
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => None,
        Err(e) => return Err(GitError::git("cannot resolve HEAD")(e)),
    };
    let mut diff_opts = DiffOptions::new();
    // Tree against index only: no working-tree stat or hashing, and no blob is loaded
    // for binary detection until this code reads it.
    diff_opts
        .skip_binary_check(true)
        .include_typechange(true)
        .ignore_submodules(false);
    let diff = repo
        .diff_tree_to_index(head_tree.as_ref(), Some(&index), Some(&mut diff_opts))
        .map_err(GitError::git("cannot compare the index with HEAD"))?;
    let odb = repo
        .odb()
        .map_err(GitError::git("cannot open the object database"))?;

    let mut out = GitScan::default();
    for delta in diff.deltas() {
        if !matches!(
            delta.status(),
            Delta::Added | Delta::Modified | Delta::Typechange | Delta::Copied | Delta::Renamed
        ) {
            continue;
        }
        let new = delta.new_file();
        let path = display_path(new.path_bytes().unwrap_or_default());
        if new.mode() == FileMode::Commit {
            out.stats.note_submodule(path);
            continue;
        }
        let content = match read_blob(&odb, new.id(), &path, opts.max_file_size)? {
            BlobRead::Text(object) => object,
            BlobRead::Binary => {
                out.stats.skipped_binary += 1;
                continue;
            }
            BlobRead::Large => {
                out.stats.skipped_large += 1;
                continue;
            }
        };
        out.stats.blobs_scanned += 1;
        out.stats.bytes_scanned += content.data().len() as u64;
        let found = scanner.scan(ScanInput {
            path: &path,
            bytes: content.data(),
            commit: None,
        });
        if found.is_empty() {
            continue;
        }
        let old = delta.old_file();
        let added = if opts.all_lines
            || old.id().is_zero()
            || matches!(old.mode(), FileMode::Commit | FileMode::Unreadable)
        {
            AddedLines::all()
        } else {
            let before = read_bytes(&odb, old.id(), &path)?;
            AddedLines::between(before.data(), content.data()).map_err(GitError::git(format!(
                "cannot diff the staged {path} against HEAD"
            )))?
        };
        out.findings.extend(
            found
                .into_iter()
                .filter(|f| added.touches(f.line, f.end_line)),
        );
    }
    out.findings.sort_by(|a, b| {
        (&a.path, a.line, a.column, &a.rule_id).cmp(&(&b.path, b.line, b.column, &b.rule_id))
    });
    Ok(out)
}
