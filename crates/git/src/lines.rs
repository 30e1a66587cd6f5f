//! Which lines of a new version a change adds, so staged and range scans report only
//! secrets the change introduces rather than every secret already in the file.

use git2::{DiffOptions, Patch};
use std::ops::Range;

/// 1-based line numbers added by a change, as sorted, disjoint half-open ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AddedLines(Vec<Range<usize>>);

impl AddedLines {
    /// Every line counts as added (a new file, or `--all-lines`).
    pub(crate) fn all() -> AddedLines {
        AddedLines(std::iter::once(1..usize::MAX).collect())
    }

    /// The lines of `new` that are not carried over from `old`.
    pub(crate) fn between(old: &[u8], new: &[u8]) -> Result<AddedLines, git2::Error> {
        let mut opts = DiffOptions::new();
        // No context and no hunk merging: each hunk's new side is then exactly the added
        // lines. Forced text because the caller already decided the blob is text.
        opts.context_lines(0).interhunk_lines(0).force_text(true);
        let patch = Patch::from_buffers(old, None, new, None, Some(&mut opts))?;
        let mut ranges = Vec::with_capacity(patch.num_hunks());
        for index in 0..patch.num_hunks() {
            let (hunk, _) = patch.hunk(index)?;
            let count = hunk.new_lines() as usize;
            if count > 0 {
                let start = hunk.new_start() as usize;
                ranges.push(start..start + count);
            }
        }
        ranges.sort_by_key(|r| r.start);
        Ok(AddedLines(ranges))
    }

    /// Lines added relative to both sides (a merge adds only what no parent had).
    pub(crate) fn intersect(&self, other: &AddedLines) -> AddedLines {
        let mut out = Vec::new();
        for a in &self.0 {
            for b in &other.0 {
                let start = a.start.max(b.start);
                let end = a.end.min(b.end);
                if start < end {
                    out.push(start..end);
                }
            }
        }
        out.sort_by_key(|r| r.start);
        AddedLines(out)
    }

    /// Whether any line in `first..=last` was added.
    pub(crate) fn touches(&self, first: usize, last: usize) -> bool {
        let index = self.0.partition_point(|r| r.end <= first);
        self.0.get(index).is_some_and(|r| r.start <= last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_lines_are_the_new_side_of_each_hunk() {
        let old = b"a\nb\nc\nd\n";
        let new = b"a\nB\nc\nd\ne\nf\n";
        let added = AddedLines::between(old, new).expect("diff");
        assert_eq!(added.0, vec![2..3, 5..7]);
        assert!(added.touches(2, 2));
        assert!(!added.touches(3, 4));
        assert!(added.touches(4, 5));
        assert!(added.touches(6, 9));
        assert!(!added.touches(1, 1));
    }

    #[test]
    fn deletions_add_nothing_and_intersection_keeps_common_lines() {
        let added = AddedLines::between(b"a\nb\n", b"a\n").expect("diff");
        assert!(added.0.is_empty());
        let x = AddedLines(vec![1..5, 8..10]);
        let y = AddedLines(std::iter::once(3..9).collect());
        assert_eq!(x.intersect(&y).0, vec![3..5, 8..9]);
        assert!(AddedLines::all().touches(1_000_000, 1_000_001));
    }
}
