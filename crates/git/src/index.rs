//! A reader for git's index file (versions 2 to 4) built for `--staged`: paths go into one
//! buffer instead of an allocation each, and the cache-tree extension lets the comparison
//! with HEAD skip every directory the index records as unchanged, so the cost follows the
//! staged change rather than the size of the repository. A sparse index (`index.sparse`,
//! the `sdir` extension) is read too: a directory outside the sparse cone is one entry
//! holding its tree, compared with HEAD's tree for that directory. Formats this reader does
//! not handle (split indexes, unknown required extensions) give `Ok(None)` and the caller
//! falls back to libgit2's reader.

use crate::changes::{Change, Kind};
use crate::error::GitError;
use git2::{Oid, Repository, Tree};
use sha1::{Digest, Sha1};
use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

const MODE_TREE: u32 = 0o040000;
const MODE_GITLINK: u32 = 0o160000;
const HASH: usize = 20;

#[derive(Debug, Clone)]
struct Entry {
    path: Range<usize>,
    id: Oid,
    mode: u32,
    stage: u8,
    intent_to_add: bool,
}

/// The parts of an index `--staged` needs.
#[derive(Debug, Default)]
pub(crate) struct ParsedIndex {
    paths: Vec<u8>,
    entries: Vec<Entry>,
    /// Directories (no trailing `/`; the root is empty) whose tree the index knows, valid.
    cache_tree: HashMap<Vec<u8>, Oid>,
}

/// Reads the index at `path`; a missing file is an empty index, as git treats it.
pub(crate) fn read(path: &Path) -> Result<Option<ParsedIndex>, GitError> {
    let io_error = |reason: std::io::Error| GitError::Io {
        path: path.to_path_buf(),
        reason,
    };
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Some(ParsedIndex::default()))
        }
        Err(reason) => return Err(io_error(reason)),
    };
    let len = file.metadata().map_err(io_error)?.len();
    // A 50,000-file index is several MiB: mapping it instead of reading it into fresh
    // memory is about a third of `--staged`'s own time in a large repository. git replaces
    // the index by renaming a new file over it, so the mapped file is not rewritten under us.
    let mapped;
    let data: &[u8] = if len == 0 {
        &[]
    } else {
        // SAFETY: the map is read-only and lives until parsing ends; see above for writers.
        mapped = unsafe { memmap2::Mmap::map(&file) }.map_err(io_error)?;
        &mapped
    };
    parse(data).map_err(|message| GitError::Index {
        path: path.to_path_buf(),
        reason: crate::error::GitMessage {
            message,
            code: git2::ErrorCode::GenericError,
        },
    })
}

/// Whether `data` parses as an index (for the fuzz target).
pub(crate) fn parse_bytes(data: &[u8]) -> bool {
    matches!(parse(data), Ok(Some(_)))
}

fn be32(data: &[u8], at: usize) -> Result<u32, String> {
    data.get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| format!("truncated at byte {at}"))
}

