use super::scan::ScanArgs;
use std::process::ExitCode;

pub fn run(_args: &ScanArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("git scanning is not built yet")
}
