//! `${VAR}` and `${VAR:-default}` expansion over one environment's merged definitions.
//!
//! A reference means the variable's final value in the same environment (after every file
//! of the environment is merged), never another environment's. Inside VAR's own
//! definition, `${VAR}` means the definition before it (an earlier file's, an earlier line's,
//! or the process's), as shells and Compose read `PATH=${PATH}:/opt/bin`. A name no file
//! defines falls back to the process environment. Cycles across names and undefined
//! references are errors at the reference's file, line and column.
//!
//! Expansion is linear in the definitions' size: a definition a reference reaches is
//! expanded once and remembered, and a cycle is found without searching the chain being
//! expanded.

use crate::error::{looks_like_name, redact_token, shown_name, EnvError};
use crate::parse::{Pieces, Reference, Template};
use std::collections::HashMap;
use std::path::Path;

/// The longest value expansion may build. Each line may reference the value before it
/// several times (`p=$p$p`), so without a bound 60 short lines ask for 2^60 bytes (found by
/// the env_parser fuzz target); real values are far shorter than this.
pub(crate) const MAX_EXPANDED: usize = 1 << 20;

/// How many definitions one chain of references may pass through. Expansion recurses
/// along the chain, so without a bound a file of 100,000 `A1=${A2}` lines overflows the
/// stack; real chains are a few links long.
pub(crate) const MAX_REFERENCE_DEPTH: usize = 256;

/// A definition as the expander reads it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Body<'a> {
    /// No reference: the value itself.
    Text(&'a str),
    Pieces(&'a Pieces),
}

impl Template {
    pub(crate) fn body(&self) -> Body<'_> {
        match self {
            Template::Text(text) => Body::Text(text),
            Template::Pieces(pieces) => Body::Pieces(pieces),
        }
    }
}

/// What the expander reads: every key's definitions, the keys numbered from 0.
pub(crate) trait Definitions {
    /// The number of the key `name`, if a file defines it.
    fn find(&self, name: &str) -> Option<usize>;
    fn key(&self, id: usize) -> &str;
    /// How many definitions key `id` has (the last one is its value).
    fn count(&self, id: usize) -> usize;
    /// Definition `index` of key `id` (0 the oldest) and the file it is in.
    fn definition(&self, id: usize, index: usize) -> Option<(Body<'_>, &Path)>;
}

pub(crate) struct Expander<'a, D> {
    definitions: &'a D,
    process: &'a dyn Fn(&str) -> Option<String>,
    /// Whether a variable set in the process beats the files' definition.
    process_wins: bool,
    environment: &'a str,
    /// Expanded definitions holding references, by key and definition index: only the
    /// ones a reference reached.
    memo: HashMap<(usize, usize), String>,
    /// The definitions being expanded, outermost first: a cycle's chain.
    visiting: Vec<(usize, usize)>,
    /// By key: whether its last definition is in `visiting` (a reference to it is a cycle).
    in_progress: Vec<bool>,
    /// Definitions expanded (memoized ones and plain text aside), for the test that bounds
    /// the work.
    #[cfg(test)]
    expansions: usize,
}

