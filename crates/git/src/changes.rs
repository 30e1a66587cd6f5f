//! What a commit changes relative to a parent tree: the paths whose blob (or submodule
//! commit) is new. Identical subtrees are skipped by id, so the cost follows the size of
//! the change, not of the tree.

use crate::error::GitError;
use git2::{Oid, Repository, Tree};
use std::collections::HashMap;

const MODE_TREE: i32 = 0o040000;
const MODE_GITLINK: i32 = 0o160000;

/// What sits at a changed path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A file or symlink: its blob is scanned.
    Blob,
    /// A submodule: a commit of another repository, which is not descended into.
    Submodule,
}

/// One path whose content differs from the parent.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub path: Vec<u8>,
    /// The blob the parent had at this path, if it had one.
    pub old: Option<Oid>,
    pub new: Oid,
    pub kind: Kind,
}

/// The paths that `new` adds or modifies relative to `old` (`None`: the empty tree).
pub(crate) fn tree_changes(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
) -> Result<Vec<Change>, GitError> {
    let mut out = Vec::new();
    walk(repo, old, new, &mut Vec::new(), &mut out)?;
    Ok(out)
}

fn walk(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: &Tree<'_>,
    prefix: &mut Vec<u8>,
    out: &mut Vec<Change>,
) -> Result<(), GitError> {
    let old_entries: HashMap<Vec<u8>, (Oid, i32)> = old
        .map(|tree| {
            tree.iter()
                .map(|e| (e.name_bytes().to_vec(), (e.id(), e.filemode())))
                .collect()
        })
        .unwrap_or_default();
    for entry in new.iter() {
        let id = entry.id();
        let mode = entry.filemode();
        let previous = old_entries.get(entry.name_bytes()).copied();
        if previous == Some((id, mode)) {
            continue;
        }
        let len = prefix.len();
        if len > 0 {
            prefix.push(b'/');
        }
        prefix.extend_from_slice(entry.name_bytes());
        match mode {
            MODE_TREE => {
                let subtree = repo
                    .find_tree(id)
                    .map_err(GitError::object(id, Some(&String::from_utf8_lossy(prefix))))?;
                let old_subtree = match previous {
                    Some((old_id, MODE_TREE)) => Some(repo.find_tree(old_id).map_err(
                        GitError::object(old_id, Some(&String::from_utf8_lossy(prefix))),
                    )?),
                    _ => None,
                };
                walk(repo, old_subtree.as_ref(), &subtree, prefix, out)?;
            }
            MODE_GITLINK => out.push(Change {
                path: prefix.clone(),
                old: None,
                new: id,
                kind: Kind::Submodule,
            }),
            _ => out.push(Change {
                path: prefix.clone(),
                old: previous
                    .filter(|&(_, m)| m != MODE_TREE && m != MODE_GITLINK)
                    .map(|(old_id, _)| old_id),
                new: id,
                kind: Kind::Blob,
            }),
        }
        prefix.truncate(len);
    }
    Ok(())
}
