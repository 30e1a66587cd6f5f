//! `--staged`: what the index holds for each path staged for commit, diffed against HEAD.

use crate::blob::{display_path, read_bytes, read_text, TextRead};
use crate::changes::{Change, Kind};
use crate::error::GitError;
use crate::index;
use crate::lines::AddedLines;
use crate::{repo, GitScan, GitScanOptions};
use git2::{Delta, DiffFindOptions, DiffOptions, ErrorCode, FileMode, Index, Oid, Repository};
use sg_engine::{ScanInput, Scanner, Unreadable};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

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
    let head_tree = match repo.head() {
        Ok(head) => Some(
            head.peel_to_tree()
                .map_err(GitError::git("cannot read the tree HEAD points to"))?,
        ),
        // A repository before its first commit: everything staged is new.
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => None,
        Err(e) => return Err(GitError::git("cannot resolve HEAD")(e)),
    };
    let index_path = index_file(&repo);
    if repo.is_bare() && std::env::var_os("GIT_INDEX_FILE").is_none() {
        return Err(GitError::Index {
            path: index_path,
            reason: crate::error::GitMessage {
                message: "a bare repository has no index, so nothing is staged to scan".into(),
                code: ErrorCode::BareRepo,
            },
        });
    }
    let changes = match index::read(&index_path)? {
        Some(parsed) => index::changes(&parsed, &repo, head_tree.as_ref())?,
        None => changes_via_libgit2(&repo, &index_path, head_tree.as_ref())?,
    };
    let odb = repo
        .odb()
        .map_err(GitError::git("cannot open the object database"))?;

    let mut out = GitScan::default();
    // Worked out only if a new path has findings: it diffs the whole index against HEAD.
    let mut renames: Option<HashMap<Vec<u8>, Oid>> = None;
    for change in changes {
        let path = display_path(&change.path);
        if change.kind == Kind::Submodule {
            out.stats.note_submodule(path);
            continue;
        }
        if scanner.rules().is_path_allowed(&path) {
            continue;
        }
        let refuse = |out: &mut GitScan, reason: String| {
            let mut error = Unreadable::new(path.clone(), reason);
            error.path_bytes = sg_engine::unread::non_utf8_bytes(&change.path);
            out.stats.errors.push(error);
        };
        // An object that cannot be read is named and the other staged files still scanned;
        // the scan then fails.
        let content = match read_text(&odb, change.new, &path, opts.max_file_size) {
            Ok(content) => content,
            Err(e) => {
                refuse(&mut out, e.to_string());
                continue;
            }
        };
        let text = match &content {
            TextRead::Large(size) => {
                out.stats.skipped_large += 1;
                out.findings.extend(scanner.path_findings(&path));
                refuse(
                    &mut out,
                    format!(
                        "staged file is {size} bytes, over --max-file-size {}: refused, since \
                         it was not scanned; raise --max-file-size, or allow the path \
                         ([allowlist] paths in .secrets-guard.toml)",
                        opts.max_file_size
                    ),
                );
                continue;
            }
            TextRead::Binary(object) if sg_engine::archive::is_archive(&path, object.data()) => {
                // An archive is opened and its members scanned, every line counted as new.
                let found = sg_engine::archive::scan_archive(
                    scanner,
                    &path,
                    object.data(),
                    opts.max_file_size,
                );
                out.stats.blobs_scanned += found.files;
                out.stats.bytes_scanned += found.bytes;
                out.findings.extend(scanner.path_findings(&path));
                out.findings.extend(found.findings);
                out.stats.skipped.extend(found.skipped);
                out.stats.errors.extend(found.errors);
                continue;
            }
            TextRead::Binary(_) => {
                out.stats.skipped_binary += 1;
                out.findings.extend(scanner.path_findings(&path));
                refuse(
                    &mut out,
                    "staged file is binary (not UTF-8 or UTF-16 text): refused, since it \
                     was not scanned; allow the path ([allowlist] paths in .secrets-guard.toml)"
                        .to_owned(),
                );
                continue;
            }
            TextRead::Text(_) | TextRead::Decoded(_) => content.text().unwrap_or_default(),
        };
        out.stats.blobs_scanned += 1;
        out.stats.bytes_scanned += text.len() as u64;
        let found = scanner.scan(ScanInput {
            path: &path,
            bytes: text,
            commit: None,
        });
        if found.is_empty() {
            continue;
        }
        // A new path whose content came from a file in HEAD (a rename or a copy, as
        // `git diff --find-renames --find-copies-harder` sees it) adds only what changed.
        let old = match change.old {
            None if !opts.all_lines => {
                let sources = renames
                    .get_or_insert_with(|| rename_sources(&repo, &index_path, head_tree.as_ref()));
                sources.get(change.path.as_slice()).copied()
            }
            old => old,
        };
        let added = match old {
            Some(old) if !opts.all_lines => {
                let before = match read_bytes(&odb, old, &path) {
                    Ok(before) => before,
                    Err(e) => {
                        refuse(&mut out, e.to_string());
                        continue;
                    }
                };
                let before_text = match sg_engine::text::classify(before.data()) {
                    sg_engine::text::Content::Text(t) => t,
                    sg_engine::text::Content::Binary => before.data().into(),
                };
                AddedLines::between(&before_text, text).map_err(GitError::git(format!(
                    "cannot diff the staged {path} against HEAD"
                )))?
            }
            _ => AddedLines::all(),
        };
        let raw = sg_engine::unread::non_utf8_bytes(&change.path);
        out.findings.extend(
            found
                .into_iter()
                .filter(|f| added.touches(f.line, f.end_line))
                .map(|mut f| {
                    f.path_bytes.clone_from(&raw);
                    f
                }),
        );
    }
    out.findings.sort_by(|a, b| {
        (&a.path, a.line, a.column, &a.rule_id).cmp(&(&b.path, b.line, b.column, &b.rule_id))
    });
    Ok(out)
}

