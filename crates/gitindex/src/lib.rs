//! A reader for git's index file (versions 2 to 4) built for `--staged`: paths go into one
//! buffer instead of an allocation each, and the cache-tree extension is kept, so that a
//! comparison with HEAD can skip every directory the index records as unchanged. A sparse
//! index (`index.sparse`, the `sdir` extension) is read too: a directory outside the sparse
//! cone is one entry holding its tree. Formats this reader does not handle (split indexes,
//! unknown required extensions) give `Ok(None)`, and the caller falls back to another reader.
//!
//! It has no libgit2 in it (object ids are raw bytes), so the `index_reader` fuzz target
//! builds without compiling libgit2.

use sha1::{Digest, Sha1};
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// An object id as the index stores it: 20 bytes of SHA-1.
pub type ObjectId = [u8; HASH];

/// Why an index file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The file could not be opened, mapped or measured.
    #[error("{path}: {reason}")]
    Io {
        path: PathBuf,
        reason: std::io::Error,
    },
    /// The file is not a valid index: what is wrong and where.
    #[error("{path}: {message}")]
    Malformed { path: PathBuf, message: String },
}

const HASH: usize = 20;

/// One index entry. `path` indexes [`ParsedIndex::path`]'s buffer.
#[derive(Debug, Clone)]
pub struct Entry {
    path: Range<usize>,
    pub id: ObjectId,
    pub mode: u32,
    /// The merge stage: 0 for a normal entry, 1 to 3 for a conflict.
    pub stage: u8,
    /// `git add -N`: the path is known but no content is staged for it.
    pub intent_to_add: bool,
}

/// The parts of an index `--staged` needs.
#[derive(Debug, Default)]
pub struct ParsedIndex {
    paths: Vec<u8>,
    entries: Vec<Entry>,
    /// Directories (no trailing `/`; the root is empty) whose tree the index knows, valid.
    cache_tree: HashMap<Vec<u8>, ObjectId>,
}

/// Reads the index at `path`; a missing file is an empty index, as git treats it.
/// `Ok(None)`: a format this reader does not handle.
pub fn read(path: &Path) -> Result<Option<ParsedIndex>, IndexError> {
    let io_error = |reason: std::io::Error| IndexError::Io {
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
    parse(data).map_err(|message| IndexError::Malformed {
        path: path.to_path_buf(),
        message,
    })
}

fn be32(data: &[u8], at: usize) -> Result<u32, String> {
    data.get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| format!("truncated at byte {at}"))
}

/// Parses the bytes of an index file: `Ok(None)` for a format this reader does not
/// handle, `Err` with what is wrong for a damaged one. Never panics (the `index_reader`
/// fuzz target's entry point).
pub fn parse(data: &[u8]) -> Result<Option<ParsedIndex>, String> {
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
        let id: ObjectId = fixed[40..60]
            .try_into()
            .map_err(|_| format!("entry {n} is truncated"))?;
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
    out: &mut HashMap<Vec<u8>, ObjectId>,
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
        out.insert(path.clone(), id.try_into().map_err(|_| bad())?);
        pos += HASH;
    }
    for _ in 0..subtrees {
        pos = cache_tree_node(payload, pos, &path, out)?;
    }
    Ok(pos)
}

impl ParsedIndex {
    /// The entries, in index order (sorted by path; a directory's paths are contiguous).
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The path of `entry` (an entry of this index).
    pub fn path(&self, entry: &Entry) -> &[u8] {
        self.paths.get(entry.path.clone()).unwrap_or_default()
    }

    /// The tree id the cache-tree extension records, valid, for directory `dir` (no
    /// trailing `/`; the root is empty).
    pub fn cached_tree(&self, dir: &[u8]) -> Option<&ObjectId> {
        self.cache_tree.get(dir)
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
