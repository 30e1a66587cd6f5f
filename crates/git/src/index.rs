//! `--staged`'s comparison of the index with HEAD, on the index as `sg-gitindex` reads it:
//! directories the cache-tree records with HEAD's tree id are skipped unread, so the cost
//! follows the staged change rather than the size of the repository; a sparse directory
//! (one entry holding a tree) is compared with HEAD's tree for that directory. Formats the
//! reader does not handle give `Ok(None)` and the caller falls back to libgit2's reader.

use crate::changes::{Change, Kind};
use crate::error::GitError;
use git2::{Oid, Repository, Tree};
use sg_gitindex::{Entry, IndexError, ParsedIndex};
use std::collections::HashMap;
use std::path::Path;

const MODE_TREE: u32 = 0o040000;
const MODE_GITLINK: u32 = 0o160000;

/// Reads the index at `path`; a missing file is an empty index, as git treats it.
pub(crate) fn read(path: &Path) -> Result<Option<ParsedIndex>, GitError> {
    sg_gitindex::read(path).map_err(|e| match e {
        IndexError::Io { path, reason } => GitError::Io { path, reason },
        IndexError::Malformed { path, message } => GitError::Index {
            path,
            reason: crate::error::GitMessage {
                message,
                code: git2::ErrorCode::GenericError,
            },
        },
    })
}

fn oid(id: &sg_gitindex::ObjectId) -> Oid {
    // 20 bytes are always a valid SHA-1 id; the zero id only if that ever changed.
    Oid::from_bytes(id).unwrap_or_else(|_| Oid::zero())
}

/// The paths whose staged blob differs from HEAD's (`head`: `None` before the first
/// commit). Directories the cache-tree records with HEAD's tree id are skipped unread.
pub(crate) fn changes(
    index: &ParsedIndex,
    repo: &Repository,
    head: Option<&Tree<'_>>,
) -> Result<Vec<Change>, GitError> {
    let mut out = Vec::new();
    Walk { index, repo }.walk(
        index.entries(),
        &mut Vec::new(),
        head.map(Tree::id),
        &mut out,
    )?;
    Ok(out)
}

struct Walk<'a, 'r> {
    index: &'a ParsedIndex,
    repo: &'r Repository,
}

impl Walk<'_, '_> {
    /// The changes under sparse directory `dir` (ending in `/`), whose tree in the index is
    /// `tree` and in HEAD `head`: nothing when they are the same tree, else the two trees
    /// compared file by file.
    fn sparse_dir(
        &self,
        dir: &[u8],
        head: Option<Oid>,
        tree: Oid,
        out: &mut Vec<Change>,
    ) -> Result<(), GitError> {
        if head == Some(tree) {
            return Ok(());
        }
        let odb = self
            .repo
            .odb()
            .map_err(GitError::git("cannot open the object database"))?;
        for mut change in crate::changes::tree_changes(&odb, head, tree)? {
            let mut path = dir.to_vec();
            path.extend_from_slice(&change.path);
            change.path = path;
            out.push(change);
        }
        Ok(())
    }

    fn walk(
        &self,
        entries: &[Entry],
        dir: &mut Vec<u8>,
        head: Option<Oid>,
        out: &mut Vec<Change>,
    ) -> Result<(), GitError> {
        let key = dir.strip_suffix(b"/").unwrap_or(dir);
        if let (Some(tree), Some(id)) = (head, self.index.cached_tree(key)) {
            // Checked before the tree is read: skipping must cost nothing.
            if tree == oid(id) {
                return Ok(());
            }
        }
        let head = match head {
            Some(id) => Some(
                self.repo
                    .find_tree(id)
                    .map_err(GitError::object(id, Some(&String::from_utf8_lossy(dir))))?,
            ),
            None => None,
        };
        let head = head.as_ref();
        let head_entries: HashMap<Vec<u8>, (Oid, u32)> = head
            .map(|tree| {
                tree.iter()
                    .map(|e| (e.name_bytes().to_vec(), (e.id(), e.filemode() as u32)))
                    .collect()
            })
            .unwrap_or_default();
        let mut i = 0;
        while i < entries.len() {
            let entry = &entries[i];
            let path = self.index.path(entry);
            let rest = path.get(dir.len()..).unwrap_or_default();
            match memchr::memchr(b'/', rest) {
                None => {
                    i += 1;
                    // Conflicted paths cannot be committed; intent-to-add ones stage nothing.
                    if entry.stage != 0 || entry.intent_to_add {
                        continue;
                    }
                    if rest.is_empty() && entry.mode == MODE_TREE {
                        // A sparse directory: the index holds its tree, not its files.
                        self.sparse_dir(dir, head.map(git2::Tree::id), oid(&entry.id), out)?;
                        continue;
                    }
                    let before = head_entries.get(rest).copied();
                    if before == Some((oid(&entry.id), entry.mode)) {
                        continue;
                    }
                    out.push(Change {
                        path: path.to_vec(),
                        old: before
                            .filter(|&(_, m)| m != MODE_TREE && m != MODE_GITLINK)
                            .map(|(id, _)| id),
                        new: oid(&entry.id),
                        kind: if entry.mode == MODE_GITLINK {
                            Kind::Submodule
                        } else {
                            Kind::Blob
                        },
                    });
                }
                Some(slash) => {
                    let len = dir.len();
                    dir.extend_from_slice(&rest[..=slash]);
                    // Paths under one directory are contiguous in index order.
                    let end =
                        i + entries[i..].partition_point(|e| self.index.path(e).starts_with(dir));
                    let subtree = match head_entries.get(&rest[..slash]) {
                        Some(&(id, MODE_TREE)) => Some(id),
                        _ => None,
                    };
                    self.walk(&entries[i..end], dir, subtree, out)?;
                    dir.truncate(len);
                    i = end;
                }
            }
        }
        Ok(())
    }
}
