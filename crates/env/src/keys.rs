//! Keys found by name without a copy of each: a table of positions into a list that holds
//! the keys (the variables of a load, then of the environment).
//!
//! Each slot holds a key's hash with its position, so growing the table never reads the
//! keys again, and a probe reads one slot array (open addressing, linear probing, at most
//! two thirds full): a key that is not there costs about one cache miss, which on a file
//! of 230,000 keys is most of the lookup. Hashing is SipHash with random keys, as in
//! `std::collections::HashMap`: a file crafted so that its keys collide cannot make
//! loading quadratic.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;

/// The position of an empty slot: no list holds `usize::MAX` elements.
const EMPTY: usize = usize::MAX;

#[derive(Clone, Default)]
pub(crate) struct KeyIndex {
    hasher: RandomState,
    /// `(hash, position)`; a power of two in length (or empty), at most two thirds full.
    slots: Vec<(u64, usize)>,
    len: usize,
}

impl fmt::Debug for KeyIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyIndex({} keys)", self.len)
    }
}

impl KeyIndex {
    /// Room for `additional` more keys without growing.
    pub fn reserve(&mut self, additional: usize) {
        // At most two thirds full.
        let keys = self.len.saturating_add(additional);
        let needed = keys.saturating_add(keys / 2);
        if needed <= self.slots.len() {
            return;
        }
        let Some(size) = needed.max(16).checked_next_power_of_two() else {
            return;
        };
        let old = std::mem::replace(&mut self.slots, vec![(0, EMPTY); size]);
        let mask = size - 1;
        for (hash, position) in old.into_iter().filter(|&(_, p)| p != EMPTY) {
            let mut i = slot_of(hash, mask);
            while let Some(slot) = self.slots.get_mut(i) {
                if slot.1 == EMPTY {
                    *slot = (hash, position);
                    break;
                }
                i = (i + 1) & mask;
            }
        }
    }

    /// The slot holding `key`, or the empty slot where it would go (`None` only for an
    /// empty or full table, which `reserve` never leaves).
    fn probe<'k>(
        &self,
        key: &str,
        hash: u64,
        key_of: impl Fn(usize) -> Option<&'k str>,
    ) -> Option<usize> {
        let mask = self.slots.len().checked_sub(1)?;
        let mut i = slot_of(hash, mask);
        // At most two thirds full: an empty slot ends every probe, long before the bound.
        for _ in 0..self.slots.len() {
            let &(h, position) = self.slots.get(i)?;
            if position == EMPTY || (h == hash && key_of(position) == Some(key)) {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
        None
    }

    /// The position of `key`; `key_of` gives the key at a position.
    pub fn get<'k>(&self, key: &str, key_of: impl Fn(usize) -> Option<&'k str>) -> Option<usize> {
        let hash = self.hasher.hash_one(key);
        let i = self.probe(key, hash, key_of)?;
        self.slots
            .get(i)
            .map(|&(_, position)| position)
            .filter(|&p| p != EMPTY)
    }

    /// The position of `key`, to read or change, if it has one; else `next` becomes its
    /// position and the result is `None`. `key_of` gives the key at a position.
    pub fn get_or_insert<'k>(
        &mut self,
        key: &str,
        next: usize,
        key_of: impl Fn(usize) -> Option<&'k str>,
    ) -> Option<&mut usize> {
        self.reserve(1);
        let hash = self.hasher.hash_one(key);
        let i = self.probe(key, hash, key_of)?;
        let slot = self.slots.get_mut(i)?;
        if slot.1 == EMPTY {
            *slot = (hash, next);
            self.len += 1;
            return None;
        }
        Some(&mut slot.1)
    }

    /// Changes every position `i` into `to(i)`.
    pub fn renumber(&mut self, to: impl Fn(usize) -> usize) {
        for slot in self.slots.iter_mut().filter(|s| s.1 != EMPTY) {
            slot.1 = to(slot.1);
        }
    }
}

fn slot_of(hash: u64, mask: usize) -> usize {
    // Truncating keeps the low bits, which is all the mask keeps.
    (hash as usize) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_was_inserted() {
        let keys: Vec<String> = (0..1000).map(|i| format!("KEY_{i}")).collect();
        let key_of = |i: usize| keys.get(i).map(String::as_str);
        let mut index = KeyIndex::default();
        assert_eq!(index.get("KEY_1", key_of), None, "an empty index");
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(index.get_or_insert(key, i, key_of), None);
        }
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(index.get(key, key_of), Some(i));
            assert_eq!(index.get_or_insert(key, 5000, key_of).copied(), Some(i));
        }
        assert_eq!(index.get("KEY_1000", key_of), None);
        // A position can be moved (a later definition of the key).
        if let Some(position) = index.get_or_insert("KEY_7", 5000, key_of) {
            *position = 3;
        }
        assert_eq!(index.get("KEY_7", key_of), None, "KEY_3 is at 3");
        assert_eq!(index.get("KEY_3", key_of), Some(3));
        index.renumber(|i| i + 1);
        assert_eq!(index.get("KEY_999", |i| key_of(i - 1)), Some(1000));
    }

    #[test]
    fn reserving_keeps_what_is_there() {
        let keys: Vec<String> = (0..100).map(|i| format!("K{i}")).collect();
        let key_of = |i: usize| keys.get(i).map(String::as_str);
        let mut index = KeyIndex::default();
        for (i, key) in keys.iter().enumerate().take(50) {
            index.get_or_insert(key, i, key_of);
        }
        index.reserve(10_000);
        assert!(index.slots.len() >= 15_075);
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(index.get(key, key_of), (i < 50).then_some(i));
        }
    }
}
