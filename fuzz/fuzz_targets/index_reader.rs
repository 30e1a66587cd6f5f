//! The git index reader behind `--staged`: any bytes parse or give an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sg_git::fuzz_index(data);
});
