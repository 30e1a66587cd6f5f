//! Generated files that are not worth scanning: source maps and minified bundles. Their
//! long runs of base64 and identifiers look like secrets to generic rules, and whatever
//! secret they hold also lives in the source they were built from.

/// How much of a file the minified-bundle heuristic looks at.
const SAMPLE: usize = 64 * 1024;
/// Hand-written code averages well under 100 bytes a line; minifiers emit lines of many KiB.
const MINIFIED_AVERAGE_LINE: usize = 500;

/// Whether the file name alone says the file is generated (`*.map`, `*.min.js`, `*.min.css`):
/// checked before the file is read.
pub fn is_generated_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".map")
        || [
            ".min.js", ".min.mjs", ".min.cjs", ".min.css", "-min.js", "-min.css",
        ]
        .iter()
        .any(|suffix| lower.ends_with(suffix))
}

/// Whether a JavaScript or CSS file's content looks minified: the start of the file has
/// very long lines on average.
pub fn looks_minified(path: &str, bytes: &[u8]) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let is_bundle_type = [".js", ".mjs", ".cjs", ".css"]
        .iter()
        .any(|ext| name.ends_with(ext));
    if !is_bundle_type {
        return false;
    }
    let sample = &bytes[..bytes.len().min(SAMPLE)];
    if sample.len() < 2 * MINIFIED_AVERAGE_LINE {
        return false;
    }
    let lines = memchr::memchr_iter(b'\n', sample).count() + 1;
    sample.len() / lines > MINIFIED_AVERAGE_LINE
}

/// Either test: the one every scan mode applies to a file it has read.
pub fn is_generated(path: &str, bytes: &[u8]) -> bool {
    is_generated_path(path) || looks_minified(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_generated_files() {
        assert!(is_generated_path("dist/app.js.map"));
        assert!(is_generated_path("static/site.MIN.css"));
        assert!(is_generated_path("vendor/jquery-min.js"));
        assert!(!is_generated_path("src/app.js"));
        assert!(!is_generated_path("src/minimal.rs"));
    }

    #[test]
    fn long_lines_in_scripts_look_minified_but_not_elsewhere() {
        let minified = format!("!function(){{{}}}();\n", "var a=1;".repeat(2000));
        assert!(looks_minified("dist/bundle.js", minified.as_bytes()));
        assert!(!looks_minified("data/blob.txt", minified.as_bytes()));
        let code = "function f() {\n  return 1;\n}\n".repeat(500);
        assert!(!looks_minified("src/app.js", code.as_bytes()));
    }
}
