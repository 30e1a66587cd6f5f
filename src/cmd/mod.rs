//! One module per subcommand. Each exposes its clap arguments and a `run` function that
//! returns the process exit code; errors bubble up to `main`, which prints them and exits 2.

pub mod access;
pub mod baseline;
pub mod docs;
pub mod env;
pub mod hook;
pub mod leaks;
pub mod rules;
pub mod scan;
pub mod scan_git;
pub mod server;

/// Usage, input or configuration error.
pub const EXIT_INPUT_ERROR: u8 = 2;
/// An action the access core refused (authentication or permission).
pub const EXIT_REFUSED: u8 = 3;
