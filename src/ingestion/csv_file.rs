//! Streaming CSV input as Excel and CRMs write it: UTF-8 with or without BOM, comma or semicolon
//! delimiter (a French-locale Excel writes semicolons), header row naming the columns. Rows come
//! out one at a time, so a file of millions of rows is read in constant memory.

use std::{
    fs::File,
    io::{BufRead, BufReader, Read},
    path::Path,
};

use serde_json::Value;

use super::fields::{FieldError, RawItem};

#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("cannot open {path}: {source}")]
    Open { path: String, source: std::io::Error },
    #[error("{path} has no header row")]
    NoHeader { path: String },
    #[error("{path}: the header has no {column:?} column (found: {found})")]
    MissingColumn { path: String, column: String, found: String },
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: csv::Error },
}

/// One data row: its line in the file, its fields by column name, and any structural problem.
pub struct CsvRow {
    pub line: u64,
    pub item: RawItem,
    pub errors: Vec<FieldError>,
}

pub struct CsvRows {
    reader: csv::Reader<Box<dyn Read + Send>>,
    headers: Vec<String>,
    record: csv::ByteRecord,
    path: String,
    /// The csv crate numbers the lines of a CRLF file one short (it counts the `\n` of a
    /// record's terminator as the start of the next record): corrected here.
    line_offset: u64,
    pub delimiter: u8,
    pub size: u64,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The delimiter of the header line: the more frequent of `;` and `,` (`,` on a tie).
pub fn sniff_delimiter(header_line: &[u8]) -> u8 {
    let count = |d: u8| header_line.iter().filter(|&&b| b == d).count();
    if count(b';') > count(b',') { b';' } else { b',' }
}

impl CsvRows {
    pub fn open(path: &Path, required: &[&str]) -> Result<CsvRows, CsvError> {
        let display = path.display().to_string();
        let file = File::open(path).map_err(|source| CsvError::Open { path: display.clone(), source })?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Self::from_reader(Box::new(file), size, &display, required)
    }

    pub fn from_reader(
        input: Box<dyn Read + Send>,
        size: u64,
        name: &str,
        required: &[&str],
    ) -> Result<CsvRows, CsvError> {
        let mut buffered = BufReader::with_capacity(256 * 1024, input);
        let open_err = |source| CsvError::Open { path: name.to_owned(), source };
        let start = buffered.fill_buf().map_err(open_err)?;
        let bom = start.starts_with(BOM);
        let body = if bom { &start[BOM.len()..] } else { start };
        let first_line = body.split(|&b| b == b'\n').next().unwrap_or_default();
        let delimiter = sniff_delimiter(first_line);
        let line_offset = u64::from(first_line.ends_with(b"\r"));
        if bom {
            buffered.consume(BOM.len());
        }
        let boxed: Box<dyn Read + Send> = Box::new(buffered);
        let mut reader =
            csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(true).from_reader(boxed);
        let headers: Vec<String> = reader
            .byte_headers()
            .map_err(|source| CsvError::Read { path: name.to_owned(), source })?
            .iter()
            .map(|h| String::from_utf8_lossy(h).trim().to_ascii_lowercase())
            .collect();
        if headers.iter().all(|h| h.is_empty()) {
            return Err(CsvError::NoHeader { path: name.to_owned() });
        }
        for column in required {
            if !headers.iter().any(|h| h == column) {
                return Err(CsvError::MissingColumn {
                    path: name.to_owned(),
                    column: (*column).to_owned(),
                    found: headers.join(", "),
                });
            }
        }
        Ok(CsvRows {
            reader,
            headers,
            record: csv::ByteRecord::new(),
            path: name.to_owned(),
            line_offset,
            delimiter,
            size,
        })
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Bytes read so far, for a progress bar.
    pub fn position(&self) -> u64 {
        self.reader.position().byte()
    }

    /// The next row, `None` at the end. Only I/O failures are errors; a malformed row is a row
    /// with `errors`.
    pub fn next_row(&mut self) -> Result<Option<CsvRow>, CsvError> {
        loop {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => return Ok(None),
                Ok(true) => {}
                Err(err) => {
                    if let csv::ErrorKind::Io(_) = err.kind() {
                        return Err(CsvError::Read { path: self.path.clone(), source: err });
                    }
                    let line = err.position().map(|p| p.line() + self.line_offset).unwrap_or_default();
                    return Ok(Some(CsvRow {
                        line,
                        item: RawItem::new(),
                        errors: vec![FieldError::item(format!("unreadable row: {err}"))],
                    }));
                }
            }
            // Excel leaves lines of bare delimiters at the end of a sheet: not rows.
            if self.record.iter().all(|field| field.iter().all(|b| b.is_ascii_whitespace())) {
                continue;
            }
            let line = self.record.position().map(|p| p.line() + self.line_offset).unwrap_or_default();
            let mut item = RawItem::new();
            let mut errors = Vec::new();
            if self.record.len() != self.headers.len() {
                errors.push(FieldError::item(format!(
                    "the row has {} fields, the header has {}",
                    self.record.len(),
                    self.headers.len()
                )));
            }
            for (column, bytes) in self.headers.iter().zip(self.record.iter()) {
                if column.is_empty() {
                    continue;
                }
                match std::str::from_utf8(bytes) {
                    Ok(text) => {
                        item.insert(column.clone(), Value::String(text.to_owned()));
                    }
                    Err(_) => {
                        errors.push(FieldError::new(column, "not valid UTF-8 (save the file as \"CSV UTF-8\")"));
                        item.insert(column.clone(), Value::String(String::from_utf8_lossy(bytes).into_owned()));
                    }
                }
            }
            return Ok(Some(CsvRow { line, item, errors }));
        }
    }
}

/// The rejected rows of an import, one line per reason: `line,service_request_id,field,message`.
pub struct RejectReport {
    writer: csv::Writer<File>,
    pub rows: u64,
}

impl RejectReport {
    pub fn create(path: &Path, id_column: &str) -> std::io::Result<RejectReport> {
        let mut writer = csv::Writer::from_path(path).map_err(std::io::Error::other)?;
        writer.write_record(["line", id_column, "field", "message"]).map_err(std::io::Error::other)?;
        Ok(RejectReport { writer, rows: 0 })
    }