fn parse(data: &[u8]) -> Result<Option<ParsedIndex>, String> {
    if data.len() < 12 + HASH || &data[..4] != b"DIRC" {
        return Err("not an index file (bad signature or too short)".into());
    }
    let body_end = data.len() - HASH;
    let trailer = &data[body_end..];
    // `index.skipHash` writes a zero trailer instead of a checksum.
    if trailer.iter().any(|&b| b != 0) && Sha1::digest(&data[..body_end])[..] != trailer[..] {
        return Err("index checksum does not match its content".into());
    }
    let version = be32(data, 4)?;
    if !(2..=4).contains(&version) {
        return Ok(None);
    }
    let count = be32(data, 8)? as usize;
    let mut index = ParsedIndex {
        // The count is input: never reserve more than the file could hold (a fuzzed header
        // claiming 2^32 entries asked for 32 GiB).
        paths: Vec::with_capacity(count.saturating_mul(32).min(body_end)),
        entries: Vec::with_capacity(count.min(body_end / 62)),
        cache_tree: HashMap::new(),
    };
    let mut pos = 12;
    let mut previous: Range<usize> = 0..0;
    for n in 0..count {
        let fixed = data
            .get(pos..pos + 62)
            .ok_or_else(|| format!("entry {n} is truncated"))?;
        let mode = be32(fixed, 24)?;
        let id = Oid::from_bytes(&fixed[40..60]).map_err(|e| e.message().to_owned())?;
        let flags = u16::from_be_bytes([fixed[60], fixed[61]]);
        let stage = ((flags >> 12) & 3) as u8;
        let mut name_at = pos + 62;
        let mut intent_to_add = false;
        if flags & 0x4000 != 0 {
            if version < 3 {
                return Err(format!("entry {n} has extended flags in a version 2 index"));
            }
            let extended = data
                .get(name_at..name_at + 2)
                .ok_or_else(|| format!("entry {n} is truncated"))?;
            // `git add -N`: the path is known but no content is staged for it.
            intent_to_add = extended[0] & 0x20 != 0;
            name_at += 2;
        }
        let start = index.paths.len();
        if version == 4 {
            let (strip, used) = varint(&data[name_at.min(body_end)..body_end])
                .ok_or_else(|| format!("entry {n}: bad path prefix length"))?;
            let keep = previous
                .len()
                .checked_sub(strip)
                .ok_or_else(|| format!("entry {n}: path prefix longer than the previous path"))?;
            index
                .paths
                .extend_from_within(previous.start..previous.start + keep);
            let suffix_at = name_at + used;
            let nul = memchr::memchr(0, &data[suffix_at.min(body_end)..body_end])
                .ok_or_else(|| format!("entry {n}: unterminated path"))?;
            index
                .paths
                .extend_from_slice(&data[suffix_at..suffix_at + nul]);
            pos = suffix_at + nul + 1;
        } else {
            let nul = memchr::memchr(0, &data[name_at.min(body_end)..body_end])
                .ok_or_else(|| format!("entry {n}: unterminated path"))?;
            index.paths.extend_from_slice(&data[name_at..name_at + nul]);
            // Entries are padded with 1 to 8 NULs to a multiple of 8 bytes.
            pos += (name_at - pos + nul + 8) & !7;
        }
        let path = start..index.paths.len();
        previous = path.clone();
        index.entries.push(Entry {
            path,
            id,
            mode,
            stage,
            intent_to_add,
        });
    }
    while pos + 8 <= body_end {
        let signature = &data[pos..pos + 4];
        let size = be32(data, pos + 4)? as usize;
        let payload = data
            .get(pos + 8..pos + 8 + size)
            .filter(|_| pos + 8 + size <= body_end)
            .ok_or_else(|| "an extension runs past the end of the index".to_owned())?;
        if signature == b"sdir" {
            // Sparse directory entries are handled where they are met in `walk`.
        } else if signature == b"TREE" {
            let mut at = 0;
            while at < payload.len() {
                at = cache_tree_node(payload, at, &[], &mut index.cache_tree)?;
            }
        } else if !signature[0].is_ascii_uppercase() {
            // A required extension (split index `link`, sparse index `sdir`, …).
            return Ok(None);
        }
        pos += 8 + size;
    }
    if pos != body_end {
        return Err("trailing bytes after the last extension".into());
    }
    Ok(Some(index))
}

/// git's offset varint (`decode_varint`): returns the value and the bytes used.
fn varint(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut c = *bytes.first()?;
    let mut value = usize::from(c & 0x7f);
    let mut used = 1;
    while c & 0x80 != 0 {
        value = value.checked_add(1)?.checked_mul(128)?;
        c = *bytes.get(used)?;
        used += 1;
        value += usize::from(c & 0x7f);
    }
    Some((value, used))
}

/// One cache-tree node and its subtrees, in pre-order; returns the offset after them.
fn cache_tree_node(
    payload: &[u8],
    at: usize,
    parent: &[u8],
    out: &mut HashMap<Vec<u8>, Oid>,
) -> Result<usize, String> {
    let bad = || "malformed cache-tree extension".to_owned();
    let nul = memchr::memchr(0, &payload[at..]).ok_or_else(bad)?;
    let name = &payload[at..at + nul];
    let mut path = parent.to_vec();
    if !name.is_empty() {
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(name);
    }
    let mut pos = at + nul + 1;
    let newline = memchr::memchr(b'\n', &payload[pos..]).ok_or_else(bad)?;
    let header = std::str::from_utf8(&payload[pos..pos + newline]).map_err(|_| bad())?;
    let (entries, subtrees) = header.split_once(' ').ok_or_else(bad)?;
    let entries: i64 = entries.parse().map_err(|_| bad())?;
    let subtrees: usize = subtrees.parse().map_err(|_| bad())?;
    pos += newline + 1;
    if entries >= 0 {
        let id = payload.get(pos..pos + HASH).ok_or_else(bad)?;
        out.insert(path.clone(), Oid::from_bytes(id).map_err(|_| bad())?);
        pos += HASH;
    }
    for _ in 0..subtrees {
        pos = cache_tree_node(payload, pos, &path, out)?;
    }
    Ok(pos)
}

impl ParsedIndex {
    fn path(&self, entry: &Entry) -> &[u8] {
        &self.paths[entry.path.clone()]
    }

