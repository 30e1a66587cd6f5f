//! Archives opened and their members scanned: zip (and jar, whl), tar, tar.gz / tgz and gz,
//! read with the `zip`, `tar` and `flate2` crates. Members are named `archive.zip!inner/path`
//! (nested: `a.zip!b.tar!c.env`). Limits on depth, member count and expanded size keep a
//! zip bomb from exhausting memory or time; each limit hit is named as a skipped input.

use crate::finding::Finding;
use crate::scanner::{ScanInput, Scanner};
use crate::text::{classify, Content};
use crate::unread::{SkipKind, Skipped, Unreadable};
use std::io::Read;

/// How deep archives inside archives are opened.
pub const MAX_DEPTH: usize = 3;
/// Members read per archive (nested archives count their own).
pub const MAX_MEMBERS: usize = 10_000;
/// Bytes expanded in all, per archive file on disk, across its nested archives.
pub const MAX_EXPANDED: u64 = 256 * 1024 * 1024;

/// What opening one archive found.
#[derive(Debug, Default)]
pub struct ArchiveOutcome {
    pub findings: Vec<Finding>,
    pub skipped: Vec<Skipped>,
    pub errors: Vec<Unreadable>,
    /// Text members scanned and their bytes.
    pub files: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Zip,
    Tar,
    TarGz,
    Gz,
}

/// The archive kind of a file, from its name and first bytes; `None` if it is not one.
fn kind(name: &str, bytes: &[u8]) -> Option<Kind> {
    let lower = name.to_ascii_lowercase();
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return Some(Kind::Zip);
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Some(if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
            Kind::TarGz
        } else {
            Kind::Gz
        });
    }
    if bytes.get(257..262) == Some(b"ustar") {
        return Some(Kind::Tar);
    }
    None
}

/// Whether `bytes` (named `name`) is an archive this module opens.
pub fn is_archive(name: &str, bytes: &[u8]) -> bool {
    kind(name, bytes).is_some()
}

struct Budget {
    expanded: u64,
    max_file_size: u64,
}

/// Opens the archive `bytes`, shown as `shown`, and scans its members. `max_file_size`
/// bounds each member as it bounds a file.
pub fn scan_archive(
    scanner: &Scanner,
    shown: &str,
    bytes: &[u8],
    max_file_size: u64,
) -> ArchiveOutcome {
    let mut out = ArchiveOutcome::default();
    let mut budget = Budget {
        expanded: 0,
        max_file_size,
    };
    open(scanner, shown, bytes, 1, &mut budget, &mut out);
    out
}

fn open(
    scanner: &Scanner,
    shown: &str,
    bytes: &[u8],
    depth: usize,
    budget: &mut Budget,
    out: &mut ArchiveOutcome,
) {
    let Some(kind) = kind(shown, bytes) else {
        return;
    };
    let result = match kind {
        Kind::Zip => zip_members(scanner, shown, bytes, depth, budget, out),
        Kind::Tar => tar_members(scanner, shown, bytes, depth, budget, out),
        Kind::TarGz => {
            let gz = flate2::read::GzDecoder::new(bytes);
            tar_stream(scanner, shown, gz, depth, budget, out)
        }
        Kind::Gz => {
            let name = shown.rsplit(['/', '!']).next().unwrap_or(shown);
            let inner = name
                .strip_suffix(".gz")
                .or_else(|| name.strip_suffix(".GZ"))
                .unwrap_or(name);
            let mut gz = flate2::read::GzDecoder::new(bytes);
            let member = format!("{shown}!{inner}");
            match read_member(&mut gz, &member, budget, out) {
                Ok(Some(data)) => member_found(scanner, &member, &data, depth, budget, out),
                Ok(None) => {}
                Err(e) => out.errors.push(Unreadable::new(member, e)),
            }
            Ok(())
        }
    };
    if let Err(reason) = result {
        out.errors.push(Unreadable::new(
            shown.to_owned(),
            format!("cannot read the archive: {reason}"),
        ));
    }
}

