//! Package-manager lockfiles: their integrity hashes, resolved URLs and checksums are
//! high-entropy strings by design and never secrets, so matches inside those fields are
//! dropped. Anything else in a lockfile is still reported.

/// Lockfile names, matched against the file name exactly.
const LOCKFILES: &[&str] = &[
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
    "Cargo.lock",
    "go.sum",
    "poetry.lock",
    "Pipfile.lock",
    "composer.lock",
    "Gemfile.lock",
    "uv.lock",
];

/// Field names (and value prefixes) that mark a checksum or a resolved location. Compared
/// ASCII case-insensitively against the text of the line before the match.
const CHECKSUM_FIELDS: &[&[u8]] = &[
    b"integrity",
    b"resolved",
    b"checksum",
    b"shasum",
    b"hash",
    b"reference",
    b"tarball",
    b"source",
    b"h1:",
    b"sha1",
    b"sha256",
    b"sha512",
];

/// Whether `path` (`/`-separated) names a lockfile.
pub fn is_lockfile(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    LOCKFILES.contains(&name)
}

/// Whether a match starting at byte `start` of `line` sits in a checksum or resolved field,
/// i.e. one of the field names appears on the line before it.
pub fn in_checksum_field(line: &[u8], start: usize) -> bool {
    let before = &line[..start.min(line.len())];
    CHECKSUM_FIELDS.iter().any(|field| {
        before
            .windows(field.len())
            .any(|w| w.eq_ignore_ascii_case(field))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockfile_names() {
        assert!(is_lockfile("web/package-lock.json"));
        assert!(is_lockfile("Cargo.lock"));
        assert!(!is_lockfile("src/lock.rs"));
        assert!(!is_lockfile("package.json"));
    }

    #[test]
    fn checksum_fields_are_recognised_per_format() {
        let npm = br#"      "integrity": "sha512-Zq8Lr2Vx9Kp4Wm7NZq8Lr2Vx9Kp4Wm7N=="#;
        assert!(in_checksum_field(npm, 20));
        let cargo = br#"checksum = "3f2a9e0c1b""#;
        assert!(in_checksum_field(cargo, 12));
        let gosum = b"github.com/a/b v1.0.0 h1:Zq8Lr2Vx9Kp4Wm7N=";
        assert!(in_checksum_field(gosum, 25));
        let other = br#"    "token": "ghp_Zq8Lr2Vx9Kp4Wm7N""#;
        assert!(!in_checksum_field(other, 14));
    }
}
