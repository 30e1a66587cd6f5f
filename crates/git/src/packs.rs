//! Bulk reading of packed objects for history scans. Each pack is decoded with its delta
//! chains resolved in parallel from the pack's own delta tree (gitoxide's traversal),
//! instead of one libgit2 lookup per object, each re-walking its delta chain through a
//! shared cache.
//!
//! A pack's objects fall into delta families: a full object and every delta built on it,
//! directly or through other deltas. Git deltas an object only against one of its own
//! kind, so a family is all blobs, all trees or all commits, and it is decoded as a whole
//! or not at all. A scan decodes the tree and commit families first (a tenth of the bytes,
//! to list what each commit changed) and then only the blob families holding a blob it
//! wants, so nothing is decoded twice and unwanted history is not decoded at all.
//! Whatever the packs do not hold (loose objects, alternates, objects a partial clone left
//! out) is left to the caller to read one by one.

use crate::error::GitError;
use gix_pack::cache::delta::traverse::{Context, Options};
use gix_pack::data::entry::Header;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// An object id as both libraries spell it: 20 bytes of SHA-1.
pub(crate) type RawId = [u8; 20];

/// Maps keyed by object ids, hashed with a per-process random key (ids come from the
/// repository, which a scan does not trust to spread them).
pub(crate) type IdMap<V> = HashMap<RawId, V, ahash::RandomState>;

/// A new, empty [`IdMap`] with room for `capacity` ids.
pub(crate) fn id_map<V>(capacity: usize) -> IdMap<V> {
    HashMap::with_capacity_and_hasher(capacity, ahash::RandomState::new())
}

/// One pack file with its index, opened (memory-mapped) once.
pub(crate) struct Pack {
    index: gix_pack::index::File,
    data: gix_pack::data::File,
    path: PathBuf,
    /// Read on first use, then shared by every pass over the pack.
    layout: OnceLock<Layout>,
}

/// A pack's entries in pack order, each with the position of its delta family's root
/// and the family's kind.
struct Layout {
    entries: Vec<Selected>,
    root: Vec<usize>,
    family: Vec<Family>,
}

impl Pack {
    fn failed(&self, what: &str, reason: impl std::fmt::Display) -> GitError {
        GitError::Pack {
            path: self.path.clone(),
            reason: format!("{what}: {reason}"),
        }
    }
}

/// The packs (`.pack` with their `.idx`) of the object directory `objects`, in name
/// order. A pack without its index is left out: its objects are read through libgit2,
/// which fails closed if it cannot.
pub(crate) fn open_packs(objects: &Path) -> Result<Vec<Pack>, GitError> {
    let dir = objects.join("pack");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(reason) => return Err(GitError::Io { path: dir, reason }),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|reason| GitError::Io {
            path: dir.clone(),
            reason,
        })?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "idx") {
            let pack = path.with_extension("pack");
            if pack.is_file() {
                paths.push((path, pack));
            }
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|(idx_path, pack_path)| {
            let failed = |what: &str, reason: String| GitError::Pack {
                path: pack_path.clone(),
                reason: format!("{what}: {reason}"),
            };
            let index = gix_pack::index::File::at(&idx_path, gix_hash::Kind::Sha1)
                .map_err(|e| failed("cannot open the pack index", e.to_string()))?;
            let data = gix_pack::data::File::at(&pack_path, gix_hash::Kind::Sha1)
                .map_err(|e| failed("cannot open the pack", e.to_string()))?;
            Ok(Pack {
                index,
                data,
                path: pack_path,
                layout: OnceLock::new(),
            })
        })
        .collect()
}

/// What a pack entry's delta family decodes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Blob,
    Tree,
    Commit,
    Tag,
}

impl Family {
    fn of(kind: gix_object::Kind) -> Family {
        match kind {
            gix_object::Kind::Blob => Family::Blob,
            gix_object::Kind::Tree => Family::Tree,
            gix_object::Kind::Commit => Family::Commit,
            gix_object::Kind::Tag => Family::Tag,
        }
    }
}

/// A pack entry selected for decoding: where it is and which object it is.
#[derive(Clone)]
struct Selected {
    offset: u64,
    id: RawId,
}

