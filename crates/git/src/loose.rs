//! A check of each loose object's zlib stream just before libgit2 reads it.
//!
//! libgit2 up to and including 1.9.7 (libgit2-sys 0.18.8, the newest on crates.io) loops
//! forever reading a loose object whose zlib stream is truncated (libgit2 issue #7342,
//! fixed upstream by PR #7346 but in no release that a libgit2-sys on crates.io bundles):
//! `read_loose_standard` → `git_zstream_get_output` keeps asking zlib for output that never
//! comes. A hook that hangs is worse than one that fails.
//!
//! So every repository a scan opens gets one more object-database backend, ahead of all
//! of libgit2's own: on each full read of an object it inflates the loose file of that
//! object, if there is one, with flate2, and fails the read naming the object when the
//! stream is damaged; otherwise it passes the read on to libgit2's backends. Every read
//! goes through it — `find_commit`, `find_tree`, `Odb::read`, and the reads libgit2 makes
//! on its own inside revwalks, revision parsing and diffs — and only those objects are
//! checked, so a scan costs what it reads, not what the repository holds (the pre-commit
//! hook stays instant in a repository with tens of thousands of loose objects).
//!
//! Header reads (`Odb::read_header`, which classifies huge blobs without inflating them)
//! are not checked: libgit2 inflates one chunk for a header and cannot loop there. Packed
//! objects take another path in libgit2 and are not affected. libgit2's loose *stream*
//! reader has the same loop, but nothing here (nor anything libgit2 does for a scan)
//! opens a read stream.

use crate::error::GitError;
use flate2::{Decompress, FlushDecompress, Status};
use git2::{Oid, Repository};
use libgit2_sys as raw;
use std::ffi::CString;
use std::os::raw::{c_int, c_void};
use std::path::{Path, PathBuf};

extern "C" {
    // In libgit2 (refs.h), linked through libgit2-sys, which does not declare it.
    fn git_reference_owner(reference: *const raw::git_reference) -> *mut raw::git_repository;
}

/// Ahead of libgit2's own backends (loose 1, packed 2, alternates the same).
const PRIORITY: c_int = 1000;

/// How deep `objects/info/alternates` chains are followed, as libgit2 does.
const ALTERNATES_DEPTH: usize = 5;

/// The checking backend. `backend` comes first, so libgit2's `git_odb_backend *` is a
/// pointer to the whole struct.
#[repr(C)]
struct Checker {
    backend: raw::git_odb_backend,
    /// The object directories whose loose files are checked: the repository's own, then
    /// its alternates.
    dirs: Vec<PathBuf>,
}

/// Makes every later full read of a loose object through `repo` check that object's
/// zlib stream first (see the module documentation).
pub(crate) fn guard(repo: &Repository) -> Result<(), GitError> {
    let mut dirs = Vec::new();
    for objects in object_dirs(repo) {
        if !dirs.contains(&objects) {
            dirs.push(objects.clone());
            alternates(&objects, 1, &mut dirs);
        }
    }
    let mut backend = empty_backend()?;
    backend.read = Some(checker_read);
    backend.read_prefix = Some(checker_read_prefix);
    backend.free = Some(checker_free);
    let checker = Box::into_raw(Box::new(Checker { backend, dirs }));
    // SAFETY: `checker` is a live, exclusively owned allocation whose first field is the
    // backend; `add_backend` frees it through `checker_free` (or itself, on failure).
    unsafe {
        add_backend(
            repo,
            &mut (*checker).backend,
            PRIORITY,
            "the loose-object check",
        )
    }
}

/// A backend with no callbacks, of the version this libgit2 expects.
pub(crate) fn empty_backend() -> Result<raw::git_odb_backend, GitError> {
    // SAFETY: all-zero is a valid `git_odb_backend` (null pointers, `None` callbacks),
    // which `git_odb_init_backend` then stamps with the version; it keeps no pointer.
    let mut backend: raw::git_odb_backend = unsafe { std::mem::zeroed() };
    if unsafe { raw::git_odb_init_backend(&mut backend, raw::GIT_ODB_BACKEND_VERSION) } < 0 {
        return Err(GitError::Git {
            context: "cannot set up an object-database backend: backend version".into(),
            reason: crate::error::GitMessage {
                message: git2::Error::last_error(-1).message().to_owned(),
                code: git2::ErrorCode::GenericError,
            },
        });
    }
    Ok(backend)
}

