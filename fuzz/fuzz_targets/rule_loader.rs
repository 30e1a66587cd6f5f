//! The rule loader: TOML plus the Go-regex translation. Any text either loads or gives a
//! `RuleError`; a loaded set scans a line without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(set) = sg_rules::RuleSet::from_config_text(text, std::path::Path::new("fuzz.toml")) {
        let scanner = sg_engine::Scanner::new(set);
        let _ = scanner.scan(sg_engine::ScanInput {
            path: "a.env",
            bytes: text.as_bytes(),
            commit: None,
        });
    }
});
