//! The `.env` grammar, as dotenvy reads it, with positions.
//!
//! dotenvy's iterator gives keys and values but no line numbers, and it expands `$VAR`
//! itself (mangling a `$` inside a secret). This parser follows dotenvy's grammar and
//! keeps every key's line and column, and leaves expansion to [`crate::expand`]:
//! - blank lines and `#` comment lines; an optional `export ` prefix (`export=1` is a key);
//! - `KEY=value`, whitespace allowed around `=`; an unquoted value ends at whitespace, after
//!   which only a `#` comment may follow (`v#c` keeps its `#`, `v #c` does not);
//! - `'single'` quotes are literal; `"double"` quotes and unquoted text take the escapes
//!   `\\ \' \" \$ \<space> \n` (plus `\t` and `\r` inside double quotes); quoted values may
//!   span lines; adjacent pieces concatenate (`a"b c"'d'` is `ab cd`);
//! - `$NAME`, `${NAME}` and `${NAME:-default}` outside single quotes are references;
//! - a UTF-8 byte order mark is skipped; CRLF and a bare CR (old Mac files) end a line as LF
//!   does.
//!
//! Parsing is linear in the file's size: duplicate keys are found through a map, never by
//! searching the entries read so far.
//!
//! Unlike dotenvy, a key must be a valid identifier (no `.`), since a process environment
//! variable with a `.` cannot be read by most shells.

use crate::error::{redact_token, shown_name, EnvError};
use std::collections::HashMap;
use std::path::Path;

/// A piece of a value before expansion.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment {
    Literal(String),
    Ref(Reference),
}

/// `$NAME`, `${NAME}` or `${NAME:-default}`, with the position of its `$`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reference {
    pub name: String,
    /// `${NAME}` rather than `$NAME`: a bare `$` inside a password is common, a brace is
    /// deliberate.
    pub braced: bool,
    pub default: Option<Vec<Segment>>,
    pub line: usize,
    pub column: usize,
}

/// One `KEY=value` definition.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub key: String,
    /// Position of the key (1-based line, 1-based character column).
    pub line: usize,
    pub column: usize,
    /// The last line the value reaches (multi-line quoted values).
    pub end_line: usize,
    pub template: Vec<Segment>,
    /// Earlier definitions of the same key in the same file, oldest first: a `${KEY}` in a
    /// later definition refers to the one before it.
    pub earlier: Vec<Entry>,
}

/// A key defined twice in one file: the later definition wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub key: String,
    pub first_line: usize,
    pub second_line: usize,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ParsedFile {
    /// In file order, duplicates removed (the later definition kept, at its position).
    pub entries: Vec<Entry>,
    pub duplicates: Vec<Duplicate>,
}

/// Parses one file's text. With `expand` false every `$` is literal.
pub(crate) fn parse(text: &str, file: &Path, expand: bool) -> Result<ParsedFile, EnvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let normalized;
    let text = if text.contains('\r') {
        normalized = normalize_line_ends(text);
        normalized.as_str()
    } else {
        text
    };
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
        column: 1,
        file,
        expand,
        key: None,
    };
    // Slots in file order; a redefined key empties its earlier slot, so removing a
    // duplicate costs nothing and the later definition keeps its position.
    let mut slots: Vec<Option<Entry>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut duplicates = Vec::new();
    while let Some(mut entry) = p.next_entry()? {
        if let Some(i) = index.insert(entry.key.clone(), slots.len()) {
            if let Some(mut first) = slots.get_mut(i).and_then(Option::take) {
                duplicates.push(Duplicate {
                    key: entry.key.clone(),
                    first_line: first.line,
                    second_line: entry.line,
                });
                entry.earlier = std::mem::take(&mut first.earlier);
                entry.earlier.push(first);
            }
        }
        slots.push(Some(entry));
    }
    Ok(ParsedFile {
        entries: slots.into_iter().flatten().collect(),
        duplicates,
    })
}

/// CRLF and a bare CR both become LF.
fn normalize_line_ends(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    out
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    column: usize,
    file: &'a Path,
    expand: bool,
    /// The key whose value is being read: errors inside a value name it.
    key: Option<String>,
}

