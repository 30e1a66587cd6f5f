//! The git index reader behind `--staged`: any bytes parse or give an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(index)) = sg_gitindex::parse(data) {
        for entry in index.entries() {
            let _ = index.path(entry);
        }
    }
});
