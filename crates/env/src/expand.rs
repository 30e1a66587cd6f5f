//! `${VAR}` and `${VAR:-default}` expansion over one environment's merged definitions.
//!
//! A reference means the variable's final value in the same environment (after every file
//! of the environment is merged), never another environment's. A name no file defines
//! falls back to the process environment. Cycles and undefined references are errors at
//! the reference's file, line and column.

use crate::error::EnvError;
use crate::parse::{Reference, Segment};
use std::collections::HashMap;
use std::path::PathBuf;

/// One definition to expand: its template and where it came from.
pub(crate) struct Definition<'a> {
    pub template: &'a [Segment],
    pub file: PathBuf,
}

pub(crate) struct Expander<'a> {
    pub definitions: &'a HashMap<String, Definition<'a>>,
    pub process: &'a dyn Fn(&str) -> Option<String>,
    /// Whether a variable set in the process beats the files' definition.
    pub process_wins: bool,
    pub environment: &'a str,
    memo: HashMap<String, String>,
    visiting: Vec<String>,
}

impl<'a> Expander<'a> {
    pub fn new(
        definitions: &'a HashMap<String, Definition<'a>>,
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

    /// The expanded value of a defined key.
    pub fn value(&mut self, key: &str) -> Result<String, EnvError> {
        if let Some(v) = self.memo.get(key) {
            return Ok(v.clone());
        }
        let Some(def) = self.definitions.get(key) else {
            return Ok(String::new());
        };
        self.visiting.push(key.to_owned());
        let rendered = self.render(def.template, &def.file);
        self.visiting.pop();
        let rendered = rendered?;
        self.memo.insert(key.to_owned(), rendered.clone());
        Ok(rendered)
    }

    fn render(&mut self, segments: &[Segment], file: &PathBuf) -> Result<String, EnvError> {
        let mut out = String::new();
        for segment in segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Ref(r) => out.push_str(&self.reference(r, file)?),
            }
        }
        Ok(out)
    }

    fn reference(&mut self, r: &Reference, file: &PathBuf) -> Result<String, EnvError> {
        let value = if self.process_wins {
            (self.process)(&r.name)
        } else {
            None
        };
        let value = match value {
            Some(v) => Some(v),
            None if self.definitions.contains_key(&r.name) => {
                if let Some(start) = self.visiting.iter().position(|k| k == &r.name) {
                    let mut chain: Vec<&str> =
                        self.visiting[start..].iter().map(String::as_str).collect();
                    chain.push(&r.name);
                    return Err(EnvError::Cycle {
                        file: file.clone(),
                        line: r.line,
                        column: r.column,
                        chain: chain.join(" -> "),
                        environment: self.environment.to_owned(),
                    });
                }
                Some(self.value(&r.name)?)
            }
            None => (self.process)(&r.name),
        };
        match (value, &r.default) {
            (Some(v), _) if !v.is_empty() => Ok(v),
            (_, Some(default)) => self.render(default, file),
            (Some(v), None) => Ok(v),
            (None, None) => Err(EnvError::UndefinedReference {
                file: file.clone(),
                line: r.line,
                column: r.column,
                name: r.name.clone(),
                environment: self.environment.to_owned(),
            }),
        }
    }
}
