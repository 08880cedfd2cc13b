//! Numeric CSV, record by record: the rules, the one parser that both CSV readers use (the
//! in-memory [`table`](crate::table) and the streamed [`CsvSource`]), and [`CsvSource`], a
//! [`ChunkSource`] that reads a file chunk by chunk.
//!
//! The rules (the default [`ReadOptions`]):
//!
//! - fields are separated by a comma, a tab or a semicolon, decided from the first non-blank
//!   line by [`Delimiter::detect`] (a comma if that line has one outside quotes, else the tab
//!   or semicolon that splits it into more fields), or given;
//! - fields may be quoted as in RFC 4180 ([`split_fields`]): a quoted field may hold the
//!   delimiter and writes a quote as `""`; every field is trimmed. A record is one line: a
//!   line break inside quotes is not supported (an unclosed quote is an error);
//! - blank lines are skipped; the first non-blank line is a header when any of its fields is
//!   neither a number nor a missing value (or as [`ReadOptions::header`] says);
//! - every data line has as many fields as the first line, each a finite number. A missing
//!   value ([`is_missing`]: empty, `NA`, NaN) is a [`RecordError::Missing`], drops the row
//!   with [`Missing::Drop`], or is read as NaN with [`Missing::Keep`]; ±∞ is an error.
//!
//! A UTF-8 byte-order mark opening the file is ignored. A plain comma-separated file without
//! quotes is split and parsed exactly as by `str::split` and `f64::from_str`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use em_core::{ChunkSource, EmError};
use nalgebra::DMatrix;

use crate::error::ReadError;
use crate::fast::block::{Numbered, parse_block};
use crate::fast::blocks::Blocks;
use crate::input::FileInput;
use std::collections::VecDeque;

use std::borrow::Cow;

/// The field delimiter of a CSV file.
///
/// ```
/// use em_io::csv::Delimiter;
/// assert_eq!(Delimiter::detect("a\tb\tc"), '\t');
/// assert_eq!(Delimiter::detect("\"x;y\",z"), ',');
/// assert_eq!(Delimiter::detect("x;y;z"), ';');
/// assert_eq!(Delimiter::Semicolon.resolve("1,2"), ';');
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delimiter {
    /// Decided from the first non-blank line by [`Delimiter::detect`] (the default).
    #[default]
    Auto,
    /// `,`
    Comma,
    /// A tab.
    Tab,
    /// `;`
    Semicolon,
}

impl Delimiter {
    /// The delimiters [`Delimiter::detect`] chooses from, comma first.
    pub const CANDIDATES: [char; 3] = [',', '\t', ';'];

    /// The delimiter of a file whose first non-blank line is `first`: itself when given,
    /// else [`Delimiter::detect`].
    pub fn resolve(self, first: &str) -> char {
        match self {
            Delimiter::Auto => Self::detect(first),
            Delimiter::Comma => ',',
            Delimiter::Tab => '\t',
            Delimiter::Semicolon => ';',
        }
    }

    /// The delimiter of a file whose first non-blank line (its header or first record) is
    /// `first`: a comma if commas outside double quotes split the line into two fields or more
    /// (so every file read before delimiters were detected is read as before); otherwise the
    /// one of tab and semicolon that splits it into the most fields, at least two (a tie goes
    /// to the tab); a line that none splits is one comma-separated column.
    pub fn detect(first: &str) -> char {
        if count_fields(first, ',') >= 2 {
            return ',';
        }
        let (tab, semicolon) = (count_fields(first, '\t'), count_fields(first, ';'));
        if tab >= 2 && tab >= semicolon {
            '\t'
        } else if semicolon >= 2 {
            ';'
        } else {
            ','
        }
    }
}

/// The number of fields `delimiter` splits `line` into, outside double quotes.
fn count_fields(line: &str, delimiter: char) -> usize {
    let mut quoted = false;
    let mut n = 1;
    for c in line.chars() {
        if c == '"' {
            quoted = !quoted;
        } else if c == delimiter && !quoted {
            n += 1;
        }
    }
    n
}

/// What to do with a data row that has a missing value (an empty field, `NA`, or NaN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Missing {
    /// Stop with a [`RecordError::Missing`] naming the line and column (the default of the
    /// library's readers, so that a NaN never reaches a model that did not ask for one; the
    /// `em` command line reads with [`Missing::Keep`] unless told otherwise).
    #[default]
    Error,
    /// Drop the row (the readers count the rows dropped).
    Drop,
    /// Keep the row, with `f64::NAN` for every missing value: for models that handle missing
    /// values. Exactly the tokens that [`is_missing`] names become NaN; any other bad field
    /// (text, ±∞) is still an error.
    ///
    /// ```
    /// use em_io::csv::{Missing, ReadOptions};
    /// let options = ReadOptions { missing: Missing::Keep, ..ReadOptions::default() };
    /// let t = em_io::table::parse_with("a,b\n1,NA\n,4\n", "t.csv", &options)?;
    /// assert_eq!(t.x.nrows(), 2);
    /// assert!(t.x[(0, 1)].is_nan() && t.x[(1, 0)].is_nan());
    /// assert_eq!((t.x[(0, 0)], t.x[(1, 1)], t.dropped), (1.0, 4.0, 0));
    /// # Ok::<(), em_io::ReadError>(())
    /// ```
    Keep,
}

/// How the readers read CSV text; the default is the rules of the [module docs](self).
///
/// ```
/// use em_io::csv::{Delimiter, Missing, ReadOptions};
/// let options = ReadOptions { delimiter: Delimiter::Semicolon, header: Some(true), missing: Missing::Drop };
/// let t = em_io::table::parse_with("2019;2020\n1;2\n3;NA\n", "t.csv", &options)?;
/// assert_eq!(t.columns, ["2019", "2020"]);
/// assert_eq!(t.x, nalgebra::dmatrix![1.0, 2.0]);
/// assert_eq!(t.dropped, 1);
/// # Ok::<(), em_io::ReadError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadOptions {
    /// The field delimiter (default: detected).
    pub delimiter: Delimiter,
    /// Whether the first non-blank line is a header: `None` (the default) decides by
    /// [`is_header`], `Some(true)` forces one (a numeric header such as `2019,2020`),
    /// `Some(false)` reads that line as data.
    pub header: Option<bool>,
    /// Rows with missing values: an error (the default), dropped, or kept with NaN.
    pub missing: Missing,
}

