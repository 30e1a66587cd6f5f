//! Running a child process with an environment's variables, forwarding its exit status and,
//! on Unix, the signals sent to us.

use crate::load::Environment;
use std::ffi::OsString;
use std::process::Command;

/// How to build the child's environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChildOptions {
    /// Start from an empty environment instead of this process's.
    pub clean: bool,
}

/// Runs `program args…` with `env`'s variables and waits for it. Returns the exit code to
/// forward: the child's own, or 128 + the signal that killed it.
pub fn run_child(
    env: &Environment,
    program: &OsString,
    args: &[OsString],
    options: ChildOptions,
) -> std::io::Result<i32> {
    let mut command = Command::new(program);
    command.args(args);
    if options.clean {
        command.env_clear();
    }
    for v in &env.variables {
        command.env(&v.key, v.value.expose());
    }
    #[cfg(unix)]
    {
        unix::run(command)
    }
    #[cfg(not(unix))]
    {
        let status = command.status()?;
        Ok(status.code().unwrap_or(1))
    }
}

#[cfg(unix)]
mod unix {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Command;
    use std::sync::atomic::{AtomicI32, Ordering};

    /// The child to forward to; 0 while there is none yet.
    static CHILD: AtomicI32 = AtomicI32::new(0);
    /// A signal that arrived before the child existed.
    static PENDING: AtomicI32 = AtomicI32::new(0);

    const FORWARDED: &[libc::c_int] = &[
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGUSR1,
        libc::SIGUSR2,
    ];

    type Handler = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);

    extern "C" fn forward(
        signal: libc::c_int,
        info: *mut libc::siginfo_t,
        _context: *mut libc::c_void,
    ) {
        // A signal the kernel raised for the terminal (Ctrl-C, hang-up) already reached
        // the child, which shares our process group: forwarding it would deliver it twice.
        // Only signals another process sent with kill(2) or sigqueue(3) are forwarded.
        // SAFETY: the kernel hands a valid siginfo_t to an SA_SIGINFO handler.
        let code = if info.is_null() {
            libc::SI_USER
        } else {
            unsafe { (*info).si_code }
        };
        if code != libc::SI_USER && code != libc::SI_QUEUE {
            return;
        }
        let child = CHILD.load(Ordering::SeqCst);
        if child > 0 {
            // SAFETY: kill(2) is async-signal-safe.
            unsafe {
                libc::kill(child, signal);
            }
        } else {
            PENDING.store(signal, Ordering::SeqCst);
        }
    }

    fn install() -> Vec<(libc::c_int, libc::sigaction)> {
        let mut previous = Vec::new();
        for &signal in FORWARDED {
            // SAFETY: a zeroed sigaction is valid; the handler only touches atomics and
            // calls kill(2).
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                let handler: Handler = forward;
                action.sa_sigaction = handler as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, &action, &mut old) == 0 {
                    previous.push((signal, old));
                }
            }
        }
        previous
    }

    fn restore(previous: Vec<(libc::c_int, libc::sigaction)>) {
        for (signal, old) in previous {
            // SAFETY: restoring the action sigaction(2) gave us.
            unsafe {
                libc::sigaction(signal, &old, std::ptr::null_mut());
            }
        }
    }

    pub(super) fn run(mut command: Command) -> std::io::Result<i32> {
        PENDING.store(0, Ordering::SeqCst);
        let previous = install();
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                restore(previous);
                return Err(e);
            }
        };
        let pid = i32::try_from(child.id()).unwrap_or(0);
        CHILD.store(pid, Ordering::SeqCst);
        let pending = PENDING.swap(0, Ordering::SeqCst);
        if pending != 0 && pid > 0 {
            // SAFETY: sending a signal to our own child.
            unsafe {
                libc::kill(pid, pending);
            }
        }
        let status = child.wait();
        CHILD.store(0, Ordering::SeqCst);
        restore(previous);
        let status = status?;
        Ok(match (status.code(), status.signal()) {
            (Some(code), _) => code,
            (None, Some(signal)) => 128 + signal,
            (None, None) => 1,
        })
    }
}
