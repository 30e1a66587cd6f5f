//! Keys found by name without a copy of each: a table of positions into a list that holds
//! the keys (the definitions of a load, then the variables of the environment).
//!
//! Hashing is SipHash with random keys, as in `std::collections::HashMap`: a file crafted
//! so that its keys collide cannot make loading quadratic.

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;

/// Each key's position with the key's hash: growing the table never reads the keys again
/// (which, scattered over the heap, would cost a cache miss each).
#[derive(Clone, Default)]
pub(crate) struct KeyIndex {
    hasher: RandomState,
    table: HashTable<(u64, usize)>,
}

impl fmt::Debug for KeyIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyIndex({} keys)", self.table.len())
    }
}

impl KeyIndex {
    /// The position of `key`; `key_of` gives the key at a position.
    pub fn get<'k>(&self, key: &str, key_of: impl Fn(usize) -> Option<&'k str>) -> Option<usize> {
        let hash = self.hasher.hash_one(key);
        self.table
            .find(hash, |&(h, i)| h == hash && key_of(i) == Some(key))
            .map(|&(_, i)| i)
    }

    /// Room for `additional` more keys.
    pub fn reserve(&mut self, additional: usize) {
        self.table.reserve(additional, |&(hash, _)| hash);
    }

    /// Changes every position `i` into `to(i)`.
    pub fn renumber(&mut self, to: impl Fn(usize) -> usize) {
        for (_, i) in self.table.iter_mut() {
            *i = to(*i);
        }
    }

    /// The position of `key`, to read or change, if it has one; else `next` becomes its
    /// position and the result is `None`. `key_of` gives the key at a position.
    pub fn get_or_insert<'k>(
        &mut self,
        key: &str,
        next: usize,
        key_of: impl Fn(usize) -> Option<&'k str>,
    ) -> Option<&mut usize> {
        let hash = self.hasher.hash_one(key);
        match self.table.entry(
            hash,
            |&(h, i)| h == hash && key_of(i) == Some(key),
            |&(h, _)| h,
        ) {
            Entry::Occupied(found) => Some(&mut found.into_mut().1),
            Entry::Vacant(slot) => {
                slot.insert((hash, next));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_was_inserted() {
        let keys: Vec<String> = (0..1000).map(|i| format!("KEY_{i}")).collect();
        let key_of = |i: usize| keys.get(i).map(String::as_str);
        let mut index = KeyIndex::default();
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
    }
}
