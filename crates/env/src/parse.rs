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
//! Parsing is linear in the file's size: a line's columns are counted once however many
//! positions on it are asked for, and the loader finds duplicate keys through a map, never
//! by searching the entries read so far. The parser walks the bytes of the text and copies
//! runs of literal text whole; a value without references is one string, the value itself,
//! which the loader keeps as it is.
//!
//! Unlike dotenvy, a key must be a valid identifier (no `.`), since a process environment
//! variable with a `.` cannot be read by most shells.

use crate::error::{redact_token, shown_name, EnvError};
use std::path::Path;

/// `$NAME`, `${NAME}` or `${NAME:-default}`, with the position of its `$`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reference {
    pub name: String,
    /// `${NAME}` rather than `$NAME`: a bare `$` inside a password is common, a brace is
    /// deliberate.
    pub braced: bool,
    pub default: Option<Pieces>,
    pub line: usize,
    pub column: usize,
}

/// Literal text with references: two allocations however many pieces (and one more per
/// reference, its name).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Pieces {
    /// The literal text, the references left out.
    pub text: String,
    /// The references in order, each with the byte offset in `text` where its value goes.
    pub refs: Vec<(usize, Reference)>,
}

/// A value before expansion.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Template {
    /// No reference: the value itself.
    Text(String),
    Pieces(Pieces),
}

impl Default for Template {
    fn default() -> Template {
        Template::Text(String::new())
    }
}

/// One `KEY=value` definition, its key borrowed from the file's text.
#[derive(Debug, Clone)]
pub(crate) struct Entry<'t> {
    pub key: &'t str,
    /// Position of the key (1-based line, 1-based character column).
    pub line: usize,
    pub column: usize,
    /// The last line the value reaches (multi-line quoted values).
    pub end_line: usize,
    pub template: Template,
}

/// A key defined twice in one file: the later definition wins (and takes the place of the
/// earlier one in the file's order); a `${KEY}` in it means the earlier one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub key: String,
    pub first_line: usize,
    pub second_line: usize,
}

/// Parses one file's text, giving each entry to `each` in file order (duplicates are for
/// the caller, which merges the entries of every file). With `expand` false every `$` is
/// literal.
pub(crate) fn parse(
    text: &str,
    file: &Path,
    expand: bool,
    mut each: impl FnMut(Entry<'_>),
) -> Result<(), EnvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let normalized;
    let text = if memchr::memchr(b'\r', text.as_bytes()).is_some() {
        normalized = normalize_line_ends(text);
        normalized.as_str()
    } else {
        text
    };
    let mut p = Parser::new(text, file, expand);
    while let Some(entry) = p.next_entry()? {
        each(entry);
    }
    Ok(())
}

/// CRLF and a bare CR both become LF.
fn normalize_line_ends(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = memchr::memchr(b'\r', rest.as_bytes()) {
        out.push_str(rest.get(..i).unwrap_or_default());
        out.push('\n');
        rest = rest.get(i + 1..).unwrap_or_default();
        rest = rest.strip_prefix('\n').unwrap_or(rest);
    }
    out.push_str(rest);
    out
}

/// A position kept to report an error there: its column is counted only if it is used.
#[derive(Debug, Clone, Copy)]
struct Mark {
    line: usize,
    line_start: usize,
    pos: usize,
}

struct Parser<'a> {
    text: &'a str,
    /// Byte offset of the next character.
    pos: usize,
    line: usize,
    /// Byte offset where the current line starts.
    line_start: usize,
    /// The last position whose column was counted, and that column: the next count starts
    /// there, so no character of a line is counted twice.
    counted_pos: usize,
    counted_column: usize,
    file: &'a Path,
    expand: bool,
    /// The key whose value is being read: errors inside a value name it.
    key: Option<&'a str>,
    /// How many `${NAME:-` defaults enclose the position: bounded, so that a hostile file
    /// cannot overflow the stack of this parser or of the expander that walks the result.
    default_depth: usize,
    /// Characters counted for columns, for the test that bounds the parser's work.
    #[cfg(test)]
    column_work: usize,
}

