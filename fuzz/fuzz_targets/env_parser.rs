//! The `.env` parser (through the public loader): any bytes either load or give an
//! `EnvError`, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn dir() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("tempdir"))
}

fuzz_target!(|data: &[u8]| {
    let root = dir().path();
    if std::fs::write(root.join(".env"), data).is_err() {
        return;
    }
    if let Ok(project) = sg_env::Project::open(root) {
        for name in project.environment_names() {
            let _ = project.load(&name, &sg_env::LoadOptions::files_only());
        }
    }
});