/// Decodes, in every pack, each delta family that `wants` a member of (called with the
/// family's kind and the member's id), and calls `visit(family, id, bytes)` for every
/// object of those families (and of the pack's first family, which may be another), on up to `threads` worker threads (`None`: one per core).
/// An object several packs hold is visited once per pack.
pub(crate) fn visit_packed<W, V>(
    packs: &[Pack],
    threads: Option<usize>,
    wants: W,
    visit: V,
) -> Result<(), GitError>
where
    W: Fn(Family, &RawId) -> bool,
    V: Fn(Family, &RawId, &[u8]) + Sync,
{
    for pack in packs {
        let selected = select_families(pack, &wants)?;
        if selected.is_empty() {
            continue;
        }
        decode_selected(pack, selected, threads, &visit)?;
    }
    Ok(())
}

/// Reads the layout of `pack`: its entries in pack order and their delta families.
fn read_layout(pack: &Pack) -> Result<Layout, GitError> {
    let mut entries: Vec<Selected> = pack
        .index
        .iter()
        .filter_map(|entry| {
            let id = RawId::try_from(entry.oid.as_bytes()).ok()?;
            Some(Selected {
                offset: entry.pack_offset,
                id,
            })
        })
        .collect();
    entries.sort_unstable_by_key(|e| e.offset);
    let position = |offset: u64| entries.binary_search_by_key(&offset, |e| e.offset).ok();

    // Each entry's base (a position), or its kind when it is a full object.
    let mut base: Vec<Result<usize, Family>> = Vec::with_capacity(entries.len());
    for entry in &entries {
        let header = pack
            .data
            .entry(entry.offset)
            .map_err(|e| pack.failed("cannot read a pack entry", e))?
            .header;
        let link = match header {
            Header::OfsDelta { base_distance } => {
                Header::verified_base_pack_offset(entry.offset, base_distance)
                    .and_then(position)
                    .map(Ok)
            }
            Header::RefDelta { base_id } => pack
                .index
                .lookup(base_id)
                .map(|i| pack.index.pack_offset_at_index(i))
                .and_then(position)
                .map(Ok),
            full => full.as_kind().map(|kind| Err(Family::of(kind))),
        };
        let link = link.ok_or_else(|| {
            pack.failed(
                "cannot decode the pack",
                format!(
                    "the delta base of the entry at offset {} is not in the pack",
                    entry.offset
                ),
            )
        })?;
        base.push(link);
    }

    // The root of each entry's family, found by following bases; every entry is settled
    // once, so the cost follows the number of entries, and a cycle is an error.
    const UNSETTLED: usize = usize::MAX;
    const ON_PATH: usize = usize::MAX - 1;
    let mut root = vec![UNSETTLED; entries.len()];
    let mut path = Vec::new();
    for start in 0..entries.len() {
        let mut at = start;
        let found = loop {
            match root[at] {
                UNSETTLED => {}
                ON_PATH => {
                    return Err(pack.failed(
                        "cannot decode the pack",
                        format!("a delta chain through offset {} loops", entries[at].offset),
                    ))
                }
                settled => break settled,
            }
            match base[at] {
                Err(_) => break at,
                Ok(next) => {
                    root[at] = ON_PATH;
                    path.push(at);
                    at = next;
                }
            }
        };
        root[at] = found;
        for on_path in path.drain(..) {
            root[on_path] = found;
        }
    }

    let family = root
        .iter()
        .map(|&r| match base[r] {
            Err(family) => family,
            // A root is a full object by construction.
            Ok(_) => Family::Blob,
        })
        .collect();
    Ok(Layout {
        entries,
        root,
        family,
    })
}

/// The entries of `pack`, in pack order, whose delta family holds an object `wants`.
fn select_families<W>(pack: &Pack, wants: &W) -> Result<Vec<Selected>, GitError>
where
    W: Fn(Family, &RawId) -> bool,
{
    let layout = match pack.layout.get() {
        Some(layout) => layout,
        None => {
            let layout = read_layout(pack)?;
            pack.layout.get_or_init(|| layout)
        }
    };
    let Layout {
        entries,
        root,
        family,
    } = layout;
    let mut wanted = vec![false; entries.len()];
    for (at, entry) in entries.iter().enumerate() {
        if !wanted[root[at]] && wants(family[at], &entry.id) {
            wanted[root[at]] = true;
        }
    }
    // gitoxide reads the first selected entry's header where the pack's first entry
    // starts, so the first entry's family always comes along (visitors skip what they do
    // not want).
    if let Some(&first) = root.first() {
        wanted[first] = true;
    }
    Ok(entries
        .iter()
        .zip(root)
        .filter(|(_, &r)| wanted[r])
        .map(|(entry, _)| entry.clone())
        .collect())
}