/// Adds `backend` to the object database of `repo` at `priority` (libgit2 asks backends
/// in decreasing priority). `what` names it in errors.
///
/// # Safety
/// `backend` must point to a live, exclusively owned allocation whose `free` callback
/// releases it and that nothing else frees: the odb owns it once this succeeds, and on
/// failure it is released here through that callback.
pub(crate) unsafe fn add_backend(
    repo: &Repository,
    backend: *mut raw::git_odb_backend,
    priority: c_int,
    what: &str,
) -> Result<(), GitError> {
    let failed = |why: &str| GitError::Git {
        context: format!("cannot set up {what}: {why}"),
        reason: crate::error::GitMessage {
            message: git2::Error::last_error(-1).message().to_owned(),
            code: git2::ErrorCode::GenericError,
        },
    };
    let release = || {
        // SAFETY: per the contract, `free` releases the still-unowned allocation.
        if let Some(free) = unsafe { (*backend).free } {
            free(backend);
        }
    };
    // Any reference leads to the raw repository; HEAD exists in every repository, before
    // the first commit too, and is read without reading an object.
    let head = match repo.find_reference("HEAD") {
        Ok(head) => head,
        Err(_) => {
            release();
            return Err(failed("cannot read HEAD"));
        }
    };
    // SAFETY: `head.raw()` is a live reference of `repo`, so its owner is `repo`'s raw
    // repository. The odb pointer from `git_repository_odb` is a counted reference,
    // released with `git_odb_free`.
    unsafe {
        let repo_raw = git_reference_owner(head.raw());
        let mut odb: *mut raw::git_odb = std::ptr::null_mut();
        if repo_raw.is_null() || raw::git_repository_odb(&mut odb, repo_raw) < 0 {
            release();
            return Err(failed("no object database"));
        }
        let added = raw::git_odb_add_backend(odb, backend, priority);
        raw::git_odb_free(odb);
        if added < 0 {
            release();
            return Err(failed("cannot add the backend"));
        }
    }
    Ok(())
}

/// `read`: checks the object's loose file, then lets libgit2's backends read it.
extern "C" fn checker_read(
    _data: *mut *mut c_void,
    _len: *mut usize,
    _kind: *mut raw::git_object_t,
    backend: *mut raw::git_odb_backend,
    id: *const raw::git_oid,
) -> c_int {
    guarded(|| {
        // SAFETY: libgit2 passes the backend it was given (a `Checker`) and a valid id.
        let (checker, id) = unsafe { (&*(backend as *const Checker), &*id) };
        let hex = Oid::from_bytes(&id.id[..20]).map_err(|e| e.message().to_owned())?;
        checker.check(&hex.to_string(), true)
    })
}

/// `read_prefix` (an abbreviated id): checks every loose file the prefix matches.
extern "C" fn checker_read_prefix(
    _out: *mut raw::git_oid,
    _data: *mut *mut c_void,
    _len: *mut usize,
    _kind: *mut raw::git_object_t,
    backend: *mut raw::git_odb_backend,
    short: *const raw::git_oid,
    hex_len: usize,
) -> c_int {
    guarded(|| {
        // SAFETY: as in `checker_read`.
        let (checker, short) = unsafe { (&*(backend as *const Checker), &*short) };
        let full = Oid::from_bytes(&short.id[..20]).map_err(|e| e.message().to_owned())?;
        let hex = full.to_string();
        let prefix = hex.get(..hex_len.min(hex.len())).unwrap_or(&hex);
        checker.check(prefix, false)
    })
}

extern "C" fn checker_free(backend: *mut raw::git_odb_backend) {
    // SAFETY: libgit2 calls this once, when the odb that owns the backend is freed; the
    // backend was allocated as a boxed `Checker` in `guard`.
    let _ = std::panic::catch_unwind(|| unsafe { drop(Box::from_raw(backend as *mut Checker)) });
}

/// Runs a check and turns its outcome into what libgit2 expects: pass the read on
/// (`GIT_PASSTHROUGH`) when the loose copy is sound or absent, else fail it with the
/// reason as libgit2's error message.
fn guarded(check: impl FnOnce() -> Result<(), String> + std::panic::UnwindSafe) -> c_int {
    let message = match std::panic::catch_unwind(check) {
        Ok(Ok(())) => return raw::GIT_PASSTHROUGH as c_int,
        Ok(Err(message)) => message,
        Err(_) => "the loose-object check failed unexpectedly".to_owned(),
    };
    let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
    // SAFETY: `text` is a valid C string for the duration of the call; libgit2 copies it.
    unsafe { raw::git_error_set_str(raw::GIT_ERROR_ODB as c_int, text.as_ptr()) };
    -1
}

