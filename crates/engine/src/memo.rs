//! What content alone decides, remembered across the inputs of one scan.
//!
//! A history scan reads every version of every file, and versions share most of their
//! lines: on rust-lang/cargo, three quarters of the bytes of a random sixth of the blobs
//! repeat a stretch seen in another blob. Two results depend on the bytes alone and are
//! remembered, keyed by a 128-bit XXH3 hash of the bytes under a secret drawn at random for
//! each memo (so nobody can craft content that collides with content scanned before
//! without knowing it; SipHash cost as much as the keyword search it replaced, and two
//! 64-bit aHashes half of that):
//!
//! - the keyword hits of each line-aligned, content-defined chunk. No keyword holds a
//!   newline (the scanner checks), so a keyword occurrence lies within one line, hence
//!   within one chunk, and the automaton starts every line from its root state: the hits
//!   of a chunk are the same wherever it sits;
//! - whether a chunk holds an encoded segment: encoded runs hold no line end either;
//! - that a rule's regex matches nothing in a window of text. Everything a rule reports
//!   comes from a regex match in its window, so such a window reports nothing wherever it
//!   sits, whatever its path or commit.
//!
//! Both tables stop growing at a fixed size, so memory stays bounded whatever the input;
//! past that, uncached content is scanned as if there were no memo.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Chunks are cut after a line only once they hold this many bytes.
const MIN_CHUNK: usize = 96;
/// A chunk is cut after the first line end past this size, whatever the content.
const MAX_CHUNK: usize = 16 * 1024;
/// One line end in this many, chosen by the bytes before it, ends a chunk.
const CUT_ONE_IN_BITS: u32 = 3;

/// XXH3's secret, in 64-bit words (192 bytes, its default size).
const SECRET_WORDS: usize = 24;

const SHARDS: usize = 16;
/// Remembered chunks, at most (about 40 bytes each, plus their hits).
const MAX_CHUNKS: usize = 1 << 20;
/// Remembered keyword hits over all chunks, at most (8 bytes each).
const MAX_HITS: usize = 8 << 20;
/// Remembered empty windows, at most (about 20 bytes each).
const MAX_EMPTY_WINDOWS: usize = 2 << 20;

/// Keys are already uniform random bits: hash them by taking their low half.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

type Keyed<V> = HashMap<u128, V, BuildHasherDefault<Prehashed>>;
type KeySet = HashSet<u128, BuildHasherDefault<Prehashed>>;
/// What a chunk's bytes decide: its keyword hits (offset in the chunk, keyword index), and
/// whether it holds an encoded segment (see [`crate::decode`]).
pub(crate) struct Chunk {
    pub hits: Box<[(u32, u32)]>,
    pub encoded: bool,
}

/// See the module documentation. Created for one scan with one [`crate::Scanner`]: the
/// remembered results name that scanner's rules and keywords by index.
pub struct ContentMemo {
    /// Tells this memo's keys apart from another's in each thread's recent keys.
    id: u64,
    /// XXH3's secret, drawn at random for each memo.
    secret: Box<[u8]>,
    /// Separates the keys of different tags (rules, chunks): random and odd, so distinct
    /// tags always move a key by distinct amounts.
    tag_step: u128,
    chunks: [Mutex<Keyed<Arc<Chunk>>>; SHARDS],
    empty_windows: [Mutex<KeySet>; SHARDS],
    chunks_left: AtomicUsize,
    hits_left: AtomicUsize,
    empty_windows_left: AtomicUsize,
}

impl std::fmt::Debug for ContentMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentMemo").finish_non_exhaustive()
    }
}

impl Default for ContentMemo {
    fn default() -> ContentMemo {
        ContentMemo::new()
    }
}

fn shard(key: u128) -> usize {
    (key >> 120) as usize % SHARDS
}

impl ContentMemo {
    pub fn new() -> ContentMemo {
        // ahash's per-process random seeds, stretched into a secret of random words.
        let random = ahash::RandomState::new();
        let words: Vec<u64> = (0..SECRET_WORDS as u64)
            .map(|i| random.hash_one(i))
            .collect();
        let secret = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let tag_step = (u128::from(random.hash_one(u64::MAX)) << 64
            | u128::from(random.hash_one(u64::MAX - 1)))
            | 1;
        ContentMemo {
            id: NEXT_MEMO_ID.fetch_add(1, Ordering::Relaxed),
            secret,
            tag_step,
            chunks: std::array::from_fn(|_| Mutex::new(Keyed::default())),
            empty_windows: std::array::from_fn(|_| Mutex::new(KeySet::default())),
            chunks_left: AtomicUsize::new(MAX_CHUNKS),
            hits_left: AtomicUsize::new(MAX_HITS),
            empty_windows_left: AtomicUsize::new(MAX_EMPTY_WINDOWS),
        }
    }

    fn hash(&self, tag: u64, bytes: &[u8]) -> u128 {
        xxhash_rust::xxh3::xxh3_128_with_secret(bytes, &self.secret)
            .wrapping_add(u128::from(tag).wrapping_mul(self.tag_step))
    }