/// The bytes that end a run of literal text, by context.
type Stops = [bool; 256];

const fn stops(bytes: &[u8]) -> Stops {
    let mut table = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] = true;
        i += 1;
    }
    table
}

/// Unquoted: whitespace ends the value, quotes and escapes start a piece.
const UNQUOTED: Stops = stops(b"\n \t'\"\\$");
const UNQUOTED_LITERAL: Stops = stops(b"\n \t'\"\\");
const SINGLE_QUOTED: Stops = stops(b"'");
const DOUBLE_QUOTED: Stops = stops(b"\"\\$");
const DOUBLE_QUOTED_LITERAL: Stops = stops(b"\"\\");
/// How deep `${A:-${B:-…}}` defaults may nest. Real files nest one or two.
pub(crate) const MAX_DEFAULT_NESTING: usize = 32;

/// The default of `${NAME:-default}`.
const DEFAULT: Stops = stops(b"}\\$\n\"");

/// Whether `b` continues a UTF-8 sequence (does not start a character).
fn is_continuation(b: u8) -> bool {
    b & 0xc0 == 0x80
}

fn chars_in(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| !is_continuation(b)).count()
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, file: &'a Path, expand: bool) -> Parser<'a> {
        Parser {
            text,
            pos: 0,
            line: 1,
            line_start: 0,
            counted_pos: 0,
            counted_column: 1,
            file,
            expand,
            key: None,
            default_depth: 0,
            #[cfg(test)]
            column_work: 0,
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes().get(self.pos + ahead).copied()
    }

    fn peek_char(&self) -> Option<char> {
        self.text.get(self.pos..)?.chars().next()
    }

    /// Steps over one character, whatever it is.
    fn bump_char(&mut self) -> Option<char> {
        let c = self.peek_char()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.line_start = self.pos;
        }
        Some(c)
    }

    /// Steps over the `\n` at the current position.
    fn newline(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_start = self.pos;
    }

    /// The text up to the next byte of `stops` (or the end), stepped over. `stops` holds
    /// only ASCII bytes, so that the run ends between characters; `\n` must be among them
    /// unless the run may span lines (`multiline`).
    fn run(&mut self, stops: &Stops, multiline: bool) -> &'a str {
        let start = self.pos;
        let rest = self.bytes().get(start..).unwrap_or_default();
        let len = rest
            .iter()
            .position(|&b| stops[usize::from(b)])
            .unwrap_or(rest.len());
        let run = rest.get(..len).unwrap_or_default();
        if multiline {
            for i in memchr::memchr_iter(b'\n', run) {
                self.line += 1;
                self.line_start = start + i + 1;
            }
        }
        self.pos = start + len;
        self.text.get(start..self.pos).unwrap_or_default()
    }

    /// The 1-based character column of the current position, counted from the last
    /// position counted on this line: a line is counted once however many columns are
    /// asked of it (positions are only ever asked in increasing order).
    fn column(&mut self) -> usize {
        if self.counted_pos < self.line_start {
            self.counted_pos = self.line_start;
            self.counted_column = 1;
        }
        let counted = self
            .bytes()
            .get(self.counted_pos..self.pos)
            .unwrap_or_default();
        #[cfg(test)]
        {
            self.column_work += counted.len();
        }
        self.counted_column += chars_in(counted);
        self.counted_pos = self.pos;
        self.counted_column
    }

    fn mark(&self) -> Mark {
        Mark {
            line: self.line,
            line_start: self.line_start,
            pos: self.pos,
        }
    }

    /// The column of a mark: counted only for an error.
    fn column_of(&self, at: Mark) -> usize {
        chars_in(self.bytes().get(at.line_start..at.pos).unwrap_or_default()) + 1
    }

    fn error_at(&self, line: usize, column: usize, message: impl Into<String>) -> EnvError {
        let message = message.into();
        EnvError::Syntax {
            file: self.file.to_path_buf(),
            line,
            column,
            message: match self.key {
                Some(key) => format!("in `{}`: {message}", shown_name(key)),
                None => message,
            },
        }
    }

    fn error_at_mark(&self, at: Mark, message: impl Into<String>) -> EnvError {
        self.error_at(at.line, self.column_of(at), message)
    }

    fn error_here(&mut self, message: impl Into<String>) -> EnvError {
        let (line, column) = (self.line, self.column());
        self.error_at(line, column, message)
    }

    /// The byte length of the whitespace character at the current position, `\n` aside.
    fn inline_space(&self) -> Option<usize> {
        match self.peek()? {
            b'\n' => None,
            b' ' | b'\t' | 0x0b | 0x0c | b'\r' => Some(1),
            b if b.is_ascii() => None,
            _ => self
                .peek_char()
                .filter(|c| c.is_whitespace())
                .map(char::len_utf8),
        }
    }

    fn skip_inline_space(&mut self) {
        while let Some(n) = self.inline_space() {
            self.pos += n;
        }
    }

    fn skip_to_line_end(&mut self) {
        let rest = self.bytes().get(self.pos..).unwrap_or_default();
        self.pos += memchr::memchr(b'\n', rest).unwrap_or(rest.len());
    }

    /// A run of characters up to whitespace or `=`: what the user meant as a key.
    fn key_token(&mut self) -> &'a str {
        let start = self.pos;
        // Letters, digits and `_` (every valid key) first, a byte at a time.
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.pos += 1;
        }
        while let Some(b) = self.peek() {
            if b == b'=' || b == b'#' || b == b'\n' || self.inline_space().is_some() {
                break;
            }
            self.pos += self.peek_char().map_or(1, char::len_utf8);
        }
        self.text.get(start..self.pos).unwrap_or_default()
    }

    fn next_entry(&mut self) -> Result<Option<Entry<'a>>, EnvError> {
        self.key = None;
        loop {
            self.skip_inline_space();
            match self.peek() {
                None => return Ok(None),
                Some(b'\n') => self.newline(),
                Some(b'#') => self.skip_to_line_end(),
                Some(_) => break,
            }
        }
        let (mut line, mut column) = (self.line, self.column());
        let mut key = self.key_token();
        self.skip_inline_space();
        if key == "export" && self.peek() != Some(b'=') {
            (line, column) = (self.line, self.column());
            key = self.key_token();
            self.skip_inline_space();
        }
        if key.is_empty() {
            return Err(self.error_here("expected a variable name"));
        }
        if !is_identifier(key) {
            return Err(EnvError::InvalidKey {
                file: self.file.to_path_buf(),
                line,
                column,
                key: shown_name(key),
            });
        }
        if self.peek() != Some(b'=') {
            // A line without `=` is often a pasted secret: show only its start.
            return Err(self.error_here(format!(
                "expected `=` after `{}` (a line of its own must be `KEY=value` or a `#` comment)",
                redact_token(key)
            )));
        }
        self.pos += 1;
        self.skip_inline_space();
        self.key = Some(key);
        let template = match self.peek() {
            None | Some(b'\n') => Template::default(),
            // dotenvy: `KEY=` followed by a comment is empty.
            Some(b'#') => {
                self.skip_to_line_end();
                Template::default()
            }
            Some(_) => self.value()?,
        };
        Ok(Some(Entry {
            key,
            line,
            column,
            end_line: self.line,
            template,
        }))
    }

    fn value(&mut self) -> Result<Template, EnvError> {
        let mut out = Builder::default();
        let expand = self.expand;
        loop {
            let stops = if expand { &UNQUOTED } else { &UNQUOTED_LITERAL };
            out.push_str(self.run(stops, false));
            match self.peek() {
                None | Some(b'\n') => break,
                Some(b' ' | b'\t') => {
                    self.skip_inline_space();
                    match self.peek() {
                        None | Some(b'\n') => {}
                        Some(b'#') => self.skip_to_line_end(),
                        Some(_) => return Err(self.error_here(
                            "unexpected text after the value: quote a value that contains spaces",
                        )),
                    }
                    break;
                }
                Some(b'\'') => self.single_quoted(&mut out)?,
                Some(b'"') => self.double_quoted(&mut out)?,
                Some(b'\\') => {
                    let at = self.mark();
                    self.pos += 1;
                    match self.bump_char() {
                        Some(e @ ('\\' | '\'' | '"' | '$' | ' ')) => out.push(e),
                        Some('n') => out.push('\n'),
                        _ => return Err(self.error_at_mark(at, "invalid escape sequence")),
                    }
                }
                // `$`, the only other byte that ends the run (when expanding).
                Some(_) => self.reference(&mut out, false)?,
            }
        }
        Ok(out.into_template())
    }

    fn single_quoted(&mut self, out: &mut Builder) -> Result<(), EnvError> {
        let at = self.mark();
        self.pos += 1;
        let text = self.run(&SINGLE_QUOTED, true);
        if self.peek().is_none() {
            return Err(self.error_at_mark(at, "unterminated single quote"));
        }
        self.pos += 1;
        out.push_str(text);
        Ok(())
    }

    fn double_quoted(&mut self, out: &mut Builder) -> Result<(), EnvError> {
        let at = self.mark();
        self.pos += 1;
        // Room for the text up to the next `"` at once (escapes only shorten it).
        let rest = self.bytes().get(self.pos..).unwrap_or_default();
        out.reserve(memchr::memchr(b'"', rest).unwrap_or(0));
        let expand = self.expand;
        loop {
            let stops = if expand {
                &DOUBLE_QUOTED
            } else {
                &DOUBLE_QUOTED_LITERAL
            };
            out.push_str(self.run(stops, true));
            match self.peek() {
                None => return Err(self.error_at_mark(at, "unterminated double quote")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    let escape = self.mark();
                    self.pos += 1;
                    match self.bump_char() {
                        Some(e @ ('\\' | '\'' | '"' | '$' | ' ')) => out.push(e),
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some('r') => out.push('\r'),
                        _ => return Err(self.error_at_mark(escape, "invalid escape sequence")),
                    }
                }
                // `$`, the only other byte that ends the run (when expanding).
                Some(_) => self.reference(out, true)?,
            }
        }
    }

    /// At a `$`: a reference, or a literal `$` when no name follows.
    fn reference(&mut self, out: &mut Builder, in_double: bool) -> Result<(), EnvError> {
        match self.peek_at(1) {
            Some(b'{') => {
                let (line, column) = (self.line, self.column());
                self.pos += 2;
                let name = self.name();
                if name.is_empty() {
                    return Err(self.error_at(
                        line,
                        column,
                        "`${` must be followed by a variable name",
                    ));
                }
                let default = match self.peek() {
                    Some(b'}') => {
                        self.pos += 1;
                        None
                    }
                    Some(b':') if self.peek_at(1) == Some(b'-') => {
                        if self.default_depth >= MAX_DEFAULT_NESTING {
                            return Err(self.error_at(
                                line,
                                column,
                                format!(
                                    "`${{NAME:-default}}` nested more than {MAX_DEFAULT_NESTING} deep"
                                ),
                            ));
                        }
                        self.pos += 2;
                        self.default_depth += 1;
                        let default = self.default_value(line, column, in_double);
                        self.default_depth -= 1;
                        Some(default?)
                    }
                    None | Some(b'\n' | b'"') => {
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
                    name: name.to_owned(),
                    braced: true,
                    default,
                    line,
                    column,
                });
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let (line, column) = (self.line, self.column());
                self.pos += 1;
                let name = self.name();
                out.reference(Reference {
                    name: name.to_owned(),
                    braced: false,
                    default: None,
                    line,
                    column,
                });
            }
            _ => {
                self.pos += 1;
                out.push('$');
            }
        }
        Ok(())
    }

    fn name(&mut self) -> &'a str {
        let start = self.pos;
        if self
            .peek()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        {
            while self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
            {
                self.pos += 1;
            }
        }
        self.text.get(start..self.pos).unwrap_or_default()
    }

    /// The default of `${NAME:-default}`, up to the matching `}`. It may hold references
    /// and, inside double quotes, escapes.
    fn default_value(
        &mut self,
        line: usize,
        column: usize,
        in_double: bool,
    ) -> Result<Pieces, EnvError> {
        let mut out = Builder::default();
        loop {
            out.push_str(self.run(&DEFAULT, false));
            match self.peek() {
                None => return Err(self.error_at(line, column, "unterminated `${`")),
                Some(b'\n') if !in_double => {
                    return Err(self.error_at(line, column, "unterminated `${`"))
                }
                Some(b'"') if in_double => {
                    return Err(self.error_at(line, column, "unterminated `${`"))
                }
                Some(b'\n') => {
                    self.newline();
                    out.push('\n');
                }
                Some(b'"') => {
                    self.pos += 1;
                    out.push('"');
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(out.finish());
                }
                Some(b'\\') => {
                    let escape = self.mark();
                    self.pos += 1;
                    match self.bump_char() {
                        Some(e @ ('\\' | '\'' | '"' | '$' | ' ' | '}')) => out.push(e),
                        Some('n') => out.push('\n'),
                        _ => return Err(self.error_at_mark(escape, "invalid escape sequence")),
                    }
                }
                // `$`, the only other byte that ends the run.
                Some(_) => self.reference(&mut out, in_double)?,
            }
        }
    }
}