/// Whether a cleaned field is a missing value: empty, `NA`, or a spelling of NaN (`nan`,
/// `NaN`, `NAN`, …, anything that parses to NaN).
///
/// ```
/// use em_io::csv::is_missing;
/// assert!(is_missing("") && is_missing("NA") && is_missing("nan") && is_missing("NaN"));
/// assert!(!is_missing("0") && !is_missing("inf") && !is_missing("x"));
/// ```
pub fn is_missing(field: &str) -> bool {
    field.is_empty() || field == "NA" || field.parse::<f64>().is_ok_and(f64::is_nan)
}

/// One field, trimmed and with surrounding double quotes removed.
///
/// ```
/// assert_eq!(em_io::csv::clean_field(r#" "1.5" "#), "1.5");
/// ```
pub fn clean_field(field: &str) -> &str {
    let f = field.trim();
    f.strip_prefix('"')
        .and_then(|g| g.strip_suffix('"'))
        .map(str::trim)
        .unwrap_or(f)
}

/// Splits one line into cleaned fields at `delimiter`, following RFC 4180's quoting: a field
/// that starts with a double quote (after blanks) runs to the matching closing quote, may
/// hold the delimiter, and writes a quote as `""`; text after its closing quote is kept. Every
/// field is trimmed of surrounding whitespace, inside the quotes too. A line without quotes is
/// simply split. A quote left open at the end of the line is an error naming the zero-based
/// field: a line break inside quotes is not supported (every record is one line).
///
/// ```
/// use em_io::csv::split_fields;
/// let mut fields = Vec::new();
/// split_fields(r#"a, "b, ""c""" ,d"#, ',', &mut fields).unwrap();
/// assert_eq!(fields, ["a", r#"b, "c""#, "d"]);
/// fields.clear();
/// assert_eq!(split_fields("1,\"2", ',', &mut fields), Err(1));
/// ```
pub fn split_fields<'a>(
    line: &'a str,
    delimiter: char,
    out: &mut Vec<Cow<'a, str>>,
) -> Result<(), usize> {
    if !line.contains('"') {
        out.extend(line.split(delimiter).map(|f| Cow::Borrowed(f.trim())));
        return Ok(());
    }
    let mut rest = line;
    loop {
        let column = out.len();
        let start = rest.trim_start_matches(|c: char| c.is_whitespace() && c != delimiter);
        let (field, next) = if let Some(quoted) = start.strip_prefix('"') {
            let mut value = String::new();
            let mut s = quoted;
            loop {
                let Some(i) = s.find('"') else {
                    return Err(column);
                };
                value.push_str(&s[..i]);
                s = &s[i + 1..];
                match s.strip_prefix('"') {
                    Some(r) => {
                        value.push('"');
                        s = r;
                    }
                    None => break,
                }
            }
            let (tail, next) = match s.find(delimiter) {
                Some(i) => (&s[..i], Some(&s[i + delimiter.len_utf8()..])),
                None => (s, None),
            };
            value.push_str(tail);
            (Cow::Owned(value.trim().to_string()), next)
        } else {
            match rest.find(delimiter) {
                Some(i) => (
                    Cow::Borrowed(rest[..i].trim()),
                    Some(&rest[i + delimiter.len_utf8()..]),
                ),
                None => (Cow::Borrowed(rest.trim()), None),
            }
        };
        out.push(field);
        match next {
            Some(r) => rest = r,
            None => return Ok(()),
        }
    }
}

/// Whether a first line is a header: any of its non-empty (cleaned) fields is not a number.
/// An empty field is a missing value, not a column name.
pub fn is_header(line: &str) -> bool {
    is_header_with(line, ',')
}

/// [`is_header`] for fields separated by `delimiter` (quoted as [`split_fields`] reads them):
/// any field that is neither a number nor a missing value ([`is_missing`]) makes the line a
/// header.
///
/// ```
/// use em_io::csv::is_header_with;
/// assert!(is_header_with("a\tb", '\t'));
/// assert!(!is_header_with("1;NA;3", ';'));
/// ```
pub fn is_header_with(line: &str, delimiter: char) -> bool {
    let mut fields = Vec::new();
    if split_fields(line, delimiter, &mut fields).is_err() {
        return true;
    }
    fields
        .iter()
        .any(|f| !is_missing(f) && f.parse::<f64>().is_err())
}

/// What is wrong with one CSV record.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RecordError {
    /// The record has `found` fields instead of the expected number.
    Ragged {
        /// Fields in the record.
        found: usize,
    },
    /// Field `column` (zero-based) is not a number; `field` is its cleaned text.
    NotANumber {
        /// Zero-based field index.
        column: usize,
        /// The field as read (cleaned).
        field: String,
    },
    /// Field `column` (zero-based) parses to ±∞.
    NonFinite {
        /// Zero-based field index.
        column: usize,
        /// The field as read (cleaned).
        field: String,
        /// The value it parses to.
        value: f64,
    },
    /// Field `column` (zero-based) is a missing value ([`is_missing`]: empty, `NA`, NaN),
    /// which the models do not support yet. The first missing field of the record is named,
    /// and only when no field of the record is otherwise wrong.
    Missing {
        /// Zero-based field index.
        column: usize,
        /// The field as read (cleaned).
        field: String,
    },
    /// Field `column` (zero-based) opens a double quote that the line does not close.
    UnclosedQuote {
        /// Zero-based field index.
        column: usize,
    },
}

/// Parses one comma-separated data line of `width` fields, appending the values to `out`
/// (left unchanged on error): [`parse_record_with`] with a comma.
///
/// ```
/// use em_io::csv::{parse_record, RecordError};
/// let mut v = Vec::new();
/// parse_record(" 1, \"2e1\"", 2, &mut v)?;
/// assert_eq!(v, [1.0, 20.0]);
/// assert!(matches!(parse_record("1,x", 2, &mut v), Err(RecordError::NotANumber { column: 1, .. })));
/// assert!(matches!(parse_record("NA,2", 2, &mut v), Err(RecordError::Missing { column: 0, .. })));
/// # Ok::<(), RecordError>(())
/// ```
pub fn parse_record(line: &str, width: usize, out: &mut Vec<f64>) -> Result<(), RecordError> {
    parse_record_with(line, ',', width, out)
}