/// Decodes the `selected` entries of `pack` (whole delta families, in pack order) in
/// parallel and visits each.
fn decode_selected<V>(
    pack: &Pack,
    selected: Vec<Selected>,
    threads: Option<usize>,
    visit: &V,
) -> Result<(), GitError>
where
    V: Fn(Family, &RawId, &[u8]) + Sync,
{
    let interrupt = AtomicBool::new(false);
    let index = &pack.index;
    let tree = gix_pack::cache::delta::Tree::from_offsets_in_pack(
        &pack.path,
        selected.into_iter(),
        &|e: &Selected| e.offset,
        &|id| Ok(index.lookup(id).map(|i| index.pack_offset_at_index(i))),
        &mut gix_utils::progress::Discard,
        &interrupt,
        gix_hash::Kind::Sha1,
    )
    .map_err(|e| pack.failed("cannot decode the pack", e))?;
    // The traversal's callback cannot carry our error out; a visit never fails.
    let failure: Mutex<Option<String>> = Mutex::new(None);
    tree.traverse(
        |range, data: &gix_pack::data::File| data.entry_slice(range),
        &pack.data,
        pack.data.pack_end() as u64,
        |entry: &mut Selected, _progress, context: Context<'_>| {
            match context.entry.header.as_kind() {
                Some(kind) => visit(Family::of(kind), &entry.id, context.decompressed),
                None => {
                    if let Ok(mut slot) = failure.lock() {
                        slot.get_or_insert_with(|| {
                            format!("the entry at offset {} did not resolve", entry.offset)
                        });
                    }
                }
            }
            Ok(())
        },
        Options {
            object_progress: Box::new(gix_utils::progress::Discard),
            size_progress: &mut gix_utils::progress::Discard,
            thread_limit: threads,
            should_interrupt: &interrupt,
            object_hash: gix_hash::Kind::Sha1,
            alloc_limit_bytes: None,
        },
    )
    .map_err(|e| pack.failed("cannot decode the pack", e))?;
    if interrupt.load(Ordering::Relaxed) {
        return Err(pack.failed("cannot decode the pack", "interrupted"));
    }
    match failure.into_inner().ok().flatten() {
        Some(reason) => Err(pack.failed("cannot decode the pack", reason)),
        None => Ok(()),
    }
}

/// The decoded trees and commits of the packs, by id: what listing each commit's changes
/// reads, decoded once in bulk.
#[derive(Default)]
pub(crate) struct PackedTrees {
    objects: IdMap<Decoded>,
}

/// A decoded tree or commit.
type Decoded = (Family, Box<[u8]>);

/// How many bytes of decoded trees and commits are held, at most. Past that, the others
/// are read one by one through libgit2 when needed, so memory stays bounded on the
/// largest histories (rust-lang/cargo's trees and commits are 125 MB).
const HELD_AT_MOST: usize = 512 << 20;

impl PackedTrees {
    /// Decodes every tree and commit family of `packs`.
    pub(crate) fn decode(packs: &[Pack], threads: Option<usize>) -> Result<PackedTrees, GitError> {
        PackedTrees::decode_within(packs, threads, HELD_AT_MOST)
    }