/// Reads one member within the budget; `None` when a limit stopped it (named in skipped).
fn read_member(
    reader: &mut dyn Read,
    member: &str,
    budget: &mut Budget,
    out: &mut ArchiveOutcome,
) -> Result<Option<Vec<u8>>, String> {
    let left = MAX_EXPANDED.saturating_sub(budget.expanded);
    let cap = left.min(budget.max_file_size);
    let mut data = Vec::new();
    reader
        .take(cap.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|e| format!("cannot read the member: {e}"))?;
    budget.expanded += data.len() as u64;
    if data.len() as u64 > cap {
        let (kind, reason) = if cap == budget.max_file_size {
            (
                SkipKind::Large,
                format!("over --max-file-size {}: not read", budget.max_file_size),
            )
        } else {
            (
                SkipKind::Limit,
                format!("archive expanded-size limit ({MAX_EXPANDED} bytes) reached: not read"),
            )
        };
        out.skipped.push(Skipped::new(member, kind, reason));
        return Ok(None);
    }
    Ok(Some(data))
}

fn member_found(
    scanner: &Scanner,
    member: &str,
    data: &[u8],
    depth: usize,
    budget: &mut Budget,
    out: &mut ArchiveOutcome,
) {
    if scanner.rules().is_path_allowed(member) {
        return;
    }
    if is_archive(member, data) {
        if depth >= MAX_DEPTH {
            out.skipped.push(Skipped::new(
                member,
                SkipKind::Limit,
                format!("archive nested deeper than {MAX_DEPTH}: not opened"),
            ));
        } else {
            open(scanner, member, data, depth + 1, budget, out);
        }
        return;
    }
    match classify(data) {
        Content::Text(text) => {
            out.files += 1;
            out.bytes += text.len() as u64;
            out.findings.extend(scanner.scan(ScanInput {
                path: member,
                bytes: &text,
                commit: None,
            }));
        }
        // Binary members (class files, images) are many and carry no text to scan; the
        // rules that match on names still see them.
        Content::Binary => out.findings.extend(scanner.path_findings(member)),
    }
}

fn too_many(shown: &str, out: &mut ArchiveOutcome) {
    out.skipped.push(Skipped::new(
        shown,
        SkipKind::Limit,
        format!("archive member-count limit ({MAX_MEMBERS}) reached: the rest not read"),
    ));
}

fn zip_members(
    scanner: &Scanner,
    shown: &str,
    bytes: &[u8],
    depth: usize,
    budget: &mut Budget,
    out: &mut ArchiveOutcome,
) -> Result<(), String> {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| e.to_string())?;
    for i in 0..archive.len() {
        if i >= MAX_MEMBERS {
            too_many(shown, out);
            break;
        }
        let mut file = archive.by_index(i).map_err(|e| e.to_string())?;
        if file.is_dir() {
            continue;
        }
        let member = format!("{shown}!{}", file.name());
        match read_member(&mut file, &member, budget, out) {
            Ok(Some(data)) => {
                drop(file);
                member_found(scanner, &member, &data, depth, budget, out);
            }
            Ok(None) => {}
            Err(e) => out.errors.push(Unreadable::new(member, e)),
        }
    }
    Ok(())
}

fn tar_members(
    scanner: &Scanner,
    shown: &str,
    bytes: &[u8],
    depth: usize,
    budget: &mut Budget,
    out: &mut ArchiveOutcome,
) -> Result<(), String> {
    tar_stream(scanner, shown, bytes, depth, budget, out)
}

fn tar_stream<R: Read>(
    scanner: &Scanner,
    shown: &str,
    reader: R,
    depth: usize,
    budget: &mut Budget,
    out: &mut ArchiveOutcome,
) -> Result<(), String> {
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|e| e.to_string())?;
    for (i, entry) in entries.enumerate() {
        if i >= MAX_MEMBERS {
            too_many(shown, out);
            break;
        }
        let mut entry = entry.map_err(|e| e.to_string())?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let member = format!("{shown}!{name}");
        match read_member(&mut entry, &member, budget, out) {
            Ok(Some(data)) => member_found(scanner, &member, &data, depth, budget, out),
            Ok(None) => {}
            Err(e) => out.errors.push(Unreadable::new(member, e)),
        }
    }
    Ok(())
}
