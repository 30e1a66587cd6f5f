//! Finding out which process holds a busy SQLite database, for the "database is busy"
//! message. Linux only (`/proc/locks`); elsewhere the message just says it is busy.

use std::path::Path;

/// "pid 1234 (secrets-guard)" for the first process holding a POSIX lock on the database
/// or its WAL index, if it can be found.
pub(crate) fn describe(db: &Path) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let mut shm = db.as_os_str().to_os_string();
        shm.push("-shm");
        let inodes: Vec<u64> = [db.as_os_str(), shm.as_os_str()]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.ino())
            .collect();
        let locks = std::fs::read_to_string("/proc/locks").ok()?;
        let me = std::process::id();
        for line in locks.lines() {
            // "1: POSIX  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(pid), Some(place)) = (fields.get(4), fields.get(5)) else {
                continue;
            };
            let Some(inode) = place.rsplit(':').next().and_then(|i| i.parse::<u64>().ok()) else {
                continue;
            };
            let Ok(pid) = pid.parse::<u32>() else {
                continue;
            };
            if pid != me && inodes.contains(&inode) {
                let name = std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .map(|c| c.trim().to_owned())
                    .unwrap_or_else(|_| "unknown".to_owned());
                return Some(format!("pid {pid} ({name})"));
            }
        }
        None
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = db;
        None
    }
}
