//! Reading one blob for scanning: size and binary checks before the bytes are scanned.

use crate::error::GitError;
use git2::{Odb, OdbObject, Oid};
use sg_engine::{SkipKind, Skipped};

/// How many leading bytes decide whether a blob is binary (git's own heuristic).
const BINARY_SNIFF: usize = 8000;

/// A blob as the scanners see it.
pub(crate) enum BlobRead<'odb> {
    Text(OdbObject<'odb>),
    Binary,
    /// Over the size limit: its size, from the header.
    Large(u64),
}

/// Reads blob `id`; blobs over `max_size` are classified from the object header alone,
/// so a huge blob is never inflated.
pub(crate) fn read_blob<'odb>(
    odb: &'odb Odb<'_>,
    id: Oid,
    path: &str,
    max_size: u64,
) -> Result<BlobRead<'odb>, GitError> {
    let (size, _) = odb
        .read_header(id)
        .map_err(GitError::object(id, Some(path)))?;
    if size as u64 > max_size {
        return Ok(BlobRead::Large(size as u64));
    }
    let object = odb.read(id).map_err(GitError::object(id, Some(path)))?;
    if is_binary(object.data()) {
        return Ok(BlobRead::Binary);
    }
    Ok(BlobRead::Text(object))
}

/// A blob read for scanning, with UTF-16 text decoded.
pub(crate) enum TextRead<'odb> {
    /// Text as stored.
    Text(OdbObject<'odb>),
    /// UTF-16 text, decoded to UTF-8.
    Decoded(Vec<u8>),
    Binary(OdbObject<'odb>),
    Large(u64),
}

impl TextRead<'_> {
    /// The bytes to scan, for text.
    pub(crate) fn text(&self) -> Option<&[u8]> {
        match self {
            TextRead::Text(object) => Some(object.data()),
            TextRead::Decoded(bytes) => Some(bytes),
            TextRead::Binary(_) | TextRead::Large(_) => None,
        }
    }
}

/// Reads blob `id` as [`read_blob`] does, decoding UTF-16 text instead of calling it
/// binary; a large blob is classified from its header alone.
pub(crate) fn read_text<'odb>(
    odb: &'odb Odb<'_>,
    id: Oid,
    path: &str,
    max_size: u64,
) -> Result<TextRead<'odb>, GitError> {
    let (size, _) = odb
        .read_header(id)
        .map_err(GitError::object(id, Some(path)))?;
    if size as u64 > max_size {
        return Ok(TextRead::Large(size as u64));
    }
    let object = odb.read(id).map_err(GitError::object(id, Some(path)))?;
    let decoded = match sg_engine::text::classify(object.data()) {
        sg_engine::text::Content::Binary => None,
        sg_engine::text::Content::Text(std::borrow::Cow::Owned(bytes)) => Some(Some(bytes)),
        sg_engine::text::Content::Text(std::borrow::Cow::Borrowed(_)) => Some(None),
    };
    Ok(match decoded {
        None => TextRead::Binary(object),
        Some(Some(bytes)) => TextRead::Decoded(bytes),
        Some(None) => TextRead::Text(object),
    })
}

/// Reads a blob's bytes whatever its content (the old side of a diff).
pub(crate) fn read_bytes<'odb>(
    odb: &'odb Odb<'_>,
    id: Oid,
    path: &str,
) -> Result<OdbObject<'odb>, GitError> {
    odb.read(id).map_err(GitError::object(id, Some(path)))
}

/// Why a history or range scan did not read a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skip {
    /// NUL bytes in its first 8000 bytes.
    Binary,
    /// Over `--max-file-size`: its size.
    Large(u64),
}

/// The skipped entry for blob `blob` at `path` in `commit`, the same for history and
/// range scans: the path, the commit and the blob id, and why.
pub(crate) fn skipped_blob(
    path: &str,
    commit: Oid,
    blob: Oid,
    skip: Skip,
    max_size: u64,
) -> Skipped {
    let (kind, reason) = match skip {
        Skip::Binary => (SkipKind::Binary, "binary (NUL bytes): not read".to_owned()),
        Skip::Large(size) => (
            SkipKind::Large,
            format!("{size} bytes, over --max-file-size {max_size}: not read"),
        ),
    };
    Skipped::blob(path, commit.to_string(), blob.to_string(), kind, reason)
}

pub(crate) fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_SNIFF)].contains(&0)
}

/// A git path as findings show it. Paths that are not UTF-8 are shown lossily: the
/// finding still points at the right file, and nothing is skipped for its name.
pub(crate) fn display_path(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
