//! Generated files: source maps and minified bundles. Their long runs of base64 and
//! identifiers look like secrets to generic rules, so only the rules that recognise a
//! credential by its own format run on them; which files are generated is decided by
//! their content, never by the name alone.

/// How much of a file the minified-bundle heuristic looks at.
const SAMPLE: usize = 64 * 1024;
/// Hand-written code averages well under 100 bytes a line; minifiers emit lines of many KiB.
const MINIFIED_AVERAGE_LINE: usize = 500;

/// Whether the file name suggests a generated file (`*.map`, `*.min.js`, `*.min.css`). The
/// name alone never decides: [`is_generated`] also looks at the content.
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
/// very long lines on average. A short file is never minified, whatever its name: a
/// one-line `config.min.js` holding a token is hand-written and fully scanned.
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

/// Whether a `.map` file's content is a source map: JSON with a `mappings` field.
pub fn looks_like_source_map(path: &str, bytes: &[u8]) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    if !name.ends_with(".map") {
        return false;
    }
    let sample = &bytes[..bytes.len().min(SAMPLE)];
    let first = sample.iter().find(|b| !b.is_ascii_whitespace());
    first == Some(&b'{') && memchr::memmem::find(sample, b"\"mappings\"").is_some()
}

/// Whether the content (not only the name) says the file is generated: a minified bundle
/// or a source map. Generated files are still scanned, by the rules that recognise a
/// credential by its format; only the generic rules, which long base64 runs and mangled
/// identifiers would set off, stay out.
pub fn is_generated(path: &str, bytes: &[u8]) -> bool {
    looks_minified(path, bytes) || looks_like_source_map(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_suggest_generated_files() {
        assert!(is_generated_path("dist/app.js.map"));
        assert!(is_generated_path("static/site.MIN.css"));
        assert!(is_generated_path("vendor/jquery-min.js"));
        assert!(!is_generated_path("src/app.js"));
        assert!(!is_generated_path("src/minimal.rs"));
    }

    #[test]
    fn content_decides_not_the_name() {
        let token = b"const t = \"ghp_abcdefghijklmnopqrstuvwxyz0123456789\";";
        assert!(!is_generated("config.min.js", token));
        assert!(!is_generated("deploy.map", b"token: abc"));
        assert!(is_generated(
            "app.js.map",
            br#"{"version":3,"sources":["a.js"],"mappings":"AAAA"}"#
        ));
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
