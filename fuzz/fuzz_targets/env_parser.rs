//! The `.env` parser (through the public loader): any bytes either load or give an
//! `EnvError`, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn dir() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        // The shared base every environment loads first, under the fuzzed overrides.
        std::fs::write(
            dir.path().join(".env"),
            "BASE=1\nexport SHARED='two words'\n",
        )
        .expect("write .env");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let root = dir().path();
    // An environment's own file: a lone `.env` makes no environment (the standard
    // convention names environments after their `.env.NAME` files), so nothing would be
    // parsed. The assertion keeps the target from going blind like that again.
    if std::fs::write(root.join(".env.dev"), data).is_err() {
        return;
    }
    if let Ok(project) = sg_env::Project::open(root) {
        assert_eq!(
            project.environment_names(),
            ["dev"],
            "the fuzzed file is loaded"
        );
        let _ = project.load("dev", &sg_env::LoadOptions::files_only());
    }
});
