//! Where a working-tree scan finds its `.secrets-guard.toml`: from the scanned path up to
//! the repository root, or up to the current directory outside a repository, so that
//! `scan src` or `scan src/app.py` runs with the same rules and allowlists as `scan .`.

use std::path::{Path, PathBuf};

/// The config file name looked for.
pub const CONFIG_NAME: &str = ".secrets-guard.toml";

/// The nearest `.secrets-guard.toml` from `start` (a directory, or the file scanned) upwards,
/// stopping at the top of the git working tree holding `start` (a directory with a `.git`
/// entry); outside a repository, stopping at `cwd` when `start` is below it, else at
/// `start` itself.
pub fn find_config(start: &Path, cwd: &Path) -> Option<PathBuf> {
    let absolute = if start.is_absolute() {
        start.to_path_buf()
    } else {
        cwd.join(start)
    };
    let dir = if absolute.is_dir() {
        absolute
    } else {
        absolute.parent()?.to_path_buf()
    };
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    let cwd = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    let in_repo = dir.ancestors().any(|d| d.join(".git").exists());
    for d in dir.ancestors() {
        let candidate = d.join(CONFIG_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        let at_top = if in_repo {
            d.join(".git").exists()
        } else {
            d == cwd || !d.starts_with(&cwd)
        };
        if at_top {
            break;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_upwards_to_the_repository_root_and_no_further() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outer = dir.path();
        std::fs::write(outer.join(CONFIG_NAME), "").expect("write");
        let repo = outer.join("repo");
        std::fs::create_dir_all(repo.join(".git")).expect("mkdir");
        std::fs::create_dir_all(repo.join("src/deep")).expect("mkdir");
        std::fs::write(repo.join("src/deep/a.py"), "").expect("write");
        // The repository has no config: the one above it does not apply.
        assert_eq!(find_config(&repo.join("src/deep/a.py"), outer), None);
        std::fs::write(repo.join(CONFIG_NAME), "").expect("write");
        let found = find_config(Path::new("src/deep/a.py"), &repo).expect("found");
        assert_eq!(
            found,
            std::fs::canonicalize(repo.join(CONFIG_NAME)).expect("canon")
        );
        // Outside a repository: up to the current directory.
        let plain = outer.join("plain/sub");
        std::fs::create_dir_all(&plain).expect("mkdir");
        let found = find_config(Path::new("plain/sub"), outer).expect("found");
        assert!(found.ends_with(CONFIG_NAME));
        assert_eq!(find_config(&plain, &plain), None);
    }
}
