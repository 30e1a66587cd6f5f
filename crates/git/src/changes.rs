//! What a commit changes relative to a parent tree: the paths whose blob (or submodule
//! commit) is new. Identical subtrees are skipped by id, so the cost follows the size of
//! the change, not of the tree.

use crate::error::GitError;
use git2::{Oid, Repository, Tree};
use std::cmp::Ordering;

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
    // Both trees list their entries in git's order, so one merge pass pairs each new entry
    // with the old entry of the same name, without building a map of every tree.
    let old_len = old.map_or(0, Tree::len);
    let mut o = 0;
    for entry in new.iter() {
        let id = entry.id();
        let mode = entry.filemode();
        let name = entry.name_bytes();
        let mut previous = None;
        if let Some(old) = old {
            while o < old_len {
                let Some(candidate) = old.get(o) else { break };
                match git_order(candidate.name_bytes(), candidate.filemode(), name, mode) {
                    Ordering::Less => o += 1,
                    Ordering::Equal => {
                        previous = Some((candidate.id(), candidate.filemode()));
                        o += 1;
                        break;
                    }
                    Ordering::Greater => break,
                }
            }
        }
        if previous == Some((id, mode)) {
            continue;
        }
        let len = prefix.len();
        if len > 0 {
            prefix.push(b'/');
        }
        prefix.extend_from_slice(name);
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

/// Git's order of tree entries: by name, a subtree's name read as if it ended in `/`.
/// Entries that compare equal have the same name and are both subtrees or both not; a
/// path that changed between a file and a directory pairs with nothing, which is what a
/// pairing by name alone gave too (a tree is never compared with a blob's id).
fn git_order(a: &[u8], a_mode: i32, b: &[u8], b_mode: i32) -> Ordering {
    let common = a.len().min(b.len());
    match a[..common].cmp(&b[..common]) {
        Ordering::Equal => {}
        unequal => return unequal,
    }
    let next = |name: &[u8], mode: i32| {
        name.get(common)
            .copied()
            .or((mode == MODE_TREE).then_some(b'/'))
    };
    next(a, a_mode).cmp(&next(b, b_mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_sort_as_git_sorts_them() {
        const FILE: i32 = 0o100644;
        // git: "foo.c" < "foo" (a tree, read "foo/") < "foo0"; the file "foo" < "foo.c".
        assert_eq!(git_order(b"foo.c", FILE, b"foo", MODE_TREE), Ordering::Less);
        assert_eq!(git_order(b"foo", MODE_TREE, b"foo0", FILE), Ordering::Less);
        assert_eq!(git_order(b"foo", FILE, b"foo.c", FILE), Ordering::Less);
        assert_eq!(git_order(b"foo", FILE, b"foo", MODE_TREE), Ordering::Less);
        assert_eq!(
            git_order(b"foo", MODE_TREE, b"foo", MODE_TREE),
            Ordering::Equal
        );
        assert_eq!(git_order(b"foo", FILE, b"foo", 0o100755), Ordering::Equal);
        assert_eq!(
            git_order(b"foo", MODE_GITLINK, b"foo", FILE),
            Ordering::Equal
        );
        assert_eq!(git_order(b"b", FILE, b"a", FILE), Ordering::Greater);
    }
}