/// Parses one data line of `width` fields separated by `delimiter` (quoted as
/// [`split_fields`] reads them), appending the values to `out` (left unchanged on error).
///
/// A field that is not a number, or is ±∞, is an error; so is a missing value
/// ([`RecordError::Missing`]), reported only when the record has nothing else wrong, so that a
/// reader dropping rows with missing values still stops at a bad field.
///
/// ```
/// use em_io::csv::parse_record_with;
/// let mut v = Vec::new();
/// parse_record_with("1\t\"2\"", '\t', 2, &mut v)?;
/// assert_eq!(v, [1.0, 2.0]);
/// # Ok::<(), em_io::csv::RecordError>(())
/// ```
pub fn parse_record_with(
    line: &str,
    delimiter: char,
    width: usize,
    out: &mut Vec<f64>,
) -> Result<(), RecordError> {
    parse_record_keeping(line, delimiter, width, false, out)
}

/// [`parse_record_with`], but with `keep` a missing value is read as `f64::NAN`
/// ([`Missing::Keep`]) instead of being a [`RecordError::Missing`].
pub(crate) fn parse_record_keeping(
    line: &str,
    delimiter: char,
    width: usize,
    keep: bool,
    out: &mut Vec<f64>,
) -> Result<(), RecordError> {
    with_fields(line, delimiter, width, |fields| {
        parse_values(fields, None, keep, out)
    })
}

/// Splits one data line of `width` fields separated by `delimiter` (quoted as
/// [`split_fields`] reads them) and hands the cleaned fields to `parse`: the one place that
/// splits a record and checks its width, for every record parser.
fn with_fields(
    line: &str,
    delimiter: char,
    width: usize,
    parse: impl FnOnce(&mut dyn Iterator<Item = &str>) -> Result<(), RecordError>,
) -> Result<(), RecordError> {
    if !line.contains('"') {
        let found = line.split(delimiter).count();
        if found != width {
            return Err(RecordError::Ragged { found });
        }
        return parse(&mut line.split(delimiter).map(str::trim));
    }
    let mut fields = Vec::with_capacity(width);
    split_fields(line, delimiter, &mut fields)
        .map_err(|column| RecordError::UnclosedQuote { column })?;
    if fields.len() != width {
        return Err(RecordError::Ragged {
            found: fields.len(),
        });
    }
    parse(&mut fields.iter().map(|f| f.as_ref()))
}

/// Parses cleaned fields onto `out` (left unchanged on error): all of them in order, or with
/// `slots` those it selects (`slots[j]` is the output position of field `j`, or `None` to
/// skip it unparsed). With `keep`, a missing value is NaN; otherwise it is a
/// [`RecordError::Missing`], reported only when no field has another error.
fn parse_values(
    fields: &mut dyn Iterator<Item = &str>,
    slots: Option<&[Option<usize>]>,
    keep: bool,
    out: &mut Vec<f64>,
) -> Result<(), RecordError> {
    let start = out.len();
    if let Some(slots) = slots {
        out.resize(start + slots.iter().flatten().count(), 0.0);
    }
    let mut missing = None;
    for (j, field) in fields.enumerate() {
        let slot = match slots {
            None => None,
            Some(slots) => match slots.get(j).copied().flatten() {
                Some(slot) => Some(slot),
                None => continue,
            },
        };
        let value = match parse_field(j, field) {
            Ok(Some(v)) => v,
            Ok(None) if keep => f64::NAN,
            Ok(None) => {
                missing.get_or_insert((j, field));
                continue;
            }
            Err(error) => {
                out.truncate(start);
                return Err(error);
            }
        };
        match slot {
            Some(slot) => out[start + slot] = value,
            None => out.push(value),
        }
    }
    if let Some((column, field)) = missing {
        out.truncate(start);
        return Err(RecordError::Missing {
            column,
            field: field.to_string(),
        });
    }
    Ok(())
}

/// One field in column `column`: its value, `None` for a missing-value token (empty, `NA`,
/// NaN), or the error for ±∞ or text.
fn parse_field(column: usize, field: &str) -> Result<Option<f64>, RecordError> {
    match field.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        Ok(v) if v.is_nan() => Ok(None),
        Ok(value) => Err(RecordError::NonFinite {
            column,
            field: field.to_string(),
            value,
        }),
        Err(_) if is_missing(field) => Ok(None),
        Err(_) => Err(RecordError::NotANumber {
            column,
            field: field.to_string(),
        }),
    }
}

/// Parses the fields of one data line of `width` fields separated by `delimiter` (quoted as
/// [`split_fields`] reads them) that `slots` selects: `slots[j]` is the output position of
/// field `j`, or `None` to skip it unparsed. Appends one value per selected field to `out` in
/// output order (left unchanged on error); errors name the field's position in the line. Only
/// selected fields can be missing values ([`RecordError::Missing`], reported as
/// [`parse_record_with`] does, or NaN with `keep`).
pub(crate) fn parse_selected(
    line: &str,
    delimiter: char,
    width: usize,
    slots: &[Option<usize>],
    keep: bool,
    out: &mut Vec<f64>,
) -> Result<(), RecordError> {
    with_fields(line, delimiter, width, |fields| {
        parse_values(fields, Some(slots), keep, out)
    })
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Ragged { found } => write!(
                f,
                "ragged row with {found} field{}",
                if *found == 1 { "" } else { "s" }
            ),
            RecordError::NotANumber { field, .. } => write!(f, "{field:?} is not a number"),
            RecordError::NonFinite { field, .. } => write!(
                f,
                "{field:?} is not a finite number (NaN and infinities are not allowed)"
            ),
            RecordError::Missing { field, .. } => write!(
                f,
                "missing value {}, refused by --missing error (the default, --missing model, fits the values that were observed; --missing drop drops the rows that have missing values)",
                if field.is_empty() {
                    "(empty field)".to_string()
                } else {
                    format!("{field:?}")
                }
            ),
            RecordError::UnclosedQuote { .. } => write!(
                f,
                "a double quote is not closed on this line (a quoted field must end on its line: line breaks inside quotes are not supported)"
            ),
        }
    }
}