    pub(crate) fn chunk_key(&self, chunk: &[u8]) -> u128 {
        self.hash(u64::MAX, chunk)
    }

    pub(crate) fn window_key(&self, rule_index: usize, window: &[u8]) -> u128 {
        self.hash(rule_index as u64, window)
    }

    /// Calls `f` with what is remembered of the chunk `key`, if anything.
    pub(crate) fn with_chunk(&self, key: u128, f: impl FnOnce(&Chunk)) -> bool {
        let slot = key as usize % RECENT_CHUNKS;
        let mut f = Some(f);
        let recent = RECENT
            .try_with(|recent| {
                let recent = recent.borrow();
                match recent.chunks.get(slot) {
                    Some(Some((k, chunk))) if recent.memo == self.id && *k == key => {
                        if let Some(f) = f.take() {
                            f(chunk);
                        }
                        true
                    }
                    _ => false,
                }
            })
            .unwrap_or(false);
        if recent {
            return true;
        }
        let Ok(table) = self.chunks[shard(key)].lock() else {
            return false;
        };
        let Some(chunk) = table.get(&key).map(Arc::clone) else {
            return false;
        };
        drop(table);
        if let Some(f) = f.take() {
            f(&chunk);
        }
        self.note_recent_chunk(slot, key, &chunk);
        true
    }

    pub(crate) fn remember_chunk(
        &self,
        key: u128,
        hits: impl ExactSizeIterator<Item = (u32, u32)>,
        encoded: bool,
    ) {
        if !take(&self.chunks_left, 1) || !take(&self.hits_left, hits.len()) {
            return;
        }
        let chunk = Arc::new(Chunk {
            hits: hits.collect(),
            encoded,
        });
        if let Ok(mut table) = self.chunks[shard(key)].lock() {
            table.insert(key, Arc::clone(&chunk));
        }
        self.note_recent_chunk(key as usize % RECENT_CHUNKS, key, &chunk);
    }

    pub(crate) fn known_empty_window(&self, key: u128) -> bool {
        let slot = key as usize % RECENT_WINDOWS;
        let recent = RECENT
            .try_with(|recent| {
                let recent = recent.borrow();
                key != 0 && recent.memo == self.id && recent.keys.get(slot) == Some(&key)
            })
            .unwrap_or(false);
        if recent {
            return true;
        }
        let known = self.empty_windows[shard(key)]
            .lock()
            .map(|set| set.contains(&key))
            .unwrap_or(false);
        if known {
            self.note_recent(slot, key);
        }
        known
    }

    pub(crate) fn remember_empty_window(&self, key: u128) {
        if !take(&self.empty_windows_left, 1) {
            return;
        }
        if let Ok(mut set) = self.empty_windows[shard(key)].lock() {
            set.insert(key);
        }
        self.note_recent(key as usize % RECENT_WINDOWS, key);
    }

    /// Puts a key of the shared set among this thread's recent ones.
    fn note_recent(&self, slot: usize, key: u128) {
        let _ = RECENT.try_with(|recent| {
            let mut recent = recent.borrow_mut();
            recent.claim(self.id);
            if let Some(at) = recent.keys.get_mut(slot) {
                *at = key;
            }
        });
    }

    /// Puts a chunk of the shared table among this thread's recent ones.
    fn note_recent_chunk(&self, slot: usize, key: u128, chunk: &Arc<Chunk>) {
        let _ = RECENT.try_with(|recent| {
            let mut recent = recent.borrow_mut();
            recent.claim(self.id);
            if let Some(at) = recent.chunks.get_mut(slot) {
                *at = Some((key, Arc::clone(chunk)));
            }
        });
    }
}

/// Empty windows each thread remembers in front of the shared set (16 bytes each). The
/// versions of a file are scanned one after another on one thread, so most lookups are
/// answered here, without a lock or a cache miss in the big table.
const RECENT_WINDOWS: usize = 1 << 14;

static NEXT_MEMO_ID: AtomicU64 = AtomicU64::new(1);

/// A chunk's key and what is remembered of it.
type RecentChunk = (u128, Arc<Chunk>);

/// Chunks each thread remembers in front of the shared table, likewise.
const RECENT_CHUNKS: usize = 1 << 12;

/// One thread's recent empty-window keys and chunks, for the memo `memo`, each in the
/// slot its key's low bits name (0 marks an empty window slot, and a key of 0 is never
/// looked up there).
struct Recent {
    memo: u64,
    keys: Box<[u128]>,
    chunks: Box<[Option<RecentChunk>]>,
}

impl Recent {
    /// Makes these the recent keys of the memo `id`, forgetting another memo's.
    fn claim(&mut self, id: u64) {
        if self.memo != id {
            self.memo = id;
            self.keys.fill(0);
            self.chunks.fill(None);
        }
    }
}

