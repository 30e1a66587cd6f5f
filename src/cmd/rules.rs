//! `secrets-guard rules list|check`: show the rules in effect, and prove each on its own
//! examples and negatives.

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use serde::Serialize;
use sg_rules::RuleSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules in effect.
    List {
        /// A secrets-guard or gitleaks config (default: the built-in rules).
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = ListFormat::Human)]
        format: ListFormat,
    },
    /// Check that every example matches and yields its secret, and no negative matches.
    Check {
        /// A secrets-guard or gitleaks config (default: the built-in rules).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Human,
    Json,
}

/// One rule in `rules list --format json`.
#[derive(Serialize)]
struct ListedRule<'a> {
    id: &'a str,
    description: &'a str,
    tags: &'a [String],
    keywords: &'a [String],
    validator: Option<&'static str>,
    references: &'a [String],
    impact: Option<&'a str>,
    examples: usize,
}

pub fn run(c: RulesCommand) -> anyhow::Result<ExitCode> {
    let result = match c {
        RulesCommand::List { config, format } => list(config.as_deref(), format),
        RulesCommand::Check { config } => check(config.as_deref()),
    };
    // `rules list | head` closes the pipe early; that is not an error worth exit code 2.
    match result {
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(ExitCode::SUCCESS)
        }
        other => other,
    }
}

fn load(config: Option<&Path>) -> anyhow::Result<RuleSet> {
    match config {
        Some(path) => RuleSet::from_config_file(path)
            .with_context(|| format!("cannot load rules from {}", path.display())),
        None => RuleSet::default_rules().context("the built-in rules do not load"),
    }
}

fn list(config: Option<&Path>, format: ListFormat) -> anyhow::Result<ExitCode> {
    let set = load(config)?;
    let mut rules: Vec<_> = set.rules.iter().collect();
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    let mut out = std::io::stdout().lock();
    match format {
        ListFormat::Json => {
            let listed: Vec<ListedRule<'_>> = rules
                .iter()
                .map(|r| ListedRule {
                    id: &r.id,
                    description: &r.description,
                    tags: &r.tags,
                    keywords: &r.keywords,
                    validator: r.validator.map(|v| v.name()),
                    references: &r.references,
                    impact: r.impact.as_deref(),
                    examples: r.examples.len(),
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &listed).map_err(std::io::Error::from)?;
            writeln!(out)?;
        }
        ListFormat::Human => {
            let id_width = rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
            let tags: Vec<String> = rules
                .iter()
                .map(|r| {
                    if r.tags.is_empty() {
                        "-".to_owned()
                    } else {
                        r.tags.join(",")
                    }
                })
                .collect();
            let tag_width = tags.iter().map(String::len).max().unwrap_or(0);
            let validator_width = rules
                .iter()
                .map(|r| r.validator.map_or(1, |v| v.name().len()))
                .max()
                .unwrap_or(0);
            for (rule, tags) in rules.iter().zip(&tags) {
                writeln!(
                    out,
                    "{:id_width$}  {:tag_width$}  {:validator_width$}  {}",
                    rule.id,
                    tags,
                    rule.validator.map_or("-", |v| v.name()),
                    rule.description
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn check(config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let set = load(config)?;
    let report = set.check();
    let mut out = std::io::stdout().lock();
    for failure in &report.failures {
        writeln!(out, "FAIL {failure}")?;
    }
    for warning in &report.warnings {
        writeln!(out, "warn {warning}")?;
    }
    writeln!(
        out,
        "{}: {} failures, {} warnings",
        report.summary(),
        report.failures.len(),
        report.warnings.len()
    )?;
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