impl std::error::Error for RecordError {}

/// The layout the first non-blank line fixes: the column names (the header's, or `x0`, `x1`, …)
/// and the number of columns every record must have. Both readers take it from
/// [`Layout::new`] and parse records with [`Layout::record`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    pub(crate) columns: Vec<String>,
    pub(crate) has_header: bool,
    /// When only some columns are read ([`Layout::select`]): the output position of every
    /// file column (`None`: skipped), and the names of the columns read, in output order.
    pub(crate) selected: Option<(Vec<Option<usize>>, Vec<String>)>,
    /// The one-based line of the first non-blank line (named in ragged-row messages).
    pub(crate) first_line: u64,
    /// The field delimiter, given or detected from the first line.
    pub(crate) delimiter: char,
    /// What a missing value does.
    pub(crate) missing: Missing,
}

impl Layout {
    /// The layout of a file whose first non-blank line, `text`, is on line `first_line`,
    /// read with `options`; a header with an unclosed quote is an error naming `origin`.
    pub(crate) fn new(
        text: &str,
        first_line: u64,
        options: &ReadOptions,
        origin: &str,
    ) -> Result<Layout, ReadError> {
        let delimiter = options.delimiter.resolve(text);
        let has_header = options
            .header
            .unwrap_or_else(|| is_header_with(text, delimiter));
        let mut fields = Vec::new();
        let width = match split_fields(text, delimiter, &mut fields) {
            Ok(()) => fields.len(),
            Err(column) if has_header => {
                let layout = Layout {
                    columns: Vec::new(),
                    has_header,
                    selected: None,
                    first_line,
                    delimiter,
                    missing: options.missing,
                };
                let e = RecordError::UnclosedQuote { column };
                return Err(layout.record_error(origin, first_line, 0, e));
            }
            // The record parser reports it, as for any data line.
            Err(_) => text.split(delimiter).count(),
        };
        let columns = if has_header {
            fields.into_iter().map(Cow::into_owned).collect()
        } else {
            (0..width).map(|j| format!("x{j}")).collect()
        };
        Ok(Layout {
            columns,
            has_header,
            selected: None,
            first_line,
            delimiter,
            missing: options.missing,
        })
    }

    /// Reads only the columns `selection` chooses; errors name `origin`.
    pub(crate) fn select(
        &mut self,
        selection: &crate::Selection,
        origin: &str,
    ) -> Result<(), ReadError> {
        if selection.is_all() {
            return Ok(());
        }
        let keep = selection
            .resolve(&self.columns)
            .map_err(|error| ReadError::Select {
                origin: origin.to_string(),
                error,
            })?;
        let mut slots = vec![None; self.columns.len()];
        for (out, &j) in keep.iter().enumerate() {
            slots[j] = Some(out);
        }
        let names = keep.iter().map(|&j| self.columns[j].clone()).collect();
        self.selected = Some((slots, names));
        Ok(())
    }

    /// Number of columns in the file (every record must have as many fields).
    pub(crate) fn width(&self) -> usize {
        self.columns.len()
    }

    /// Number of columns read (the file's width unless [`Layout::select`] chose some).
    pub(crate) fn out_width(&self) -> usize {
        self.selected
            .as_ref()
            .map_or(self.columns.len(), |(_, names)| names.len())
    }

    /// The names of the columns read, in output order.
    pub(crate) fn out_columns(&self) -> &[String] {
        self.selected
            .as_ref()
            .map_or(&self.columns, |(_, names)| names)
    }

    /// Parses the record `text` (on line `line`, the `row`-th data row, both counted from the
    /// file's start) onto `out` (left unchanged on error or when the row is dropped); errors
    /// name `origin`, the line, the column and its header name. Returns `false` for a row
    /// dropped for a missing value ([`Missing::Drop`]).
    #[inline]
    pub(crate) fn record(
        &self,
        origin: &str,
        text: &str,
        line: u64,
        row: usize,
        out: &mut Vec<f64>,
    ) -> Result<bool, ReadError> {
        self.parse_row(text, out)
            .map_err(|e| self.record_error(origin, line, row, e))
    }

