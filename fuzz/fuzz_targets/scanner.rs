//! The scanner with the default rules on arbitrary bytes (decoding, UTF-16, generated-file
//! checks, windows on long lines included), and archives opened from those bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn scanner() -> &'static sg_engine::Scanner {
    static SCANNER: OnceLock<sg_engine::Scanner> = OnceLock::new();
    SCANNER.get_or_init(|| {
        sg_engine::Scanner::new(sg_rules::RuleSet::default_rules().expect("default rules"))
    })
}

fuzz_target!(|data: &[u8]| {
    let s = scanner();
    for path in ["config/app.env", "dist/app.min.js", "Cargo.lock", "x.zip"] {
        if let sg_engine::text::Content::Text(text) = sg_engine::text::classify(data) {
            for f in s.scan(sg_engine::ScanInput {
                path,
                bytes: &text,
                commit: None,
            }) {
                assert!(f.line >= 1 && f.column >= 1, "positions are 1-based");
            }
        }
    }
    if sg_engine::archive::is_archive("x.zip", data) {
        let _ = sg_engine::archive::scan_archive(s, "x.zip", data, 1 << 20);
    }
});
