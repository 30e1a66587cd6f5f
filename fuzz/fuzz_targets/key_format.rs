//! The `sgk_<env>_…` key-format parser: parses or refuses, and what parses keeps its text,
//! its environment and a display prefix that is a prefix of the key.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = sg_keyformat::ApiKey::parse(text) {
        assert_eq!(key.expose(), text, "a parsed key keeps its text");
        assert!(text.starts_with(&key.display_prefix()));
        assert!(sg_keyformat::is_valid_environment(key.environment()));
    }
});