impl<'a, D: Definitions> Expander<'a, D> {
    pub fn new(
        definitions: &'a D,
        process: &'a dyn Fn(&str) -> Option<String>,
        process_wins: bool,
        environment: &'a str,
    ) -> Expander<'a, D> {
        Expander {
            definitions,
            process,
            process_wins,
            environment,
            memo: HashMap::new(),
            visiting: Vec::new(),
            in_progress: Vec::new(),
            #[cfg(test)]
            expansions: 0,
        }
    }

    /// The expanded value of key `id` (its last definition).
    pub fn value(&mut self, id: usize) -> Result<String, EnvError> {
        let last = self.definitions.count(id).saturating_sub(1);
        let mut out = String::new();
        // Not memoized: most values are never referenced, and keeping a copy of each would
        // double the memory of a large file. A referenced one is expanded (and memoized)
        // once more when first referenced: at most twice in all.
        self.expand_into(id, last, false, &mut out)?;
        Ok(out)
    }

    fn is_last(&self, id: usize, index: usize) -> bool {
        index + 1 == self.definitions.count(id)
    }

    fn set_in_progress(&mut self, id: usize, on: bool) {
        if self.in_progress.len() <= id {
            self.in_progress.resize(id + 1, false);
        }
        if let Some(slot) = self.in_progress.get_mut(id) {
            *slot = on;
        }
    }

    /// Appends definition `index` of key `id`, expanded, to `out`.
    fn expand_into(
        &mut self,
        id: usize,
        index: usize,
        memoize: bool,
        out: &mut String,
    ) -> Result<(), EnvError> {
        let definitions = self.definitions;
        let Some((body, file)) = definitions.definition(id, index) else {
            return Ok(());
        };
        let pieces = match body {
            Body::Text(text) => {
                out.push_str(text);
                return Ok(());
            }
            Body::Pieces(pieces) => pieces,
        };
        if let Some(v) = self.memo.get(&(id, index)) {
            out.push_str(v);
            return Ok(());
        }
        #[cfg(test)]
        {
            self.expansions += 1;
        }
        let last = self.is_last(id, index);
        self.visiting.push((id, index));
        if last {
            self.set_in_progress(id, true);
        }
        let result = if memoize {
            let mut rendered = String::with_capacity(estimated_len(pieces));
            self.render_into(pieces, file, id, index, &mut rendered)
                .map(|()| {
                    out.push_str(&rendered);
                    self.memo.insert((id, index), rendered);
                })
        } else {
            out.reserve(estimated_len(pieces));
            self.render_into(pieces, file, id, index, out)
        };
        if last {
            self.set_in_progress(id, false);
        }
        self.visiting.pop();
        result
    }

    fn render_into(
        &mut self,
        pieces: &Pieces,
        file: &Path,
        id: usize,
        index: usize,
        out: &mut String,
    ) -> Result<(), EnvError> {
        let mut at = 0;
        for (offset, r) in &pieces.refs {
            out.push_str(pieces.text.get(at..*offset).unwrap_or_default());
            self.reference_into(r, file, id, index, out)?;
            at = *offset;
        }
        out.push_str(pieces.text.get(at..).unwrap_or_default());
        Ok(())
    }

    /// Appends the value of reference `r` (in definition `index` of key `id`) to `out`.
    fn reference_into(
        &mut self,
        r: &Reference,
        file: &Path,
        id: usize,
        index: usize,
        out: &mut String,
    ) -> Result<(), EnvError> {
        let definitions = self.definitions;
        let key = definitions.key(id);
        if self.visiting.len() >= MAX_REFERENCE_DEPTH {
            return Err(EnvError::ExpansionTooDeep {
                file: file.to_path_buf(),
                line: r.line,
                column: r.column,
                key: shown_name(key),
                limit: MAX_REFERENCE_DEPTH,
                environment: self.environment.to_owned(),
            });
        }
        let start = out.len();
        let from_process = if self.process_wins {
            (self.process)(&r.name)
        } else {
            None
        };
        let found = match from_process {
            Some(v) => {
                out.push_str(&v);
                true
            }
            // `${KEY}` inside KEY's own definition: the definition before this one.
            None if r.name == key => match index.checked_sub(1) {
                Some(previous) => {
                    self.expand_into(id, previous, true, out)?;
                    true
                }
                None => (self.process)(&r.name).map(|v| out.push_str(&v)).is_some(),
            },
            None => match definitions.find(&r.name) {
                Some(target) => {
                    let last = definitions.count(target).saturating_sub(1);
                    if self.in_progress.get(target).copied().unwrap_or(false) {
                        let start = self
                            .visiting
                            .iter()
                            .position(|&(k, i)| k == target && i == last)
                            .unwrap_or(0);
                        let mut chain: Vec<&str> = self
                            .visiting
                            .get(start..)
                            .unwrap_or_default()
                            .iter()
                            .map(|&(k, _)| definitions.key(k))
                            .collect();
                        chain.push(&r.name);
                        return Err(EnvError::Cycle {
                            file: file.to_path_buf(),
                            line: r.line,
                            column: r.column,
                            chain: chain.join(" -> "),
                            environment: self.environment.to_owned(),
                        });
                    }
                    self.expand_into(target, last, true, out)?;
                    true
                }
                None => (self.process)(&r.name).map(|v| out.push_str(&v)).is_some(),
            },
        };
        if out.len() > MAX_EXPANDED {
            return Err(EnvError::ExpansionTooLarge {
                file: file.to_path_buf(),
                line: r.line,
                column: r.column,
                key: shown_name(key),
                limit: MAX_EXPANDED,
                environment: self.environment.to_owned(),
            });
        }
        if out.len() > start {
            return Ok(());
        }
        match (found, &r.default) {
            // Unset or empty: the default.
            (_, Some(default)) => self.render_into(default, file, id, index, out),
            // Set and empty.
            (true, None) => Ok(()),
            (false, None) => {
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

/// Room for a rendered definition: its text and a little for each reference.
fn estimated_len(pieces: &Pieces) -> usize {
    pieces.text.len() + 16 * pieces.refs.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;
    use std::path::PathBuf;

    /// One file's definitions, found by name.
    struct Defs {
        keys: Vec<String>,
        templates: Vec<Vec<Template>>,
        index: HashMap<String, usize>,
        file: PathBuf,
    }

    impl Defs {
        fn parse(text: &str) -> Defs {
            let mut defs = Defs {
                keys: Vec::new(),
                templates: Vec::new(),
                index: HashMap::new(),
                file: PathBuf::from(".env.dev"),
            };
            parse(text, Path::new(".env.dev"), true, |e| {
                let id = *defs.index.entry(e.key.to_owned()).or_insert_with(|| {
                    defs.keys.push(e.key.to_owned());
                    defs.templates.push(Vec::new());
                    defs.keys.len() - 1
                });
                if let Some(t) = defs.templates.get_mut(id) {
                    t.push(e.template);
                }
            })
            .expect("parses");
            defs
        }
    }

    impl Definitions for Defs {
        fn find(&self, name: &str) -> Option<usize> {
            self.index.get(name).copied()
        }
        fn key(&self, id: usize) -> &str {
            self.keys.get(id).map_or("", String::as_str)
        }
        fn count(&self, id: usize) -> usize {
            self.templates.get(id).map_or(0, Vec::len)
        }
        fn definition(&self, id: usize, index: usize) -> Option<(Body<'_>, &Path)> {
            Some((
                self.templates.get(id)?.get(index)?.body(),
                self.file.as_path(),
            ))
        }
    }

    /// Every value of `text`, and how many definitions were expanded to get them.
    fn expand_all(text: &str) -> (Vec<String>, usize) {
        let defs = Defs::parse(text);
        let process = |_: &str| None;
        let mut expander = Expander::new(&defs, &process, false, "dev");
        let values = (0..defs.keys.len())
            .map(|id| expander.value(id).expect("expands"))
            .collect();
        (values, expander.expansions)
    }

    #[test]
    fn each_definition_is_expanded_at_most_twice() {
        let n = 2_000;
        // A chain (each key the one before it, doubled), many references to one key, a
        // chain through earlier definitions of one key, and a shallow chain read backwards.
        let chain: String = (1..n).map(|i| format!("K{i}=${{K{}}}x\n", i - 1)).collect();
        let fan_in: String = (0..n).map(|i| format!("R{i}=${{HUB}}${{HUB}}\n")).collect();
        // (Expansion recurses once per link of a chain it has not seen: kept short.)
        let self_chain = "A=${A}a\n".repeat(100);
        let backwards: String = (0..50).map(|i| format!("B{i}=${{B{}}}\n", i + 1)).collect();
        let cases = [
            (format!("K0=x\n{chain}"), n),
            (format!("HUB=h\n{fan_in}"), n + 1),
            (format!("A=\n{self_chain}"), 101),
            (format!("{backwards}B50=end\n"), 51),
        ];
        for (text, definitions) in &cases {
            let (values, expansions) = expand_all(text);
            assert!(!values.is_empty());
            assert!(
                expansions <= 2 * definitions,
                "{expansions} expansions for {definitions} definitions"
            );
        }
        let (values, _) = expand_all(&format!("K0=x\n{chain}"));
        assert_eq!(values.last().map(String::len), Some(n));
        let (values, _) = expand_all(&format!("A=\n{self_chain}"));
        assert_eq!(values.first().map(String::len), Some(100));
    }

    #[test]
    fn a_cycle_names_its_chain() {
        let defs = Defs::parse("A=${B}\nB=x${C}\nC=${A}\n");
        let process = |_: &str| None;
        let mut expander = Expander::new(&defs, &process, false, "dev");
        match expander.value(0) {
            Err(EnvError::Cycle { chain, .. }) => assert_eq!(chain, "A -> B -> C -> A"),
            other => panic!("{other:?}"),
        }
        // The failed expansion leaves nothing marked: C alone still finds the cycle.
        match expander.value(2) {
            Err(EnvError::Cycle { chain, .. }) => assert_eq!(chain, "C -> A -> B -> C"),
            other => panic!("{other:?}"),
        }
    }
}