    pub fn write(&mut self, line: Option<u64>, id: Option<&str>, reasons: &[FieldError]) -> std::io::Result<()> {
        let line = line.map(|l| l.to_string()).unwrap_or_default();
        for reason in reasons {
            self.writer
                .write_record([
                    line.as_str(),
                    id.unwrap_or_default(),
                    reason.field.as_deref().unwrap_or_default(),
                    reason.message.as_str(),
                ])
                .map_err(std::io::Error::other)?;
        }
        self.rows += 1;
        Ok(())
    }

    pub fn finish(mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rows(text: &[u8]) -> Vec<CsvRow> {
        let mut reader =
            CsvRows::from_reader(Box::new(std::io::Cursor::new(text.to_vec())), text.len() as u64, "test.csv", &["a"])
                .unwrap();
        let mut out = Vec::new();
        while let Some(row) = reader.next_row().unwrap() {
            out.push(row);
        }
        out
    }

    #[test]
    fn reads_semicolons_with_bom_as_french_excel_writes() {
        let out = rows(b"\xEF\xBB\xBFa;B\r\n1;\"deux; trois\"\r\n;;\r\n4;\"multi\r\nline\"\r\n5;x\r\n");
        assert_eq!(out.len(), 3, "the blank line of delimiters is skipped");
        assert_eq!(out[0].line, 2);
        assert_eq!(out[1].line, 4);
        assert_eq!(out[2].line, 6, "a quoted line break counts");
        assert_eq!(out[0].item["a"], "1");
        assert_eq!(out[0].item["b"], "deux; trois");
    }

    #[test]
    fn reads_commas_and_reports_bad_rows_with_their_line() {
        let out = rows(b"a,b\n1,2\n3\n4,\xff\n5,6\n");
        assert_eq!(out.len(), 4);
        assert!(out[0].errors.is_empty());
        assert_eq!(out[1].line, 3);
        assert!(out[1].errors[0].message.contains("1 fields, the header has 2"));
        assert_eq!(out[2].line, 4);
        assert_eq!(out[2].errors[0].field.as_deref(), Some("b"));
        assert_eq!(out[3].item["a"], "5");
    }

    #[test]
    fn a_missing_required_column_stops_the_file() {
        let err = CsvRows::from_reader(Box::new(std::io::Cursor::new(b"x,y\n1,2\n".to_vec())), 8, "f.csv", &["a"])
            .err()
            .unwrap();
        assert!(err.to_string().contains("no \"a\" column"), "{err}");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut text = b"a,b;c\n".to_vec();
            text.extend(body);
            if let Ok(mut reader) = CsvRows::from_reader(Box::new(std::io::Cursor::new(text)), 0, "p.csv", &[]) {
                while let Ok(Some(_)) = reader.next_row() {}
            }
        }
    }
}
