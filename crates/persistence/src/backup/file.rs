//! The backup file: JSON lines, read and written a line at a time.
//!
//! ```text
//! {"nestegg_backup":1,"created_at":"...Z","backend":"sqlite","migrations":[...],"tables":[...]}
//! {"table":"users","columns":[{"name":"id","kind":"uuid"},...]}
//! ["019ab5c2-...","ada@example.com",...]            one line per row, in id order
//! {"end_of_table":"users","rows":1,"sha256":"..."}
//! ...                                                every table of `TABLES`, in its order
//! {"end_of_backup":true,"tables":15,"rows":4711}
//! ```
//!
//! A table's `sha256` is taken over its rows' canonical text (see [`super::cell`]), each
//! followed by a newline, in id order: the same data gives the same checksum on either
//! backend, and a reader recomputes it from the values it parsed, not from the bytes.

use std::io::BufRead;

use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::cell::{Cell, row_text};
use super::tables::{TABLES, Table};
use super::{BackupError, TableSummary};

/// The format version written, and the only one read.
pub(crate) const VERSION: u32 = 1;

/// The first line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Header {
    pub(crate) nestegg_backup: u32,
    pub(crate) created_at: String,
    pub(crate) backend: String,
    pub(crate) migrations: Vec<String>,
    pub(crate) tables: Vec<String>,
}

/// The line opening a table.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TableStart {
    pub(crate) table: String,
    pub(crate) columns: Vec<ColumnSpec>,
}

/// A column as a backup names it.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ColumnSpec {
    pub(crate) name: String,
    pub(crate) kind: String,
}

impl TableStart {
    pub(crate) fn of(table: &Table) -> Self {
        Self {
            table: table.name.to_owned(),
            columns: table
                .columns
                .iter()
                .map(|c| ColumnSpec {
                    name: c.name.to_owned(),
                    kind: c.kind.name().to_owned(),
                })
                .collect(),
        }
    }
}

/// The line closing a table.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TableEnd {
    pub(crate) end_of_table: String,
    pub(crate) rows: u64,
    pub(crate) sha256: String,
}

/// The last line.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct End {
    pub(crate) end_of_backup: bool,
    pub(crate) tables: u64,
    pub(crate) rows: u64,
}

/// A table's row count and checksum, kept as its rows go by.
pub(crate) struct Tally {
    table: &'static str,
    rows: u64,
    digest: Context,
}

impl std::fmt::Debug for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tally")
            .field("table", &self.table)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl Tally {
    pub(crate) fn new(table: &'static str) -> Self {
        Self {
            table,
            rows: 0,
            digest: Context::new(&SHA256),
        }
    }

    /// Counts a row given its canonical text.
    pub(crate) fn add(&mut self, text: &str) {
        self.rows += 1;
        self.digest.update(text.as_bytes());
        self.digest.update(b"\n");
    }

    pub(crate) fn finish(self) -> TableSummary {
        let sha256 = self
            .digest
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        TableSummary {
            table: self.table,
            rows: self.rows,
            sha256,
        }
    }
}

/// Reads a backup line by line, checking its structure, parsing every row into cells and
/// recomputing each table's count and checksum against its trailer.
#[derive(Debug)]
pub(crate) struct Reader<R> {
    input: R,
    line: u64,
    buf: String,
    tally: Option<(&'static Table, Tally)>,
    done: Vec<TableSummary>,
}

impl<R: BufRead> Reader<R> {
    pub(crate) fn new(input: R) -> Self {
        Self {
            input,
            line: 0,
            buf: String::new(),
            tally: None,
            done: Vec::new(),
        }
    }

    fn format(&self, why: impl Into<String>) -> BackupError {
        format_error(self.line, why)
    }

    /// Reads the next line into the buffer; `false` at the end of the input.
    fn next_line(&mut self) -> Result<bool, BackupError> {
        self.buf.clear();
        let read = self
            .input
            .read_line(&mut self.buf)
            .map_err(|source| BackupError::Io {
                what: "reading the backup",
                source,
            })?;
        if read > 0 {
            self.line += 1;
        }
        Ok(read > 0)
    }

    /// Reads the next line, which must exist.
    fn expect_line(&mut self, what: &str) -> Result<(), BackupError> {
        if self.next_line()? {
            Ok(())
        } else {
            Err(format_error(
                self.line + 1,
                format!("the file ends where {what} was expected: it is cut short"),
            ))
        }
    }

    fn parse<T: for<'de> Deserialize<'de>>(&mut self, what: &str) -> Result<T, BackupError> {
        self.expect_line(what)?;
        serde_json::from_str(text(&self.buf))
            .map_err(|e| self.format(format!("expected {what}: {e}")))
    }