pub(crate) fn is_identifier(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && bytes.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Collects literal text and references.
#[derive(Default)]
struct Builder {
    literal: String,
    refs: Vec<(usize, Reference)>,
}

impl Builder {
    fn push(&mut self, c: char) {
        self.literal.push(c);
    }

    fn push_str(&mut self, text: &str) {
        self.literal.push_str(text);
    }

    fn reserve(&mut self, additional: usize) {
        self.literal.reserve(additional);
    }

    fn reference(&mut self, r: Reference) {
        // Most values hold one reference: no room for more until a second comes.
        if self.refs.is_empty() {
            self.refs.reserve_exact(1);
        }
        self.refs.push((self.literal.len(), r));
    }

    fn finish(self) -> Pieces {
        Pieces {
            text: self.literal,
            refs: self.refs,
        }
    }

    fn into_template(self) -> Template {
        if self.refs.is_empty() {
            Template::Text(self.literal)
        } else {
            Template::Pieces(self.finish())
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `text`, returning the entries' keys and the characters counted for columns.
    fn parse_counting(text: &str) -> (Vec<String>, usize) {
        let file = Path::new(".env.dev");
        let mut p = Parser::new(text, file, true);
        let mut keys = Vec::new();
        while let Ok(Some(entry)) = p.next_entry() {
            keys.push(entry.key.to_owned());
        }
        assert_eq!(p.peek(), None, "parses to the end");
        (keys, p.column_work)
    }

    #[test]
    fn columns_are_counted_once_per_line_however_many_positions_are_asked() {
        // Hostile shapes: one line of many references (each needs its column), many
        // defaults, long multi-byte lines, many entries.
        let n = 20_000;
        let cases = [
            format!("A=x\nB={}\n", "$A".repeat(n)),
            format!("A=x\nB=\"{}\"\n", "${A:-é}".repeat(n)),
            format!("A=\"{}\"\nB=${{A}}\n", "ünï\n".repeat(n)),
            "K=v\n".repeat(n),
            format!("A=x\n{}", "B=${A}${A} # é\n".repeat(n)),
        ];
        for text in &cases {
            let (keys, work) = parse_counting(text);
            assert!(!keys.is_empty());
            assert!(
                work <= text.len(),
                "counted {work} bytes for columns in a text of {}",
                text.len()
            );
        }
    }

    #[test]
    fn positions_of_references_late_on_a_line() {
        let text = "A=x\nB=ü$A\"${A}\"é$A\n";
        let mut references = Vec::new();
        parse(text, Path::new(".env"), true, |e| {
            if let Template::Pieces(pieces) = e.template {
                for (_, r) in pieces.refs {
                    references.push((r.line, r.column));
                }
            }
        })
        .expect("parses");
        assert_eq!(references, [(2, 4), (2, 7), (2, 13)]);
    }
}