    /// As [`PackedTrees::decode`], holding at most `budget` bytes of objects.
    fn decode_within(
        packs: &[Pack],
        threads: Option<usize>,
        budget: usize,
    ) -> Result<PackedTrees, GitError> {
        let left = AtomicUsize::new(budget);
        let objects: Mutex<IdMap<Decoded>> = Mutex::new(id_map(0));
        visit_packed(
            packs,
            threads,
            |family, _| matches!(family, Family::Tree | Family::Commit),
            |family, id, bytes| {
                if !matches!(family, Family::Tree | Family::Commit) {
                    return;
                }
                let taken = left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                    left.checked_sub(bytes.len())
                });
                if taken.is_err() {
                    return;
                }
                if let Ok(mut objects) = objects.lock() {
                    objects.insert(*id, (family, bytes.into()));
                }
            },
        )?;
        let objects = objects.into_inner().unwrap_or_default();
        Ok(PackedTrees { objects })
    }

    /// The bytes of the tree or commit `id`, if a pack holds it as that kind.
    pub(crate) fn get(&self, id: &RawId, family: Family) -> Option<&[u8]> {
        match self.objects.get(id) {
            Some((kind, bytes)) if *kind == family => Some(bytes),
            _ => None,
        }
    }
}

/// Decodes every pack in `packs` and calls `visit(slot, bytes)` for each blob whose id
/// `wanted` maps to a slot, at most once per slot even when several packs hold the blob.
/// `visit` runs on up to `threads` worker threads (`None`: one per core). Returns, for
/// each of the `slots`, whether it was visited.
pub(crate) fn visit_packed_blobs<V>(
    packs: &[Pack],
    wanted: &IdMap<usize>,
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
    visit_packed(
        packs,
        threads,
        |family, id| family == Family::Blob && wanted.contains_key(id),
        |family, id, bytes| {
            if family != Family::Blob {
                return;
            }
            if let Some(&slot) = wanted.get(id) {
                if let Some(flag) = claimed.get(slot) {
                    if !flag.swap(true, Ordering::AcqRel) {
                        visit(slot, bytes);
                    }
                }
            }
        },
    )?;
    Ok(claimed.into_iter().map(AtomicBool::into_inner).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn decoded_trees_and_commits_stay_within_their_budget() {
        let dir = tempfile::tempdir().expect("tempdir");
        git(dir.path(), &["init", "-q"]);
        for rev in 0..6 {
            for file in ["a.txt", "src/b.rs", "src/deep/c.rs"] {
                let path = dir.path().join(file);
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                std::fs::write(&path, format!("{file} revision {rev}\n")).expect("write");
            }
            git(dir.path(), &["add", "-A"]);
            git(
                dir.path(),
                &["commit", "-q", "-m", &format!("revision {rev}")],
            );
        }
        git(dir.path(), &["gc", "-q"]);
        let listed = git(
            dir.path(),
            &[
                "cat-file",
                "--batch-all-objects",
                "--batch-check=%(objectname) %(objecttype) %(objectsize)",
            ],
        );
        let mut expected = Vec::new();
        for line in listed.lines() {
            let mut fields = line.split(' ');
            let (Some(id), Some(kind), Some(size)) = (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let family = match kind {
                "tree" => Family::Tree,
                "commit" => Family::Commit,
                _ => continue,
            };
            let id = git2::Oid::from_str(id).expect("id");
            let raw = RawId::try_from(id.as_bytes()).expect("sha-1");
            expected.push((raw, family, size.parse::<usize>().expect("size")));
        }
        assert_eq!(expected.len(), 6 * 4, "{listed}");

        let packs = open_packs(&dir.path().join(".git/objects")).expect("packs");
        let all = PackedTrees::decode_within(&packs, Some(2), usize::MAX).expect("decodes");
        for (id, family, size) in &expected {
            assert_eq!(all.get(id, *family).map(<[u8]>::len), Some(*size));
            let other = match family {
                Family::Tree => Family::Commit,
                _ => Family::Tree,
            };
            assert_eq!(all.get(id, other), None, "a {family:?} is not a {other:?}");
        }

        let none = PackedTrees::decode_within(&packs, Some(2), 0).expect("decodes");
        assert!(expected
            .iter()
            .all(|(id, family, _)| none.get(id, *family).is_none()));

        let budget = expected.iter().map(|(_, _, size)| size).sum::<usize>() / 2;
        let half = PackedTrees::decode_within(&packs, Some(2), budget).expect("decodes");
        let held: Vec<usize> = expected
            .iter()
            .filter_map(|(id, family, _)| half.get(id, *family).map(<[u8]>::len))
            .collect();
        assert!(!held.is_empty() && held.len() < expected.len(), "{held:?}");
        assert!(held.iter().sum::<usize>() <= budget);
    }
}