    /// The changes under sparse directory `dir` (ending in `/`), whose tree in the index is
    /// `tree` and in HEAD `head`: nothing when they are the same tree, else the two trees
    /// compared file by file.
    fn sparse_dir(
        &self,
        repo: &Repository,
        dir: &[u8],
        head: Option<Oid>,
        tree: Oid,
        out: &mut Vec<Change>,
    ) -> Result<(), GitError> {
        if head == Some(tree) {
            return Ok(());
        }
        let shown = String::from_utf8_lossy(dir).into_owned();
        let find = |id: Oid| {
            repo.find_tree(id)
                .map_err(GitError::object(id, Some(&shown)))
        };
        let new = find(tree)?;
        let old = head.map(find).transpose()?;
        for mut change in crate::changes::tree_changes(repo, old.as_ref(), &new)? {
            let mut path = dir.to_vec();
            path.extend_from_slice(&change.path);
            change.path = path;
            out.push(change);
        }
        Ok(())
    }

    /// The paths whose staged blob differs from HEAD's (`head`: `None` before the first
    /// commit). Directories the cache-tree records with HEAD's tree id are skipped unread.
    pub(crate) fn changes(
        &self,
        repo: &Repository,
        head: Option<&Tree<'_>>,
    ) -> Result<Vec<Change>, GitError> {
        let mut out = Vec::new();
        self.walk(
            repo,
            &self.entries,
            &mut Vec::new(),
            head.map(Tree::id),
            &mut out,
        )?;
        Ok(out)
    }

    fn walk(
        &self,
        repo: &Repository,
        entries: &[Entry],
        dir: &mut Vec<u8>,
        head: Option<Oid>,
        out: &mut Vec<Change>,
    ) -> Result<(), GitError> {
        let key = dir.strip_suffix(b"/").unwrap_or(dir);
        if let (Some(tree), Some(id)) = (head, self.cache_tree.get(key)) {
            // Checked before the tree is read: skipping must cost nothing.
            if tree == *id {
                return Ok(());
            }
        }
        let head = match head {
            Some(id) => Some(
                repo.find_tree(id)
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
            let path = self.path(entry);
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
                        self.sparse_dir(repo, dir, head.map(git2::Tree::id), entry.id, out)?;
                        continue;
                    }
                    let before = head_entries.get(rest).copied();
                    if before == Some((entry.id, entry.mode)) {
                        continue;
                    }
                    out.push(Change {
                        path: path.to_vec(),
                        old: before
                            .filter(|&(_, m)| m != MODE_TREE && m != MODE_GITLINK)
                            .map(|(id, _)| id),
                        new: entry.id,
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
                    let end = i + entries[i..].partition_point(|e| self.path(e).starts_with(dir));
                    let subtree = match head_entries.get(&rest[..slash]) {
                        Some(&(id, MODE_TREE)) => Some(id),
                        _ => None,
                    };
                    self.walk(repo, &entries[i..end], dir, subtree, out)?;
                    dir.truncate(len);
                    i = end;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_entry_count_in_a_tiny_index_is_an_error_not_an_allocation() {
        // Found by the index_reader fuzz target: DIRC, version 2, 0xFFFFFFFF entries.
        let mut data = b"DIRC\0\0\0\x02\xff\xff\xff\xff".to_vec();
        data.extend(Sha1::digest(&data));
        assert!(parse(&data).is_err());
    }

    #[test]
    fn varints_follow_gits_offset_encoding() {
        assert_eq!(varint(&[0x05]), Some((5, 1)));
        assert_eq!(varint(&[0x7f]), Some((127, 1)));
        // 128 is encoded as 0x80 0x00 in git's scheme.
        assert_eq!(varint(&[0x80, 0x00]), Some((128, 2)));
        assert_eq!(varint(&[0x80]), None);
    }

    #[test]
    fn corrupt_indexes_are_errors_not_empty() {
        assert!(parse(b"DIRC").is_err());
        let mut data = b"DIRC\0\0\0\x02\0\0\0\x01".to_vec();
        let digest = Sha1::digest(&data);
        data.extend_from_slice(&digest);
        assert!(parse(&data).unwrap_err().contains("entry 0"));
        let mut empty = b"DIRC\0\0\0\x02\0\0\0\0".to_vec();
        let digest = Sha1::digest(&empty);
        empty.extend_from_slice(&digest);
        assert_eq!(
            parse(&empty).map(|i| i.map(|i| i.entries.len())),
            Ok(Some(0))
        );
        empty[20] ^= 1;
        assert!(parse(&empty).unwrap_err().contains("checksum"));
    }
}
