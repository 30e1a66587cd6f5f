//! `${VAR}` and `${VAR:-default}` expansion over one environment's merged definitions.
//!
//! A reference means the variable's final value in the same environment (after every file
//! of the environment is merged), never another environment's. Inside VAR's own
//! definition, `${VAR}` means the definition before it (an earlier file's, an earlier line's,
//! or the process's), as shells and Compose read `PATH=${PATH}:/opt/bin`. A name no file
//! defines falls back to the process environment. Cycles across names and undefined
//! references are errors at the reference's file, line and column.

use crate::error::{looks_like_name, redact_token, EnvError};
use crate::parse::{Reference, Segment};
use std::collections::HashMap;
use std::path::Path;

/// The longest value expansion may build. Each line may reference the value before it
/// several times (`p=$p$p`), so without a bound 60 short lines ask for 2^60 bytes (found by
/// the env_parser fuzz target); real values are far shorter than this.
pub(crate) const MAX_EXPANDED: usize = 1 << 20;

/// One definition to expand: its template and where it came from.
pub(crate) struct Definition<'a> {
    pub template: &'a [Segment],
    pub file: &'a Path,
}

pub(crate) struct Expander<'a> {
    /// Every definition of each key, oldest first; the last one is the key's value.
    pub definitions: &'a HashMap<&'a str, Vec<Definition<'a>>>,
    pub process: &'a dyn Fn(&str) -> Option<String>,
    /// Whether a variable set in the process beats the files' definition.
    pub process_wins: bool,
    pub environment: &'a str,
    /// Expanded values by key and definition index (borrowed keys: no allocation per
    /// lookup, which keeps large files fast).
    memo: HashMap<&'a str, Vec<Option<String>>>,
    visiting: Vec<(&'a str, usize)>,
}

impl<'a> Expander<'a> {
    pub fn new(
        definitions: &'a HashMap<&'a str, Vec<Definition<'a>>>,
        process: &'a dyn Fn(&str) -> Option<String>,
        process_wins: bool,
        environment: &'a str,
    ) -> Expander<'a> {
        Expander {
            definitions,
            process,
            process_wins,
            environment,
            memo: HashMap::new(),
            visiting: Vec::new(),
        }
    }

    /// The expanded value of a defined key (its last definition).
    pub fn value(&mut self, key: &str) -> Result<String, EnvError> {
        let last = self
            .definitions
            .get(key)
            .map_or(0, |d| d.len().saturating_sub(1));
        // Not memoized: most values are never referenced, and keeping a copy of each would
        // double the memory of a large file. A referenced one is expanded (and memoized)
        // once more when first referenced: at most twice in all.
        self.expand(key, last, false)
    }

    fn definition(&mut self, key: &str, index: usize) -> Result<String, EnvError> {
        self.expand(key, index, true)
    }

    fn expand(&mut self, key: &str, index: usize, memoize: bool) -> Result<String, EnvError> {
        let Some((&key, defs)) = self.definitions.get_key_value(key) else {
            return Ok(String::new());
        };
        if let Some(v) = self
            .memo
            .get(key)
            .and_then(|m| m.get(index))
            .and_then(Option::as_ref)
        {
            return Ok(v.clone());
        }
        let Some(def) = defs.get(index) else {
            return Ok(String::new());
        };
        self.visiting.push((key, index));
        let rendered = self.render(def.template, def.file, key, index);
        self.visiting.pop();
        let rendered = rendered?;
        if memoize {
            let slots = self
                .memo
                .entry(key)
                .or_insert_with(|| vec![None; defs.len()]);
            if let Some(slot) = slots.get_mut(index) {
                *slot = Some(rendered.clone());
            }
        }
        Ok(rendered)
    }

    fn render(
        &mut self,
        segments: &[Segment],
        file: &Path,
        key: &str,
        index: usize,
    ) -> Result<String, EnvError> {
        let mut out = String::new();
        for segment in segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Ref(r) => {
                    let value = self.reference(r, file, key, index)?;
                    if out.len().saturating_add(value.len()) > MAX_EXPANDED {
                        return Err(EnvError::ExpansionTooLarge {
                            file: file.to_path_buf(),
                            line: r.line,
                            column: r.column,
                            key: key.to_owned(),
                            limit: MAX_EXPANDED,
                            environment: self.environment.to_owned(),
                        });
                    }
                    out.push_str(&value);
                }
            }
        }
        Ok(out)
    }

    fn reference(
        &mut self,
        r: &Reference,
        file: &Path,
        key: &str,
        index: usize,
    ) -> Result<String, EnvError> {
        let from_process = if self.process_wins {
            (self.process)(&r.name)
        } else {
            None
        };
        let value = match from_process {
            Some(v) => Some(v),
            // `${KEY}` inside KEY's own definition: the definition before this one.
            None if r.name == key => match index.checked_sub(1) {
                Some(previous) => Some(self.definition(key, previous)?),
                None => (self.process)(&r.name),
            },
            None if self.definitions.contains_key(r.name.as_str()) => {
                let last = self
                    .definitions
                    .get(r.name.as_str())
                    .map_or(0, |d| d.len().saturating_sub(1));
                if let Some(start) = self
                    .visiting
                    .iter()
                    .position(|&(k, i)| k == r.name && i == last)
                {
                    let mut chain: Vec<&str> =
                        self.visiting[start..].iter().map(|&(k, _)| k).collect();
                    chain.push(&r.name);
                    return Err(EnvError::Cycle {
                        file: file.to_path_buf(),
                        line: r.line,
                        column: r.column,
                        chain: chain.join(" -> "),
                        environment: self.environment.to_owned(),
                    });
                }
                Some(self.definition(&r.name, last)?)
            }
            None => (self.process)(&r.name),
        };
        match (value, &r.default) {
            (Some(v), _) if !v.is_empty() => Ok(v),
            (_, Some(default)) => self.render(default, file, key, index),
            (Some(v), None) => Ok(v),
            (None, None) => {
                // A bare `$` inside a password (`Tr0ub4dor$Horse3Battery`) reads as a
                // reference: show the name only when it reads as a variable name.
                let shown = if looks_like_name(&r.name)
                    && (r.braced || !r.name.chars().any(|c| c.is_ascii_lowercase()))
                {
                    r.name.clone()
                } else {
                    redact_token(&r.name)
                };
                Err(EnvError::UndefinedReference {
                    file: file.to_path_buf(),
                    line: r.line,
                    column: r.column,
                    key: key.to_owned(),
                    name: shown,
                    environment: self.environment.to_owned(),
                })
            }
        }
    }
}