/// For each path the index adds, the HEAD blob it was renamed or copied from, by git's
/// similarity rules (an exact copy, or at least 50% similar). Empty when the index cannot be
/// read by libgit2 (the scan then counts every line of the new path as added: fail closed).
fn rename_sources(
    repo: &Repository,
    index_path: &Path,
    head_tree: Option<&git2::Tree<'_>>,
) -> HashMap<Vec<u8>, Oid> {
    let mut out = HashMap::new();
    let Some(head_tree) = head_tree else {
        return out;
    };
    let Ok(index) = Index::open(index_path) else {
        return out;
    };
    let mut diff_opts = DiffOptions::new();
    diff_opts.include_unmodified(true).ignore_submodules(true);
    let Ok(mut diff) = repo.diff_tree_to_index(Some(head_tree), Some(&index), Some(&mut diff_opts))
    else {
        return out;
    };
    let mut find = DiffFindOptions::new();
    find.renames(true)
        .copies(true)
        .copies_from_unmodified(true)
        .rename_threshold(50)
        .copy_threshold(50);
    if diff.find_similar(Some(&mut find)).is_err() {
        return out;
    }
    for delta in diff.deltas() {
        if matches!(delta.status(), Delta::Renamed | Delta::Copied) {
            if let Some(path) = delta.new_file().path_bytes() {
                out.insert(path.to_vec(), delta.old_file().id());
            }
        }
    }
    out
}

/// The index the commit will be made from: `GIT_INDEX_FILE` when git sets it for a hook
/// (`git commit -a` and `git commit <paths>` commit from a temporary index), else the
/// worktree's own index.
fn index_file(repo: &Repository) -> PathBuf {
    match std::env::var_os("GIT_INDEX_FILE") {
        Some(file) if !file.is_empty() => {
            let file = PathBuf::from(file);
            if file.is_absolute() {
                file
            } else {
                // Relative to the working directory, as git resolves it.
                std::env::current_dir()
                    .map(|cwd| cwd.join(&file))
                    .unwrap_or(file)
            }
        }
        _ => repo.path().join("index"),
    }
}

/// The staged changes through libgit2's index reader and tree-to-index diff, for index
/// formats the fast reader does not handle. Tree against index only: no working-tree stat
/// or hashing.
fn changes_via_libgit2(
    repo: &Repository,
    index_path: &Path,
    head_tree: Option<&git2::Tree<'_>>,
) -> Result<Vec<Change>, GitError> {
    let index = Index::open(index_path).map_err(|source| {
        let mut reason: crate::error::GitMessage = source.into();
        if reason.message.contains("'link'") {
            // libgit2 cannot read split indexes; say how to get a plain one.
            reason.message.push_str(
                " (a split index, from core.splitIndex: run `git config core.splitIndex false \
                 && git update-index --no-split-index`, then commit again)",
            );
        }
        GitError::Index {
            path: index_path.to_path_buf(),
            reason,
        }
    })?;
    let mut diff_opts = DiffOptions::new();
    diff_opts
        .skip_binary_check(true)
        .include_typechange(true)
        .ignore_submodules(false);
    let diff = repo
        .diff_tree_to_index(head_tree, Some(&index), Some(&mut diff_opts))
        .map_err(GitError::git("cannot compare the index with HEAD"))?;
    let mut changes = Vec::new();
    for delta in diff.deltas() {
        if !matches!(
            delta.status(),
            Delta::Added | Delta::Modified | Delta::Typechange | Delta::Copied | Delta::Renamed
        ) {
            continue;
        }
        let new = delta.new_file();
        let old = delta.old_file();
        changes.push(Change {
            path: new.path_bytes().unwrap_or_default().to_vec(),
            old: (!old.id().is_zero()
                && !matches!(
                    old.mode(),
                    FileMode::Commit | FileMode::Unreadable | FileMode::Tree
                ))
            .then(|| old.id()),
            new: new.id(),
            kind: if new.mode() == FileMode::Commit {
                Kind::Submodule
            } else {
                Kind::Blob
            },
        });
    }
    Ok(changes)
}
