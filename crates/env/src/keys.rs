//! Keys found by name without a copy of each: a table of positions into a list that holds
//! the keys (the variables of a load, then of the environment).
//!
//! Each entry of a `hashbrown::HashTable` holds a key's hash with its position, so growing
//! the table never reads the keys again. Hashing is SipHash with random keys, as in
//! `std::collections::HashMap`: a file crafted so that its keys collide cannot make
//! loading quadratic.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;

#[derive(Clone, Default)]
pub(crate) struct KeyIndex {
    hasher: RandomState,
    /// `(hash, position)`: the hash is kept, so growing the table never reads the keys.
    table: hashbrown::HashTable<(u64, usize)>,
}

impl fmt::Debug for KeyIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyIndex({} keys)", self.table.len())
    }
}

fn stored_hash(&(hash, _): &(u64, usize)) -> u64 {
    hash
}

impl KeyIndex {
    /// Room for `additional` more keys without growing.
    pub fn reserve(&mut self, additional: usize) {
        self.table.reserve(additional, stored_hash);
    }

    /// The position of `key`; `key_of` gives the key at a position.
    pub fn get<'k>(&self, key: &str, key_of: impl Fn(usize) -> Option<&'k str>) -> Option<usize> {
        let hash = self.hasher.hash_one(key);
        self.table
            .find(hash, |&(h, position)| {
                h == hash && key_of(position) == Some(key)
            })
            .map(|&(_, position)| position)
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
            |&(h, position)| h == hash && key_of(position) == Some(key),
            stored_hash,
        ) {
            hashbrown::hash_table::Entry::Occupied(entry) => Some(&mut entry.into_mut().1),
            hashbrown::hash_table::Entry::Vacant(entry) => {
                entry.insert((hash, next));
                None
            }
        }
    }

    /// Changes every position `i` into `to(i)`.
    pub fn renumber(&mut self, to: impl Fn(usize) -> usize) {
        for slot in self.table.iter_mut() {
            slot.1 = to(slot.1);
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
        assert!(index.table.capacity() >= 10_050);
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(index.get(key, key_of), (i < 50).then_some(i));
        }
    }
}