fn is_inline_space(c: char) -> bool {
    c.is_whitespace() && c != '\n'
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn error_at(&self, line: usize, column: usize, message: impl Into<String>) -> EnvError {
        let message = message.into();
        EnvError::Syntax {
            file: self.file.to_path_buf(),
            line,
            column,
            message: match &self.key {
                Some(key) => format!("in `{}`: {message}", shown_name(key)),
                None => message,
            },
        }
    }

    fn error_here(&self, message: impl Into<String>) -> EnvError {
        self.error_at(self.line, self.column, message)
    }

    fn skip_inline_space(&mut self) {
        while self.peek().is_some_and(is_inline_space) {
            self.bump();
        }
    }

    fn skip_to_line_end(&mut self) {
        while let Some(c) = self.peek() {
            if c == '\n' {
                break;
            }
            self.bump();
        }
    }

    /// A run of characters up to whitespace or `=`: what the user meant as a key.
    fn key_token(&mut self) -> (String, usize, usize) {
        let (line, column) = (self.line, self.column);
        let mut key = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == '=' || c == '#' {
                break;
            }
            key.push(c);
            self.bump();
        }
        (key, line, column)
    }

    fn next_entry(&mut self) -> Result<Option<Entry>, EnvError> {
        self.key = None;
        loop {
            self.skip_inline_space();
            match self.peek() {
                None => return Ok(None),
                Some('\n') => {
                    self.bump();
                }
                Some('#') => self.skip_to_line_end(),
                Some(_) => break,
            }
        }
        let (mut key, mut line, mut column) = self.key_token();
        self.skip_inline_space();
        if key == "export" && self.peek() != Some('=') {
            (key, line, column) = self.key_token();
            self.skip_inline_space();
        }
        if key.is_empty() {
            return Err(self.error_here("expected a variable name"));
        }
        if !is_identifier(&key) {
            return Err(EnvError::InvalidKey {
                file: self.file.to_path_buf(),
                line,
                column,
                key: shown_name(&key),
            });
        }
        if self.peek() != Some('=') {
            // A line without `=` is often a pasted secret: show only its start.
            return Err(self.error_here(format!(
                "expected `=` after `{}` (a line of its own must be `KEY=value` or a `#` comment)",
                redact_token(&key)
            )));
        }
        self.bump();
        self.skip_inline_space();
        self.key = Some(key.clone());
        let template = match self.peek() {
            None | Some('\n') => Vec::new(),
            // dotenvy: `KEY=` followed by a comment is empty.
            Some('#') => {
                self.skip_to_line_end();
                Vec::new()
            }
            Some(_) => self.value()?,
        };
        Ok(Some(Entry {
            key,
            line,
            column,
            end_line: self.line,
            template,
            earlier: Vec::new(),
        }))
    }

    fn value(&mut self) -> Result<Vec<Segment>, EnvError> {
        let mut out = Builder::default();
        while let Some(c) = self.peek() {
            match c {
                '\n' => break,
                ' ' | '\t' => {
                    self.skip_inline_space();
                    match self.peek() {
                        None | Some('\n') => {}
                        Some('#') => self.skip_to_line_end(),
                        Some(_) => return Err(self.error_here(
                            "unexpected text after the value: quote a value that contains spaces",
                        )),
                    }
                    break;
                }
                '\'' => self.single_quoted(&mut out)?,
                '"' => self.double_quoted(&mut out)?,
                '\\' => {
                    let (line, column) = (self.line, self.column);
                    self.bump();
                    match self.bump() {
                        Some(e @ ('\\' | '\'' | '"' | '$' | ' ')) => out.push(e),
                        Some('n') => out.push('\n'),
                        _ => return Err(self.error_at(line, column, "invalid escape sequence")),
                    }
                }
                '$' if self.expand => self.reference(&mut out, false)?,
                _ => {
                    out.push(c);
                    self.bump();
                }
            }
        }
        Ok(out.finish())
    }

    fn single_quoted(&mut self, out: &mut Builder) -> Result<(), EnvError> {
        let (line, column) = (self.line, self.column);
        self.bump();
        loop {
            match self.bump() {
                None => return Err(self.error_at(line, column, "unterminated single quote")),
                Some('\'') => return Ok(()),
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quoted(&mut self, out: &mut Builder) -> Result<(), EnvError> {
        let (line, column) = (self.line, self.column);
        self.bump();
        loop {
            match self.peek() {
                None => return Err(self.error_at(line, column, "unterminated double quote")),
                Some('"') => {
                    self.bump();
                    return Ok(());
                }
                Some('\\') => {
                    let (el, ec) = (self.line, self.column);
                    self.bump();
                    match self.bump() {
                        Some(e @ ('\\' | '\'' | '"' | '$' | ' ')) => out.push(e),
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some('r') => out.push('\r'),
                        _ => return Err(self.error_at(el, ec, "invalid escape sequence")),
                    }
                }
                Some('$') if self.expand => self.reference(out, true)?,
                Some(c) => {
                    out.push(c);
                    self.bump();
                }
            }
        }
    }

    /// At a `$`: a reference, or a literal `$` when no name follows.
    fn reference(&mut self, out: &mut Builder, in_double: bool) -> Result<(), EnvError> {
        let (line, column) = (self.line, self.column);
        match self.peek_at(1) {
            Some('{') => {
                self.bump();
                self.bump();
                let name = self.name();
                if name.is_empty() {
                    return Err(self.error_at(
                        line,
                        column,
                        "`${` must be followed by a variable name",
                    ));
                }
                let default = match self.peek() {
                    Some('}') => {
                        self.bump();
                        None
                    }
                    Some(':') if self.peek_at(1) == Some('-') => {
                        self.bump();
                        self.bump();
                        Some(self.default_value(line, column, in_double)?)
                    }
                    None | Some('\n' | '"') => {
                        return Err(self.error_at(line, column, "unterminated `${`"))
                    }
                    _ => {
                        return Err(self.error_at(
                            line,
                            column,
                            "unsupported expansion: use `${NAME}` or `${NAME:-default}`",
                        ))
                    }
                };
                out.reference(Reference {
                    name,
                    braced: true,
                    default,
                    line,
                    column,
                });
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                self.bump();
                let name = self.name();
                out.reference(Reference {
                    name,
                    braced: false,
                    default: None,
                    line,
                    column,
                });
            }
            _ => {
                self.bump();
                out.push('$');
            }
        }
        Ok(())
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        if !self
            .peek()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        {
            return name;
        }
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                self.bump();
            } else {
                break;
            }
        }
        name
    }

    /// The default of `${NAME:-default}`, up to the matching `}`. It may hold references
    /// and, inside double quotes, escapes.
    fn default_value(
        &mut self,
        line: usize,
        column: usize,
        in_double: bool,
    ) -> Result<Vec<Segment>, EnvError> {
        let mut out = Builder::default();
        loop {
            match self.peek() {
                None => return Err(self.error_at(line, column, "unterminated `${`")),
                Some('\n') if !in_double => {
                    return Err(self.error_at(line, column, "unterminated `${`"))
                }
                Some('"') if in_double => {
                    return Err(self.error_at(line, column, "unterminated `${`"))
                }
                Some('}') => {
                    self.bump();
                    return Ok(out.finish());
                }
                Some('\\') => {
                    let (el, ec) = (self.line, self.column);
                    self.bump();
                    match self.bump() {
                        Some(e @ ('\\' | '\'' | '"' | '$' | ' ' | '}')) => out.push(e),
                        Some('n') => out.push('\n'),
                        _ => return Err(self.error_at(el, ec, "invalid escape sequence")),
                    }
                }
                Some('$') => self.reference(&mut out, in_double)?,
                Some(c) => {
                    out.push(c);
                    self.bump();
                }
            }
        }
    }
}

pub(crate) fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Collects literal characters and references into segments.
#[derive(Default)]
struct Builder {
    segments: Vec<Segment>,
    literal: String,
}

impl Builder {
    fn push(&mut self, c: char) {
        self.literal.push(c);
    }

    fn reference(&mut self, r: Reference) {
        if !self.literal.is_empty() {
            self.segments
                .push(Segment::Literal(std::mem::take(&mut self.literal)));
        }
        self.segments.push(Segment::Ref(r));
    }

    fn finish(mut self) -> Vec<Segment> {
        if !self.literal.is_empty() {
            self.segments.push(Segment::Literal(self.literal));
        }
        self.segments
    }
}
