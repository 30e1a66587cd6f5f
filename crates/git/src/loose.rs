//! A check of the loose objects' zlib streams before libgit2 reads any of them.
//!
//! libgit2 up to and including 1.9.7 (libgit2-sys 0.18.8, the newest on crates.io) loops
//! forever reading a loose object whose zlib stream is truncated (libgit2 issue #7342,
//! fixed upstream by PR #7346 but in no release that a libgit2-sys on crates.io bundles):
//! `read_loose_standard` → `git_zstream_get_output` keeps asking zlib for output that never
//! comes. A hook that hangs is worse than one that fails, so every loose object is inflated
//! here first, with flate2, and a damaged one stops the scan (exit 2) with its name before
//! libgit2 can touch it. Packed objects take another path in libgit2 and are not affected.

use crate::error::GitError;
use flate2::{Decompress, FlushDecompress, Status};
use git2::Repository;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Inflates every loose object of `repo` (and of its alternates) to its end, and fails
/// naming each one whose stream is damaged, truncated or unreadable.
pub(crate) fn check(repo: &Repository) -> Result<(), GitError> {
    let mut dirs = vec![objects_dir(repo)];
    dirs.extend(alternates(&dirs[0]));
    let mut files = Vec::new();
    for dir in &dirs {
        list_loose(dir, &mut files)?;
    }
    let mut damaged: Vec<String> = files
        .par_iter()
        .filter_map(|path| {
            check_file(path)
                .err()
                .map(|reason| format!("{} ({}): {reason}", object_id(path), path.display()))
        })
        .collect();
    if damaged.is_empty() {
        return Ok(());
    }
    damaged.sort();
    Err(GitError::DamagedObjects { objects: damaged })
}

/// `GIT_OBJECT_DIRECTORY` if set, else the common git directory's `objects`.
fn objects_dir(repo: &Repository) -> PathBuf {
    match std::env::var_os("GIT_OBJECT_DIRECTORY") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => repo.commondir().join("objects"),
    }
}

/// The object directories `objects/info/alternates` lists (one level: alternates of
/// alternates are rare and libgit2 reads them the same way).
fn alternates(objects: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(objects.join("info").join("alternates")) else {
        return Vec::new();
    };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let p = PathBuf::from(l);
            if p.is_absolute() {
                p
            } else {
                objects.join(p)
            }
        })
        .collect()
}

/// The loose object files: `objects/xx/<rest of the hex id>`.
fn list_loose(objects: &Path, out: &mut Vec<PathBuf>) -> Result<(), GitError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |reason| GitError::Io { path, reason }
    };
    let entries = match std::fs::read_dir(objects) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(objects)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io(objects))?;
        let name = entry.file_name();
        let is_fanout = name.len() == 2 && name.to_str().is_some_and(is_hex);
        if !is_fanout {
            continue;
        }
        let dir = entry.path();
        for file in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let file = file.map_err(io(&dir))?;
            let name = file.file_name();
            if name.to_str().is_some_and(|n| n.len() >= 38 && is_hex(n)) {
                out.push(file.path());
            }
        }
    }
    Ok(())
}

/// The object id a loose object file holds: its directory's name and its own.
fn object_id(path: &Path) -> String {
    let name = |p: Option<&Path>| {
        p.and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    format!("{}{}", name(path.parent()), name(Some(path)))
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Inflates one loose object to the end of its zlib stream, discarding the output.
fn check_file(path: &Path) -> Result<(), String> {
    let data = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut zlib = Decompress::new(true);
    let mut sink = vec![0u8; 64 * 1024];
    loop {
        let consumed = zlib.total_in() as usize;
        let produced = zlib.total_out();
        let status = zlib
            .decompress(&data[consumed..], &mut sink, FlushDecompress::None)
            .map_err(|e| format!("damaged zlib stream: {e}"))?;
        if status == Status::StreamEnd {
            return Ok(());
        }
        let stalled = zlib.total_in() as usize == consumed && zlib.total_out() == produced;
        if stalled || zlib.total_in() as usize >= data.len() && zlib.total_out() == produced {
            return Err(format!(
                "truncated zlib stream ({} bytes, the stream does not end)",
                data.len()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::ZlibEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn deflate(bytes: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(bytes).expect("deflate");
        e.finish().expect("deflate")
    }

    #[test]
    fn whole_streams_pass_and_truncated_or_garbled_ones_fail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let body: Vec<u8> = b"blob 200000\0"
            .iter()
            .copied()
            .chain((0..200_000u32).map(|i| (i * 7919 % 251) as u8))
            .collect();
        let whole = deflate(&body);
        let path = dir.path().join("obj");
        std::fs::write(&path, &whole).expect("write");
        assert_eq!(check_file(&path), Ok(()));
        std::fs::write(&path, &whole[..whole.len() - 8]).expect("write");
        let err = check_file(&path).expect_err("truncated");
        assert!(err.contains("truncated"), "{err}");
        let mut garbled = whole.clone();
        garbled[0] = 0;
        std::fs::write(&path, &garbled).expect("write");
        assert!(check_file(&path).is_err());
        std::fs::write(&path, b"").expect("write");
        assert!(check_file(&path).is_err());
    }
}
