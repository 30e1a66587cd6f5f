//! Bulk reading of packed blobs for history scans. Each pack of the repository is decoded
//! once, with its delta chains resolved in parallel from the pack's own delta tree
//! (gitoxide's traversal), instead of one libgit2 lookup per blob, each re-walking its
//! delta chain through a shared cache. Whatever the packs do not hold (loose objects,
//! alternates, objects a partial clone left out) is left to the caller to read one by one.

use crate::error::GitError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// A blob id as both libraries spell it: 20 bytes of SHA-1.
pub(crate) type RawId = [u8; 20];

/// The pack files (`.pack` with their `.idx`) of the object directory `objects`, in name
/// order. A pack without its index is left out: its objects are read through libgit2,
/// which fails closed if it cannot.
pub(crate) fn pack_files(objects: &Path) -> Result<Vec<(PathBuf, PathBuf)>, GitError> {
    let dir = objects.join("pack");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(reason) => return Err(GitError::Io { path: dir, reason }),
    };
    let mut packs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|reason| GitError::Io {
            path: dir.clone(),
            reason,
        })?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "idx") {
            let pack = path.with_extension("pack");
            if pack.is_file() {
                packs.push((path, pack));
            }
        }
    }
    packs.sort();
    Ok(packs)
}

/// Decodes every pack in `packs` and calls `visit(slot, bytes)` for each blob whose id
/// `wanted` maps to a slot, at most once per slot even when several packs hold the blob.
/// `visit` runs on up to `threads` worker threads (`None`: one per core). Returns, for
/// each of the `slots`, whether it was visited.
pub(crate) fn visit_packed_blobs<V>(
    packs: &[(PathBuf, PathBuf)],
    wanted: &HashMap<RawId, usize>,
    slots: usize,
    threads: Option<usize>,
    visit: V,
) -> Result<Vec<bool>, GitError>
where
    V: Fn(usize, &[u8]) + Sync,
{
    let claimed: Vec<AtomicBool> = (0..slots).map(|_| AtomicBool::new(false)).collect();
    if wanted.is_empty() {
        return Ok(vec![false; slots]);
    }
    let interrupt = AtomicBool::new(false);
    for (idx_path, pack_path) in packs {
        let failed = |what: &str, reason: String| GitError::Pack {
            path: pack_path.clone(),
            reason: format!("{what}: {reason}"),
        };
        let index = gix_pack::index::File::at(idx_path, gix_hash::Kind::Sha1)
            .map_err(|e| failed("cannot open the pack index", e.to_string()))?;
        let data = gix_pack::data::File::at(pack_path, gix_hash::Kind::Sha1)
            .map_err(|e| failed("cannot open the pack", e.to_string()))?;
        let (claimed, visit) = (&claimed, &visit);
        index
            .traverse_with_index(
                &data,
                move |kind, bytes, entry, _progress| {
                    if kind != gix_object::Kind::Blob {
                        return Ok(());
                    }
                    let Ok(id) = RawId::try_from(entry.oid.as_bytes()) else {
                        return Ok(());
                    };
                    if let Some(&slot) = wanted.get(&id) {
                        if let Some(flag) = claimed.get(slot) {
                            if !flag.swap(true, Ordering::AcqRel) {
                                visit(slot, bytes);
                            }
                        }
                    }
                    Ok(())
                },
                &mut gix_utils::progress::Discard,
                &interrupt,
                gix_pack::index::traverse::with_index::Options {
                    thread_limit: threads,
                    // Object ids are not re-hashed, as with libgit2's reader (see
                    // `repo::open`): a damaged entry still fails zlib's checksum or the
                    // delta's size checks, and decode errors abort the scan.
                    check: gix_pack::index::traverse::SafetyCheck::SkipFileAndObjectChecksumVerification,
                    alloc_limit_bytes: None,
                },
            )
            .map_err(|e| failed("cannot decode the pack", e.to_string()))?;
    }
    Ok(claimed.into_iter().map(AtomicBool::into_inner).collect())
}