impl Checker {
    /// Inflates the loose file of the object `hex` (`whole`), or every loose file whose id
    /// starts with the prefix `hex`, in each object directory.
    fn check(&self, hex: &str, whole: bool) -> Result<(), String> {
        for dir in &self.dirs {
            let mut files = Vec::new();
            match (whole, hex.get(..2), hex.get(2..)) {
                (true, Some(fanout), Some(rest)) => files.push(dir.join(fanout).join(rest)),
                _ => loose_files(dir, hex, &mut files),
            }
            for path in files {
                match check_file(&path) {
                    Ok(()) => {}
                    Err(Damage::Absent) => {}
                    Err(Damage::Damaged(reason)) => {
                        return Err(format!(
                            "damaged loose git object {} ({}): {reason}; not read, since \
                             libgit2 would hang on it: restore it from another clone or a \
                             backup (`git fsck --full` lists what refers to it)",
                            object_id(&path),
                            path.display()
                        ))
                    }
                }
            }
        }
        Ok(())
    }
}

/// The loose files under `objects` whose hex id starts with `prefix`.
fn loose_files(objects: &Path, prefix: &str, out: &mut Vec<PathBuf>) {
    let Ok(fanouts) = std::fs::read_dir(objects) else {
        return;
    };
    for fanout in fanouts.flatten() {
        let name = fanout.file_name();
        let Some(name) = name.to_str().filter(|n| n.len() == 2 && is_hex(n)) else {
            continue;
        };
        let wanted = prefix.get(..prefix.len().min(2)).unwrap_or_default();
        if !name.starts_with(wanted) {
            continue;
        }
        let rest = prefix.get(2..).unwrap_or_default();
        let Ok(files) = std::fs::read_dir(fanout.path()) else {
            continue;
        };
        for file in files.flatten() {
            let file_name = file.file_name();
            if file_name
                .to_str()
                .is_some_and(|n| n.len() >= 38 && is_hex(n) && n.starts_with(rest))
            {
                out.push(file.path());
            }
        }
    }
}

/// The common git directory's `objects`, which libgit2 reads, and `GIT_OBJECT_DIRECTORY`
/// when git sets it (a quarantine during `receive-pack`), in case libgit2 is ever pointed
/// there too: checking a directory more costs a failed open per read.
fn object_dirs(repo: &Repository) -> Vec<PathBuf> {
    let mut dirs = vec![repo.commondir().join("objects")];
    if let Some(dir) = std::env::var_os("GIT_OBJECT_DIRECTORY").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(dir));
    }
    dirs
}

/// The object directories `objects/info/alternates` lists, and theirs, as deep as libgit2
/// follows them; relative entries are relative to the directory that lists them.
fn alternates(objects: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > ALTERNATES_DEPTH {
        return;
    }
    let Ok(text) = std::fs::read_to_string(objects.join("info").join("alternates")) else {
        return;
    };
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let p = PathBuf::from(line);
        let dir = if p.is_absolute() { p } else { objects.join(p) };
        if !out.contains(&dir) {
            out.push(dir.clone());
            alternates(&dir, depth + 1, out);
        }
    }
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

/// Why a loose file did not pass.
#[derive(Debug, PartialEq, Eq)]
enum Damage {
    /// There is no such loose file (the object is packed, elsewhere, or missing).
    Absent,
    Damaged(String),
}