thread_local! {
    static RECENT: std::cell::RefCell<Recent> = std::cell::RefCell::new(Recent {
        memo: 0,
        keys: vec![0; RECENT_WINDOWS].into_boxed_slice(),
        chunks: vec![None; RECENT_CHUNKS].into_boxed_slice(),
    });
}

/// Takes `n` from the budget `left`, if that much is left.
fn take(left: &AtomicUsize, n: usize) -> bool {
    left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| l.checked_sub(n))
        .is_ok()
}

/// Splits `bytes` into chunks that end at line ends. Where a chunk ends depends only on
/// the bytes just before each line end (and the minimum size), so an edit moves the cuts
/// of the chunk it falls in, and the chunks after it soon fall back on the same cuts.
pub(crate) fn chunks(bytes: &[u8]) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        // No line end in a chunk's first MIN_CHUNK - 1 bytes can end it: not looked at.
        let mut from = start + MIN_CHUNK - 1;
        while let Some(found) = bytes
            .get(from..)
            .and_then(|rest| memchr::memchr(b'\n', rest))
        {
            let newline = from + found;
            let end = newline + 1;
            if end - start >= MAX_CHUNK || is_cut(bytes, newline) {
                let chunk = start..end;
                start = end;
                return Some(chunk);
            }
            from = end;
        }
        let chunk = start..bytes.len();
        start = bytes.len();
        Some(chunk)
    })
}

/// Whether the line ending at the newline `at` ends a chunk: decided by the 8 bytes
/// before it.
fn is_cut(bytes: &[u8], at: usize) -> bool {
    let mut word = [0u8; 8];
    let from = at.saturating_sub(8);
    if let Some(tail) = bytes.get(from..at) {
        word[8 - tail.len()..].copy_from_slice(tail);
    }
    let h = u64::from_le_bytes(word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h >> (64 - CUT_ONE_IN_BITS) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_input_end_at_line_ends_and_resynchronise_after_an_edit() {
        let mut text = Vec::new();
        for i in 0..5_000 {
            text.extend_from_slice(
                format!("let value_{i} = compute({i}, \"{}\");\n", i * 7).as_bytes(),
            );
        }
        let cuts: Vec<Range<usize>> = chunks(&text).collect();
        assert_eq!(cuts.first().map(|c| c.start), Some(0));
        assert_eq!(cuts.last().map(|c| c.end), Some(text.len()));
        for pair in cuts.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
            assert_eq!(text[pair[0].end - 1], b'\n');
        }
        assert!(cuts.len() > 50, "{} chunks", cuts.len());
        assert!(cuts.iter().all(|c| c.len() <= MAX_CHUNK + 64));

        // Insert a line early on: all but a few chunks are the same bytes as before.
        let mut edited = text.clone();
        let at = cuts[3].start + 10;
        let line_end = at + edited[at..].iter().position(|&b| b == b'\n').unwrap_or(0) + 1;
        edited.splice(line_end..line_end, b"inserted = 1;\n".iter().copied());
        let before: HashSet<&[u8]> = cuts.iter().map(|c| &text[c.clone()]).collect();
        let after: Vec<&[u8]> = chunks(&edited).map(|c| &edited[c]).collect();
        let changed = after.iter().filter(|c| !before.contains(*c)).count();
        assert!(changed <= 3, "{changed} of {} chunks changed", after.len());
    }

    #[test]
    fn a_text_without_line_ends_is_one_chunk_and_empty_text_none() {
        assert_eq!(chunks(b"no newline here").collect::<Vec<_>>(), vec![0..15]);
        assert_eq!(chunks(b"").count(), 0);
    }

    #[test]
    fn keys_differ_by_content_by_tag_and_by_memo() {
        let a = ContentMemo::new();
        let b = ContentMemo::new();
        assert_eq!(a.chunk_key(b"x = 1\n"), a.chunk_key(b"x = 1\n"));
        assert_ne!(a.chunk_key(b"x = 1\n"), a.chunk_key(b"x = 2\n"));
        assert_ne!(a.window_key(3, b"text"), a.window_key(4, b"text"));
        assert_ne!(a.chunk_key(b"x = 1\n"), b.chunk_key(b"x = 1\n"));
    }

    #[test]
    fn the_tables_stop_growing_at_their_budget() {
        let memo = ContentMemo::new();
        memo.empty_windows_left.store(2, Ordering::Relaxed);
        for i in 0..5u8 {
            memo.remember_empty_window(memo.window_key(0, &[i]));
        }
        let kept = (0..5u8)
            .filter(|&i| memo.known_empty_window(memo.window_key(0, &[i])))
            .count();
        assert_eq!(kept, 2);
        memo.hits_left.store(3, Ordering::Relaxed);
        memo.remember_chunk(1, [(0, 0), (1, 1)].into_iter(), true);
        memo.remember_chunk(2, [(0, 0), (1, 1)].into_iter(), false);
        assert!(memo.with_chunk(1, |c| assert_eq!((c.hits.len(), c.encoded), (2, true))));
        assert!(!memo.with_chunk(2, |_| ()));
    }
}
