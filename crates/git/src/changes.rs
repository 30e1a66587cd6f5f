//! What a commit changes relative to a parent tree: the paths whose blob (or submodule
//! commit) is new. Identical subtrees are skipped by id, so the cost follows the size of
//! the change, not of the tree. Trees are read as raw bytes from a [`TreeSource`] (the
//! object database, or trees decoded in bulk from the packs) and parsed in place.

use crate::error::{GitError, GitMessage};
use crate::packs::{Family, PackedTrees};
use git2::{ObjectType, Odb, Oid};
use std::borrow::Cow;
use std::cmp::Ordering;

const MODE_TREE: u32 = 0o040000;
const MODE_GITLINK: u32 = 0o160000;
const MODE_LINK: u32 = 0o120000;
const MODE_BLOB: u32 = 0o100644;
const MODE_EXECUTABLE: u32 = 0o100755;

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

/// Where trees are read from, by id: the raw bytes of a tree object.
pub(crate) trait TreeSource {
    /// The tree `id`, found at `path` (for the error message).
    fn tree(&self, id: Oid, path: &[u8]) -> Result<Cow<'_, [u8]>, GitError>;
}

impl TreeSource for Odb<'_> {
    fn tree(&self, id: Oid, path: &[u8]) -> Result<Cow<'_, [u8]>, GitError> {
        let shown = (!path.is_empty()).then(|| String::from_utf8_lossy(path).into_owned());
        let object = self
            .read(id)
            .map_err(GitError::object(id, shown.as_deref()))?;
        if object.kind() != ObjectType::Tree {
            return Err(malformed(id, path, "not a tree".into()));
        }
        Ok(Cow::Owned(object.data().to_vec()))
    }
}

/// Trees decoded from the packs, and the object database for any the packs do not hold.
pub(crate) struct PackedFirst<'a, 'r> {
    pub packed: &'a PackedTrees,
    pub odb: &'a Odb<'r>,
}

impl TreeSource for PackedFirst<'_, '_> {
    fn tree(&self, id: Oid, path: &[u8]) -> Result<Cow<'_, [u8]>, GitError> {
        match raw(id).and_then(|raw| self.packed.get(&raw, Family::Tree)) {
            Some(bytes) => Ok(Cow::Borrowed(bytes)),
            None => self.odb.tree(id, path),
        }
    }
}

fn raw(id: Oid) -> Option<crate::packs::RawId> {
    crate::packs::RawId::try_from(id.as_bytes()).ok()
}

/// A git object that did not parse.
pub(crate) fn malformed(id: Oid, path: &[u8], reason: String) -> GitError {
    GitError::Object {
        id: id.to_string(),
        path: (!path.is_empty()).then(|| String::from_utf8_lossy(path).into_owned()),
        reason: GitMessage {
            message: reason,
            code: git2::ErrorCode::GenericError,
        },
    }
}

/// The paths that tree `new` adds or modifies relative to tree `old` (`None`: the empty
/// tree).
pub(crate) fn tree_changes(
    source: &impl TreeSource,
    old: Option<Oid>,
    new: Oid,
) -> Result<Vec<Change>, GitError> {
    let mut out = Vec::new();
    let new_bytes = source.tree(new, b"")?;
    let old_bytes = old
        .map(|id| source.tree(id, b"").map(|b| (id, b)))
        .transpose()?;
    walk(
        source,
        old_bytes.as_ref().map(|(id, b)| (*id, b.as_ref())),
        (new, &new_bytes),
        &mut Vec::new(),
        &mut out,
    )?;
    Ok(out)
}

/// One entry of a tree: its mode (as libgit2 normalises it), name and id.
struct Entry<'a> {
    mode: u32,
    name: &'a [u8],
    id: Oid,
}

/// The entries of a tree, parsed from its bytes; an error is the reason it is malformed.
fn entries(bytes: &[u8]) -> impl Iterator<Item = Result<Entry<'_>, String>> {
    gix_object::TreeRefIter::from_bytes(bytes, gix_hash::Kind::Sha1).map(|entry| {
        let entry = entry.map_err(|e| format!("malformed tree: {e}"))?;
        let id = Oid::from_bytes(entry.oid.as_bytes())
            .map_err(|e| format!("malformed tree: {}", e.message()))?;
        Ok(Entry {
            mode: normalized_mode(u32::from(entry.mode.value())),
            name: entry.filename.as_ref(),
            id,
        })
    })
}

/// A tree entry's mode as libgit2 reports it (`git_tree_entry_filemode`), so that old
/// trees with modes like 100664 compare as they always did.
fn normalized_mode(mode: u32) -> u32 {
    match mode & 0o170000 {
        MODE_TREE => MODE_TREE,
        _ if mode & 0o100 != 0 => MODE_EXECUTABLE,
        MODE_GITLINK => MODE_GITLINK,
        MODE_LINK => MODE_LINK,
        _ => MODE_BLOB,
    }
}

fn walk(
    source: &impl TreeSource,
    old: Option<(Oid, &[u8])>,
    (new_id, new): (Oid, &[u8]),
    prefix: &mut Vec<u8>,
    out: &mut Vec<Change>,
) -> Result<(), GitError> {
    // Both trees list their entries in git's order, so one merge pass pairs each new entry
    // with the old entry of the same name, without building a map of every tree.
    let mut old_entries = old.map(|(id, bytes)| (id, entries(bytes).peekable()));
    for entry in entries(new) {
        let entry = entry.map_err(|reason| malformed(new_id, prefix, reason))?;
        let mut previous = None;
        if let Some((old_id, old_entries)) = old_entries.as_mut() {
            while let Some(candidate) = old_entries.peek() {
                let candidate = match candidate {
                    Ok(candidate) => candidate,
                    Err(reason) => return Err(malformed(*old_id, prefix, reason.clone())),
                };
                match git_order(candidate.name, candidate.mode, entry.name, entry.mode) {
                    Ordering::Less => {
                        old_entries.next();
                    }
                    Ordering::Equal => {
                        previous = Some((candidate.id, candidate.mode));
                        old_entries.next();
                        break;
                    }
                    Ordering::Greater => break,
                }
            }
        }
        if previous == Some((entry.id, entry.mode)) {
            continue;
        }
        let len = prefix.len();
        if len > 0 {
            prefix.push(b'/');
        }
        prefix.extend_from_slice(entry.name);
        match entry.mode {
            MODE_TREE => {
                let subtree = source.tree(entry.id, prefix)?;
                let old_subtree = match previous {
                    Some((old_id, MODE_TREE)) => Some((old_id, source.tree(old_id, prefix)?)),
                    _ => None,
                };
                walk(
                    source,
                    old_subtree.as_ref().map(|(id, b)| (*id, b.as_ref())),
                    (entry.id, &subtree),
                    prefix,
                    out,
                )?;
            }
            MODE_GITLINK => out.push(Change {
                path: prefix.clone(),
                old: None,
                new: entry.id,
                kind: Kind::Submodule,
            }),
            _ => out.push(Change {
                path: prefix.clone(),
                old: previous
                    .filter(|&(_, m)| m != MODE_TREE && m != MODE_GITLINK)
                    .map(|(old_id, _)| old_id),
                new: entry.id,
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
fn git_order(a: &[u8], a_mode: u32, b: &[u8], b_mode: u32) -> Ordering {
    let common = a.len().min(b.len());
    match a[..common].cmp(&b[..common]) {
        Ordering::Equal => {}
        unequal => return unequal,
    }
    let next = |name: &[u8], mode: u32| {
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
        const FILE: u32 = 0o100644;
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