    /// The exact (slow) parse of one record behind [`Layout::parse_row`](crate::fast): the
    /// rules of [`parse_record_with`], with the missing values handled as [`Layout::missing`]
    /// says. `Ok(false)`: the row is dropped.
    pub(crate) fn parse_row_exact(
        &self,
        text: &str,
        out: &mut Vec<f64>,
    ) -> Result<bool, RecordError> {
        let keep = self.missing == Missing::Keep;
        let parsed = match &self.selected {
            None => parse_record_keeping(text, self.delimiter, self.width(), keep, out),
            Some((slots, _)) => {
                parse_selected(text, self.delimiter, self.width(), slots, keep, out)
            }
        };
        match parsed {
            Ok(()) => Ok(true),
            Err(RecordError::Missing { .. }) if self.missing == Missing::Drop => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The [`ReadError`] for `error` in the record on line `line` (the `row`-th data row).
    #[cold]
    pub(crate) fn record_error(
        &self,
        origin: &str,
        line: u64,
        row: usize,
        error: RecordError,
    ) -> ReadError {
        let width = self.width();
        let (column, label) = match &error {
            RecordError::Ragged { found } => ((*found).min(width), None),
            RecordError::NotANumber { column, .. }
            | RecordError::NonFinite { column, .. }
            | RecordError::Missing { column, .. }
            | RecordError::UnclosedQuote { column } => {
                let name = self.columns.get(*column).filter(|name| !name.is_empty());
                (*column, name.filter(|_| self.has_header).cloned())
            }
        };
        ReadError::Record {
            origin: origin.to_string(),
            line,
            row,
            column,
            label,
            width,
            first_line: self.first_line,
            error: Box::new(error),
        }
    }
}

/// Lines of CSV text, as both readers see them: one at a time, numbered from 1, without the
/// line ending, and without a byte-order mark on line 1.
pub(crate) trait Lines {
    /// Moves to the next line and returns its number, or `None` at the end.
    fn advance(&mut self) -> Result<Option<u64>, ReadError>;

    /// The current line.
    fn text(&self) -> &str;

    /// Moves to the next line that is not blank (whitespace only) and returns its number.
    fn next_record(&mut self) -> Result<Option<u64>, ReadError> {
        while let Some(line) = self.advance()? {
            if !self.text().trim().is_empty() {
                return Ok(Some(line));
            }
        }
        Ok(None)
    }
}

/// The lines of a file (or any reader), read one at a time through a buffer: a line that is not
/// UTF-8 or a failed read is an error naming `origin` and the line.
#[derive(Debug)]
pub(crate) struct LineReader<R> {
    pub(crate) reader: BufReader<R>,
    pub(crate) origin: String,
    line: String,
    /// Number of the current line (the last one read).
    pub(crate) line_no: u64,
    /// Byte offsets, from where reading started, of the current line's start and of its end.
    pub(crate) line_start: u64,
    pub(crate) offset: u64,
}

impl<R: Read> LineReader<R> {
    pub(crate) fn new(reader: R, origin: impl Into<String>) -> Self {
        LineReader {
            reader: BufReader::with_capacity(1 << 16, reader),
            origin: origin.into(),
            line: String::new(),
            line_no: 0,
            line_start: 0,
            offset: 0,
        }
    }
}

impl<R: Read> LineReader<R> {
    /// The bytes read ahead of the current line's end, and the reader positioned after them:
    /// the rest of the input, for reading in blocks.
    pub(crate) fn into_rest(self) -> (Vec<u8>, R) {
        let rest = self.reader.buffer().to_vec();
        (rest, self.reader.into_inner())
    }
}

impl<R: Read> Lines for LineReader<R> {
    fn advance(&mut self) -> Result<Option<u64>, ReadError> {
        self.line.clear();
        let n = self.reader.read_line(&mut self.line).map_err(|e| {
            let (origin, line) = (self.origin.clone(), Some(self.line_no + 1));
            if e.kind() == std::io::ErrorKind::InvalidData {
                ReadError::NotUtf8 {
                    origin,
                    line,
                    offset: None,
                }
            } else {
                ReadError::Read {
                    origin,
                    line,
                    reason: e.to_string(),
                }
            }
        })?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        self.line_start = self.offset;
        self.offset += n as u64;
        let end = self.line.strip_suffix('\n').unwrap_or(&self.line);
        let end = end.strip_suffix('\r').unwrap_or(end).len();
        self.line.truncate(end);
        if self.line_no == 1 && self.line.starts_with('\u{feff}') {
            self.line.drain(..'\u{feff}'.len_utf8());
        }
        Ok(Some(self.line_no))
    }

    fn text(&self) -> &str {
        &self.line
    }
}

/// A numeric CSV file read chunk by chunk, for a streamed fit (`gmm`'s
/// `GaussianMixtureBuilder::fit_stream`, [`em_core::Em::fit_stream`]): one
/// observation per line (see the [module docs](self) for the rules), yielding `DMatrix<f64>`
/// chunks of exactly the requested number of rows (but the last).
///
/// Only the header is read when the source is opened; every value is validated as it is
/// read, by the parser of the in-memory [`table`](crate::table) reader. The text is read ahead
/// in blocks of whole lines (8 MiB), each parsed in parallel pieces on the current rayon pool;
/// rows are handed out, rows dropped counted and errors reported exactly when a line-by-line
/// reader would reach them. Errors are that
/// reader's [`ReadError`]s, converted to the [`EmError`] of the [`ChunkSource`] trait: a field
/// that is not a number is an [`EmError::Io`] naming the file, the line (1-based) and the
/// column (1-based); NaN or ±∞ is an [`EmError::NonFinite`] naming the observation by its
/// global (0-based) row and column. The input must be seekable (a file, not a pipe).
///
/// ```
/// use em_core::ChunkSource;
/// use em_io::csv::CsvSource;
/// let text = "a,b\n1,2\n\n3,4\n5,6\n";
/// let mut csv = CsvSource::new(std::io::Cursor::new(text), "t.csv")?;
/// assert_eq!(csv.columns(), ["a", "b"]);
/// csv.rewind()?;
/// let first = csv.next_chunk(2)?.unwrap();
/// assert_eq!(first, nalgebra::dmatrix![1.0, 2.0; 3.0, 4.0]);
/// assert_eq!(csv.next_chunk(2)?.unwrap(), nalgebra::dmatrix![5.0, 6.0]);
/// assert_eq!(csv.next_chunk(2)?, None);
/// # Ok::<(), em_core::EmError>(())
/// ```
#[derive(Debug)]
pub struct CsvSource<R> {
    lines: LineReader<R>,
    layout: Layout,
    /// Byte offset and 1-based line number of the first data line's start (after the header).
    data_start: u64,
    data_start_line: u64,
    /// Rows dropped for missing values since the last rewind.
    dropped: usize,
    values: Vec<f64>,
    /// The blocks of whole lines after the header, and the parsed pieces not yet handed out.
    ahead: Ahead,
}

/// The streamed reader's read-ahead: the text after the header is read in blocks of whole
/// lines and each block parsed in parallel pieces; `next_chunk` hands out their rows, and
/// counts their dropped rows and reports their first error exactly when a line-by-line reader
/// would have reached them.
#[derive(Debug, Default)]
struct Ahead {
    blocks: Blocks,
    /// The last block read (kept to reuse its allocation).
    buf: Vec<u8>,
    /// Parsed pieces in file order, with the data rows before each.
    pieces: VecDeque<(Numbered, usize)>,
    /// Rows of the front piece handed out, and its dropped rows counted.
    taken: usize,
    drops_counted: usize,
    /// The file line of the next block's first line; the data rows before it.
    next_line: u64,
    next_row: usize,
    /// The input is read to its end.
    done: bool,
}

impl Ahead {
    /// Ready to read a block starting on file line `line`.
    fn restart(&mut self, line: u64) {
        let buf = std::mem::take(&mut self.buf);
        *self = Ahead {
            buf,
            next_line: line,
            ..Ahead::default()
        };
    }

    /// Reads and parses the next block; `false` at the end of the input.
    fn fill<R: Read>(
        &mut self,
        reader: &mut R,
        layout: &Layout,
        origin: &str,
    ) -> Result<bool, ReadError> {
        if self.done {
            return Ok(false);
        }
        let more = self
            .blocks
            .next(reader, &mut self.buf)
            .map_err(|e| ReadError::Read {
                origin: origin.to_string(),
                line: Some(self.next_line),
                reason: e.to_string(),
            })?;
        if !more {
            self.done = true;
            return Ok(false);
        }
        for numbered in parse_block(&self.buf, layout, self.next_line) {
            self.next_line = numbered.first_line + numbered.piece.lines;
            let rows = numbered.piece.rows;
            self.pieces.push_back((numbered, self.next_row));
            self.next_row += rows;
        }
        Ok(true)
    }
}

impl CsvSource<FileInput> {
    /// Opens a CSV file, plain or gzip-compressed (recognised by its first bytes), reading its
    /// first line only.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, EmError> {
        Self::open_with(path, &ReadOptions::default())
    }

    /// [`CsvSource::open`] with [`ReadOptions`] (delimiter, header, missing values).
    pub fn open_with(path: impl AsRef<Path>, options: &ReadOptions) -> Result<Self, EmError> {
        Self::open_selected(path, options, &crate::Selection::default())
    }

    /// [`CsvSource::open_with`], reading only the columns `selection` chooses
    /// ([`crate::select`]).
    pub fn open_selected(
        path: impl AsRef<Path>,
        options: &ReadOptions,
        selection: &crate::Selection,
    ) -> Result<Self, EmError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let file = File::open(path)
            .and_then(FileInput::new)
            .map_err(|e| ReadError::Open {
                origin: origin.clone(),
                reason: e.to_string(),
            })?;
        CsvSource::with_selection(file, origin, options, selection)
    }
}

