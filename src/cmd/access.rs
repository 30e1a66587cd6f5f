use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct AccessArgs {}

pub fn run(_args: AccessArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the access core is not built yet")
}