/// Inflates one loose object to the end of its zlib stream, discarding the output.
fn check_file(path: &Path) -> Result<(), Damage> {
    let data = match std::fs::read(path) {
        Ok(data) => data,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Damage::Absent),
        Err(e) => return Err(Damage::Damaged(format!("cannot read: {e}"))),
    };
    let mut zlib = Decompress::new(true);
    let mut sink = vec![0u8; 64 * 1024];
    loop {
        let consumed = zlib.total_in() as usize;
        let produced = zlib.total_out();
        let status = zlib
            .decompress(
                data.get(consumed..).unwrap_or_default(),
                &mut sink,
                FlushDecompress::None,
            )
            .map_err(|e| Damage::Damaged(format!("damaged zlib stream: {e}")))?;
        if status == Status::StreamEnd {
            return Ok(());
        }
        let stalled = zlib.total_in() as usize == consumed && zlib.total_out() == produced;
        if stalled || zlib.total_in() as usize >= data.len() && zlib.total_out() == produced {
            return Err(Damage::Damaged(format!(
                "truncated zlib stream ({} bytes, the stream does not end)",
                data.len()
            )));
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
        assert!(
            matches!(&err, Damage::Damaged(r) if r.contains("truncated")),
            "{err:?}"
        );
        let mut garbled = whole.clone();
        garbled[0] = 0;
        std::fs::write(&path, &garbled).expect("write");
        assert!(check_file(&path).is_err());
        std::fs::write(&path, b"").expect("write");
        assert!(matches!(check_file(&path), Err(Damage::Damaged(_))));
        assert_eq!(check_file(&dir.path().join("none")), Err(Damage::Absent));
    }

    /// A repository with one blob written loose, and that blob's id and file.
    fn repo_with_loose_blob(body: &[u8]) -> (tempfile::TempDir, Oid, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repository::init(dir.path()).expect("init");
        let id = repo.blob(body).expect("blob");
        let hex = id.to_string();
        let file = dir
            .path()
            .join(".git/objects")
            .join(&hex[..2])
            .join(&hex[2..]);
        (dir, id, file)
    }

    fn truncate(file: &Path) {
        let bytes = std::fs::read(file).expect("read");
        let mut perms = std::fs::metadata(file).expect("stat").permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        std::fs::set_permissions(file, perms).expect("chmod");
        std::fs::write(file, &bytes[..bytes.len() - 8]).expect("truncate");
    }

    #[test]
    fn a_guarded_repository_fails_the_read_of_a_truncated_loose_object_naming_it() {
        let body: Vec<u8> = (0..50_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let (dir, id, file) = repo_with_loose_blob(&body);
        let sound = {
            let repo = Repository::open(dir.path()).expect("open");
            repo.blob(b"another blob\n").expect("blob")
        };
        truncate(&file);
        let repo = Repository::open(dir.path()).expect("open");
        guard(&repo).expect("guard");
        let odb = repo.odb().expect("odb");
        // Header reads stay unchecked (libgit2 cannot loop there) and still work.
        let (size, _) = odb.read_header(id).expect("header");
        assert_eq!(size, body.len());
        let err = odb.read(id).map(|_| ()).expect_err("damaged");
        assert!(err.message().contains("damaged loose git object"), "{err}");
        assert!(err.message().contains(&id.to_string()), "{err}");
        assert!(err.message().contains("truncated zlib stream"), "{err}");
        let err = repo.find_blob(id).map(|_| ()).expect_err("damaged");
        assert!(err.message().contains("truncated zlib stream"), "{err}");
        // An abbreviated id is checked too.
        let short = &id.to_string()[..10];
        let err = repo
            .revparse_single(short)
            .map(|_| ())
            .expect_err("damaged");
        assert!(err.message().contains("truncated zlib stream"), "{err}");
        // Other objects, and missing ones, read as before.
        assert_eq!(odb.read(sound).expect("sound").data(), b"another blob\n");
        let missing = Oid::from_str("1111111111111111111111111111111111111111").expect("id");
        let err = odb.read(missing).map(|_| ()).expect_err("missing");
        assert_eq!(err.code(), git2::ErrorCode::NotFound);
    }

    #[test]
    fn alternates_are_checked_too() {
        let body = b"shared through an alternate\n".repeat(2000);
        let (shared, id, file) = repo_with_loose_blob(&body);
        truncate(&file);
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repository::init(dir.path()).expect("init");
        let info = dir.path().join(".git/objects/info");
        std::fs::create_dir_all(&info).expect("mkdir");
        std::fs::write(
            info.join("alternates"),
            format!("{}\n", shared.path().join(".git/objects").display()),
        )
        .expect("alternates");
        let repo = {
            drop(repo);
            Repository::open(dir.path()).expect("open")
        };
        guard(&repo).expect("guard");
        let err = repo.find_blob(id).map(|_| ()).expect_err("damaged");
        assert!(err.message().contains("truncated zlib stream"), "{err}");
    }
}