impl<R: Read + Seek> CsvSource<R> {
    /// A source reading `reader` from its start; `name` names it in errors. Reads the first
    /// non-blank line to find the header and the number of columns; a file with no such line is
    /// an [`EmError::Io`] ("the file is empty").
    pub fn new(reader: R, name: impl Into<String>) -> Result<Self, EmError> {
        Self::new_with(reader, name, &ReadOptions::default())
    }

    /// [`CsvSource::new`] with [`ReadOptions`] (delimiter, header, missing values).
    ///
    /// ```
    /// use em_core::ChunkSource;
    /// use em_io::csv::{CsvSource, Missing, ReadOptions};
    /// let options = ReadOptions { missing: Missing::Drop, ..ReadOptions::default() };
    /// let text = "a;b\n1;2\nNA;4\n5;6\n";
    /// let mut csv = CsvSource::new_with(std::io::Cursor::new(text), "t.csv", &options)?;
    /// csv.rewind()?;
    /// assert_eq!(csv.next_chunk(10)?.unwrap(), nalgebra::dmatrix![1.0, 2.0; 5.0, 6.0]);
    /// assert_eq!(csv.dropped_rows(), 1);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn new_with(
        reader: R,
        name: impl Into<String>,
        options: &ReadOptions,
    ) -> Result<Self, EmError> {
        Self::with_selection(reader, name, options, &crate::Selection::default())
    }

    /// [`CsvSource::new_with`], reading only the columns `selection` chooses
    /// ([`crate::select`]); a missing value matters only in a column read.
    ///
    /// ```
    /// use em_core::ChunkSource;
    /// use em_io::csv::{CsvSource, ReadOptions};
    /// let selection = em_io::Selection { columns: None, drop: vec!["name".into()] };
    /// let text = "\"name\";a;b\n;1;2\nNA;3;4\n";
    /// let options = ReadOptions::default();
    /// let cursor = std::io::Cursor::new(text);
    /// let mut csv = CsvSource::with_selection(cursor, "t.csv", &options, &selection)?;
    /// csv.rewind()?;
    /// assert_eq!(csv.columns(), ["a", "b"]);
    /// assert_eq!(csv.next_chunk(10)?.unwrap(), nalgebra::dmatrix![1.0, 2.0; 3.0, 4.0]);
    /// # Ok::<(), em_core::EmError>(())
    /// ```
    pub fn with_selection(
        reader: R,
        name: impl Into<String>,
        options: &ReadOptions,
        selection: &crate::Selection,
    ) -> Result<Self, EmError> {
        let mut lines = LineReader::new(reader, name);
        seek(&mut lines, 0, 0)?;
        let Some(first_line) = lines.next_record()? else {
            return Err(ReadError::Empty {
                origin: lines.origin,
            }
            .into());
        };
        let mut layout = Layout::new(lines.text(), first_line, options, &lines.origin)?;
        layout.select(selection, &lines.origin)?;
        let (data_start, data_start_line) = if layout.has_header {
            (lines.offset, first_line + 1)
        } else {
            (lines.line_start, first_line)
        };
        let mut s = CsvSource {
            lines,
            layout,
            data_start,
            data_start_line,
            dropped: 0,
            values: Vec::new(),
            ahead: Ahead::default(),
        };
        s.rewind()?;
        Ok(s)
    }

    /// Column names: the header's, or `x0`, `x1`, … without one.
    pub fn columns(&self) -> &[String] {
        self.layout.out_columns()
    }

    /// Number of columns (features) read.
    pub fn n_columns(&self) -> usize {
        self.layout.out_width()
    }

    /// Whether the first non-blank line is a header.
    pub fn has_header(&self) -> bool {
        self.layout.has_header
    }

    /// Rows dropped for missing values ([`Missing::Drop`]) since the last rewind: after a whole
    /// pass, those of the file.
    pub fn dropped_rows(&self) -> usize {
        self.dropped
    }

    /// The name used in errors.
    pub fn name(&self) -> &str {
        &self.lines.origin
    }
}

