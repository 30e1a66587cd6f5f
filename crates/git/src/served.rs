//! Commits decoded in bulk from the packs, served to libgit2's own reads.
//!
//! The sorted revwalk of a history scan reads every commit through libgit2's object
//! database, one pack lookup and inflate each. Once the packs' commits are decoded
//! ([`PackedTrees`]), an object-database backend ahead of libgit2's pack reader answers
//! those reads from memory; anything it does not hold goes on to the other backends.
//! Serving ends with [`Serving::stop`], which releases the decoded objects while the
//! backend itself lives on in the odb, passing every read on.

use crate::error::GitError;
use crate::loose::{add_backend, empty_backend};
use crate::packs::{Family, PackedTrees, RawId};
use git2::Repository;
use libgit2_sys as raw;
use std::os::raw::{c_int, c_void};
use std::sync::{Arc, Mutex};

/// Ahead of libgit2's pack and loose readers (2 and 1), and of the loose-object check
/// (1000): a commit served from memory is never read from a loose file, so there is
/// nothing for the check to guard.
const PRIORITY: c_int = 2000;

type Shared = Arc<Mutex<Option<Arc<PackedTrees>>>>;

#[repr(C)]
struct Server {
    backend: raw::git_odb_backend,
    objects: Shared,
}

/// The handle that stops serving.
pub(crate) struct Serving(Shared);

impl Serving {
    /// Releases the decoded objects: later reads go to libgit2's own backends.
    pub(crate) fn stop(self) {
        if let Ok(mut objects) = self.0.lock() {
            *objects = None;
        }
    }
}

/// Makes reads of the commits in `objects` through `repo` come from memory.
pub(crate) fn serve_commits(
    repo: &Repository,
    objects: Arc<PackedTrees>,
) -> Result<Serving, GitError> {
    let shared: Shared = Arc::new(Mutex::new(Some(objects)));
    let mut backend = empty_backend()?;
    backend.read = Some(server_read);
    backend.free = Some(server_free);
    let server = Box::into_raw(Box::new(Server {
        backend,
        objects: Arc::clone(&shared),
    }));
    // SAFETY: `server` is a live, exclusively owned allocation whose first field is the
    // backend, released by `server_free`.
    unsafe {
        add_backend(
            repo,
            &mut (*server).backend,
            PRIORITY,
            "reading commits from memory",
        )?
    };
    Ok(Serving(shared))
}

/// `read`: the commit from memory, or a pass to the next backend.
extern "C" fn server_read(
    data: *mut *mut c_void,
    len: *mut usize,
    kind: *mut raw::git_object_t,
    backend: *mut raw::git_odb_backend,
    id: *const raw::git_oid,
) -> c_int {
    let passthrough = raw::GIT_PASSTHROUGH as c_int;
    let served = std::panic::catch_unwind(|| {
        // SAFETY: libgit2 passes the backend it was given (a `Server`), a valid id and
        // valid out-pointers.
        let (server, id) = unsafe { (&*(backend as *const Server), &*id) };
        let Ok(raw_id) = RawId::try_from(&id.id[..20]) else {
            return passthrough;
        };
        let Ok(objects) = server.objects.lock() else {
            return passthrough;
        };
        let Some(bytes) = objects
            .as_ref()
            .and_then(|objects| objects.get(&raw_id, Family::Commit))
        else {
            return passthrough;
        };
        // SAFETY: libgit2 takes ownership of a buffer from `git_odb_backend_data_alloc`
        // of the given length; `bytes` does not overlap it.
        unsafe {
            let buffer = raw::git_odb_backend_data_alloc(backend, bytes.len()) as *mut u8;
            if buffer.is_null() && !bytes.is_empty() {
                return passthrough;
            }
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), buffer, bytes.len());
            *data = buffer as *mut c_void;
            *len = bytes.len();
            *kind = raw::GIT_OBJECT_COMMIT;
        }
        0
    });
    served.unwrap_or(passthrough)
}

extern "C" fn server_free(backend: *mut raw::git_odb_backend) {
    // SAFETY: libgit2 calls this once, when the odb that owns the backend is freed; the
    // backend was allocated as a boxed `Server` in `serve_commits`.
    let _ = std::panic::catch_unwind(|| unsafe { drop(Box::from_raw(backend as *mut Server)) });
}