    /// The header; refuses a file that is not a backup or of another format version.
    pub(crate) fn header(&mut self) -> Result<Header, BackupError> {
        let header: Header = self.parse("a nestegg backup header")?;
        if header.nestegg_backup != VERSION {
            return Err(self.format(format!(
                "the backup is in format version {}, this nestegg reads version {VERSION}",
                header.nestegg_backup
            )));
        }
        let expected: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        if header.tables != expected {
            return Err(self.format(format!(
                "the backup holds the tables {:?}, this nestegg expects {expected:?}",
                header.tables
            )));
        }
        Ok(header)
    }

    /// Reads the line opening `table`, which must name the columns this nestegg knows.
    pub(crate) fn begin_table(&mut self, table: &'static Table) -> Result<(), BackupError> {
        let start: TableStart = self.parse(&format!("the start of table {}", table.name))?;
        let expected = TableStart::of(table);
        if start.table != table.name {
            return Err(self.format(format!(
                "expected table {}, found table {}",
                table.name, start.table
            )));
        }
        if start.columns != expected.columns {
            let names = |c: &[ColumnSpec]| {
                c.iter()
                    .map(|c| format!("{} {}", c.name, c.kind))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(self.format(format!(
                "table {} has the columns ({}), this nestegg expects ({})",
                table.name,
                names(&start.columns),
                names(&expected.columns)
            )));
        }
        self.tally = Some((table, Tally::new(table.name)));
        Ok(())
    }

    /// The next row of the table begun; `None` once its trailer is read and found to match
    /// the rows read.
    pub(crate) fn next_row(&mut self) -> Result<Option<Vec<Cell>>, BackupError> {
        let Some((table, _)) = &self.tally else {
            return Err(self.format("a row outside any table"));
        };
        let table: &'static Table = table;
        self.expect_line(&format!("a row or the end of table {}", table.name))?;
        let line = self.line;
        let text = text(&self.buf);
        if text.starts_with('[') {
            let values: Vec<Json> = serde_json::from_str(text).map_err(|e| {
                format_error(
                    line,
                    format!("a row of table {} is not a JSON array: {e}", table.name),
                )
            })?;
            if values.len() != table.columns.len() {
                return Err(format_error(
                    line,
                    format!(
                        "a row of table {} has {} values for its {} columns",
                        table.name,
                        values.len(),
                        table.columns.len()
                    ),
                ));
            }
            let cells = values
                .iter()
                .zip(table.columns)
                .map(|(v, c)| Cell::parse(v, c))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|why| format_error(line, format!("table {}: {why}", table.name)))?;
            if let Some((_, tally)) = &mut self.tally {
                tally.add(&row_text(&cells));
            }
            return Ok(Some(cells));
        }
        let end: TableEnd = serde_json::from_str(text).map_err(|e| {
            format_error(
                line,
                format!("expected a row or the end of table {}: {e}", table.name),
            )
        })?;
        if end.end_of_table != table.name {
            return Err(self.format(format!(
                "table {} is closed as {}",
                table.name, end.end_of_table
            )));
        }
        let Some((_, tally)) = self.tally.take() else {
            return Err(self.format("a table end outside any table"));
        };
        let found = tally.finish();
        if found.rows != end.rows || found.sha256 != end.sha256 {
            return Err(BackupError::Damaged {
                table: table.name,
                line,
                stated: (end.rows, end.sha256),
                found: (found.rows, found.sha256),
            });
        }
        self.done.push(found);
        Ok(None)
    }

    /// Reads the last line and checks that nothing follows it; every table's summary.
    pub(crate) fn finish(mut self) -> Result<Vec<TableSummary>, BackupError> {
        let end: End = self.parse("the end of the backup")?;
        let rows: u64 = self.done.iter().map(|t| t.rows).sum();
        if !end.end_of_backup || end.tables != self.done.len() as u64 || end.rows != rows {
            return Err(self.format(format!(
                "the backup's end says {} tables and {} rows, the file holds {} and {rows}",
                end.tables,
                end.rows,
                self.done.len()
            )));
        }
        while self.next_line()? {
            if !self.buf.trim().is_empty() {
                return Err(self.format("text after the end of the backup"));
            }
        }
        Ok(self.done)
    }
}

fn format_error(line: u64, why: impl Into<String>) -> BackupError {
    BackupError::Format {
        line,
        why: why.into(),
    }
}

/// A line without its line break.
fn text(buf: &str) -> &str {
    buf.trim_end_matches(['\n', '\r'])
}