/// Moves `lines` to byte `offset`, the start of line `line_no + 1`.
fn seek<R: Read + Seek>(
    lines: &mut LineReader<R>,
    offset: u64,
    line_no: u64,
) -> Result<(), ReadError> {
    lines
        .reader
        .seek(SeekFrom::Start(offset))
        .map_err(|e| ReadError::Seek {
            origin: lines.origin.clone(),
            reason: e.to_string(),
        })?;
    (lines.line_no, lines.line_start, lines.offset) = (line_no, offset, offset);
    Ok(())
}

impl<R: Read + Seek> ChunkSource for CsvSource<R> {
    type Chunk = DMatrix<f64>;

    fn rewind(&mut self) -> Result<(), EmError> {
        seek(&mut self.lines, self.data_start, self.data_start_line - 1)?;
        self.dropped = 0;
        self.ahead.restart(self.data_start_line);
        Ok(())
    }

    fn next_chunk(&mut self, max_obs: usize) -> Result<Option<DMatrix<f64>>, EmError> {
        let width = self.layout.out_width();
        let max_obs = max_obs.max(1);
        let mut values = std::mem::take(&mut self.values);
        values.clear();
        let mut n = 0usize;
        let ahead = &mut self.ahead;
        while n < max_obs {
            let Some((front, rows_before)) = ahead.pieces.front() else {
                if ahead.fill(&mut self.lines.reader, &self.layout, &self.lines.origin)? {
                    continue;
                }
                break;
            };
            let piece = &front.piece;
            // Rows of the piece below `limit`, and the lines before them, are reached in this
            // call, as a line-by-line reader would stop after its `max_obs`-th row.
            let limit = ahead.taken + (max_obs - n);
            while let Some(&at) = piece.drops.get(ahead.drops_counted)
                && at < limit
            {
                self.dropped += 1;
                ahead.drops_counted += 1;
            }
            if let Some(e) = &piece.error
                && e.rows_before < limit
            {
                let e = e.clone();
                let origin = &self.lines.origin;
                return Err(e
                    .into_read_error(&self.layout, origin, front.first_line, *rows_before)
                    .into());
            }
            let end = piece.rows.min(limit);
            values.extend_from_slice(&piece.values[ahead.taken * width..end * width]);
            n += end - ahead.taken;
            ahead.taken = end;
            if end < limit {
                // The whole piece is handed out and the reader moves past it.
                ahead.pieces.pop_front();
                (ahead.taken, ahead.drops_counted) = (0, 0);
            }
        }
        if n == 0 {
            self.values = values;
            return Ok(None);
        }
        let chunk = DMatrix::from_row_slice(n, width, &values);
        self.values = values;
        Ok(Some(chunk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table;
    use std::io::Cursor;

    /// Every row of `text` through the streamed reader, in chunks of 2.
    fn stream(text: &str) -> Result<(Vec<String>, DMatrix<f64>), EmError> {
        let mut csv = CsvSource::new(Cursor::new(text), "t.csv")?;
        csv.rewind()?;
        let mut rows = Vec::new();
        while let Some(chunk) = csv.next_chunk(2)? {
            rows.extend(chunk.row_iter().map(|r| r.into_owned()));
        }
        let x = if rows.is_empty() {
            DMatrix::zeros(0, csv.n_columns())
        } else {
            DMatrix::from_rows(&rows)
        };
        Ok((csv.columns().to_vec(), x))
    }

    #[test]
    fn streamed_and_in_memory_readers_agree_on_rows_and_errors() {
        for text in [
            "a,b\n1,2\n3,4\n",
            "\u{feff}a,b\r\n\r\n1,2\r\n  \r\n3,4",
            "\u{feff}1,2\n3,4\n\n\n5,6",
            "\n\n\"x\"\n1\n\n2\n 3 \n",
            "a,b\n1,2\n3,x\n",
            "a,\n1,2\n3,x\n",
            "1,2\n\n3\n",
            "1,2\n3,4,5\n",
            "a,b\n1,2\nnan,4\n",
            "1,1e999\n",
            "1,2\n\u{feff}3,4\n",
            "",
            "\n \n",
        ] {
            let memory = table::parse(text, "t.csv");
            match (stream(text), memory) {
                (Ok((columns, x)), Ok(t)) => {
                    assert_eq!(columns, t.columns, "{text:?}");
                    assert_eq!(x, t.x, "{text:?}");
                }
                // Debug, not ==, so that NaN values compare equal.
                (Err(s), Err(m)) => {
                    assert_eq!(
                        format!("{s:?}"),
                        format!("{:?}", EmError::from(m)),
                        "{text:?}"
                    )
                }
                (s, m) => panic!("{text:?}: streamed {s:?} vs in memory {m:?}"),
            }
        }
    }

    #[test]
    fn a_byte_order_mark_is_ignored_only_at_the_start_of_the_file() {
        let t = table::parse("\u{feff}a,b\n1,2\n", "t.csv").unwrap();
        assert_eq!(t.columns, ["a", "b"]);
        let e = table::parse("a,b\n1,2\n\u{feff}3,4\n", "t.csv").unwrap_err();
        assert!(
            matches!(
                e,
                ReadError::Record {
                    line: 3,
                    column: 0,
                    ..
                }
            ),
            "{e}"
        );
        assert!(stream("a,b\n1,2\n\u{feff}3,4\n").is_err());
    }

    #[test]
    fn streamed_errors_keep_line_and_column_as_fields() {
        let e = stream("a,b\n1,2\n3,x\n").unwrap_err();
        assert_eq!(
            e,
            EmError::Io {
                origin: "t.csv".into(),
                line: Some(3),
                column: Some(2),
                reason: "\"x\" is not a number (column \"b\")".into(),
            }
        );
        assert_eq!(
            stream("1,2\n3\n").unwrap_err().to_string(),
            "t.csv, line 2, column 2: ragged row with 1 field, expected 2 as on line 1"
        );
        assert!(matches!(
            stream("1,2\n3,4\n5,inf\n").unwrap_err(),
            EmError::NonFinite { row: 2, column: 1, value } if value == f64::INFINITY
        ));
        assert_eq!(
            stream("").unwrap_err().to_string(),
            "t.csv: the file is empty (no data rows)"
        );
        let mut bad = b"1,2\n".to_vec();
        bad.extend_from_slice(&[0xff, b'\n']);
        let mut csv = CsvSource::new(Cursor::new(bad), "bin.csv").unwrap();
        csv.rewind().unwrap();
        assert_eq!(
            csv.next_chunk(10).unwrap_err().to_string(),
            "bin.csv, line 2: not UTF-8 text"
        );
    }

    #[test]
    fn rewinding_rereads_the_same_rows_after_a_header_or_not() {
        for text in ["a,b\n\n1,2\n3,4\n", "\n1,2\n3,4\n"] {
            let mut csv = CsvSource::new(Cursor::new(text), "t.csv").unwrap();
            for _ in 0..2 {
                csv.rewind().unwrap();
                assert_eq!(
                    csv.next_chunk(10).unwrap().unwrap(),
                    nalgebra::dmatrix![1.0, 2.0; 3.0, 4.0]
                );
                assert_eq!(csv.next_chunk(10).unwrap(), None);
            }
        }
    }
    /// Every row of `text` through the streamed reader with `options`, in chunks of 2, and
    /// the rows dropped.
    fn stream_with(
        text: &str,
        options: &ReadOptions,
    ) -> Result<(Vec<String>, DMatrix<f64>, usize), EmError> {
        let mut csv = CsvSource::new_with(Cursor::new(text), "t.csv", options)?;
        csv.rewind()?;
        let mut rows = Vec::new();
        while let Some(chunk) = csv.next_chunk(2)? {
            rows.extend(chunk.row_iter().map(|r| r.into_owned()));
        }
        let x = if rows.is_empty() {
            DMatrix::zeros(0, csv.n_columns())
        } else {
            DMatrix::from_rows(&rows)
        };
        Ok((csv.columns().to_vec(), x, csv.dropped_rows()))
    }

    #[test]
    fn streamed_and_in_memory_readers_agree_with_every_option() {
        let texts = [
            "a\tb\n1\t2\n3\t4\n5\t6\n",
            "a;b\n1;2\n3;4\n",
            "\"a, b\",\"c\"\"\"\n\"1\",2\n3,\"4\"\n",
            "2019,2020\n1,2\n3,4\n",
            "a,b\n1,NA\n3,4\n,\n5,nan\n7,8\n",
            "a,b\n1,\"2\n3,4\n",
            "\"a,b\n1,2\n",
            "a;b\n1;x\n",
        ];
        let mut options = Vec::new();
        for delimiter in [
            Delimiter::Auto,
            Delimiter::Comma,
            Delimiter::Tab,
            Delimiter::Semicolon,
        ] {
            for header in [None, Some(true), Some(false)] {
                for missing in [Missing::Error, Missing::Drop] {
                    options.push(ReadOptions {
                        delimiter,
                        header,
                        missing,
                    });
                }
            }
        }
        for text in texts {
            for o in &options {
                match (stream_with(text, o), table::parse_with(text, "t.csv", o)) {
                    (Ok((columns, x, dropped)), Ok(t)) => {
                        assert_eq!(columns, t.columns, "{text:?} {o:?}");
                        assert_eq!(x, t.x, "{text:?} {o:?}");
                        assert_eq!(dropped, t.dropped, "{text:?} {o:?}");
                    }
                    (Err(s), Err(m)) => assert_eq!(
                        format!("{s:?}"),
                        format!("{:?}", EmError::from(m)),
                        "{text:?} {o:?}"
                    ),
                    (s, m) => panic!("{text:?} {o:?}: streamed {s:?} vs in memory {m:?}"),
                }
            }
        }
    }

    #[test]
    fn a_gzip_file_streams_the_same_rows_as_in_memory_on_every_pass() {
        use std::io::Write;
        let text = "x;y\n1;2\n\n3;NA\n5;6\n7;8\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text.as_bytes()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv.gz");
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        let options = ReadOptions {
            missing: Missing::Drop,
            ..ReadOptions::default()
        };
        let expected = table::read_with(&path, &options).unwrap();
        assert_eq!(expected.x, nalgebra::dmatrix![1.0, 2.0; 5.0, 6.0; 7.0, 8.0]);
        let mut csv = CsvSource::open_with(&path, &options).unwrap();
        assert_eq!(csv.columns(), ["x", "y"]);
        for _ in 0..3 {
            csv.rewind().unwrap();
            let mut rows = Vec::new();
            while let Some(chunk) = csv.next_chunk(2).unwrap() {
                rows.extend(chunk.row_iter().map(|r| r.into_owned()));
            }
            assert_eq!(DMatrix::from_rows(&rows), expected.x);
            assert_eq!(csv.dropped_rows(), 1);
        }
        // The binary converter reads gzip input too.
        let bin = dir.path().join("t.f64");
        assert!(
            crate::binary::csv_to_binary(&path, &bin).is_err(),
            "NA is an error by default"
        );
    }

    #[test]
    fn delimiter_detection_keeps_comma_files_and_finds_tabs_and_semicolons() {
        assert_eq!(Delimiter::detect("a,b,c"), ',');
        assert_eq!(Delimiter::detect("a\tb"), '\t');
        assert_eq!(Delimiter::detect("a;b;c"), ';');
        assert_eq!(Delimiter::detect("a\tb;c;d"), ';');
        assert_eq!(Delimiter::detect("a\tb\tc;d"), '\t');
        assert_eq!(Delimiter::detect("a b"), ',');
        assert_eq!(Delimiter::detect("x"), ',');
        // Delimiters inside quotes do not count.
        assert_eq!(Delimiter::detect("\"a;b\";\"c,d\";e"), ';');
        assert_eq!(Delimiter::detect("\"a,b\"\t\"c\""), '\t');
        // A comma file whose names hold semicolons or tabs stays a comma file.
        assert_eq!(Delimiter::detect("a;b;c,d"), ',');
        assert_eq!(Delimiter::detect("a\tb\tc,d"), ',');
        // Decimal commas in a semicolon file: the header decides.
        assert_eq!(Delimiter::detect("x;y"), ';');
    }
}
