//! CSV exports: a CloudWatch Logs Insights table (`@timestamp,@message,...`) or a Log
//! Analytics table (`AzureDiagnostics` with `log_s`, `AKSAudit` with its own columns).
//!
//! The event's JSON sits in a quoted field, its quotes doubled, and never spans lines, so each
//! line of the file is a record. The header names the columns. A Logs Insights row hands its
//! `@message` on directly; any other row becomes a JSON object of its columns
//! (`{"TimeGenerated": ..., "log_s": ...}`), read like the JSON export of the same table.
//! Fields are split by `csv-core`.

use csv_core::{ReadRecordResult, Reader};

use crate::diagnostics::DiagnosticKind;
use crate::ingest::wire::Rejection;

/// Columns that make a line the header of an export this module reads.
const MESSAGE_COLUMNS: &[&str] = &["@message", "log_s", "AuditId"];

/// The columns of an export, from its header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Columns {
    names: Vec<String>,
    /// Where `@message` and `@log` are, in a Logs Insights export.
    message: Option<usize>,
    log: Option<usize>,
}

/// Splits lines into fields, reusing one parser (building it is the costly part).
#[derive(Debug, Default)]
pub(super) struct Splitter {
    reader: Option<Reader>,
}

/// What a line of CSV is.
#[derive(Debug, PartialEq)]
pub(super) enum Row {
    Header(Columns),
    /// A row whose field count does not match the header.
    Mismatch(Rejection),
    /// A Logs Insights row: its `@message`, and its `@log` (`ACCOUNT:GROUP`) if any.
    Message {
        message: String,
        log: Option<String>,
    },
    /// A row as a JSON object of its columns.
    Object(String),
}

/// Reads a line as CSV: a header naming a message column, or a row under `columns`. `None`
/// when it is neither.
pub(super) fn read(splitter: &mut Splitter, line: &[u8], columns: Option<&Columns>) -> Option<Row> {
    let fields = split(splitter, line)?;
    if fields.iter().any(|f| MESSAGE_COLUMNS.contains(&clean(f))) {
        let names: Vec<String> = fields.iter().map(|f| clean(f).to_string()).collect();
        let at = |column: &str| names.iter().position(|n| n == column);
        let (message, log) = (at("@message"), at("@log"));
        return Some(Row::Header(Columns {
            names,
            message,
            log,
        }));
    }
    let columns = columns?;
    if fields.len() != columns.names.len() {
        return Some(Row::Mismatch(Rejection {
            kind: DiagnosticKind::MalformedJson,
            message: format!(
                "a CSV row of {} fields under a header of {} columns; skipped",
                fields.len(),
                columns.names.len()
            ),
        }));
    }
    if let Some(at) = columns.message {
        let log = columns.log.and_then(|at| fields.get(at).cloned());
        let message = fields.into_iter().nth(at)?;
        return Some(Row::Message { message, log });
    }
    let object: serde_json::Map<String, serde_json::Value> = columns
        .names
        .iter()
        .cloned()
        .zip(fields.into_iter().map(serde_json::Value::String))
        .collect();
    serde_json::to_string(&object).ok().map(Row::Object)
}

/// A column name without spaces around it or a unit suffix (`TimeGenerated [UTC]`).
fn clean(name: &str) -> &str {
    let name = name.trim();
    match name.rfind(" [") {
        Some(at) if name.ends_with(']') => name[..at].trim_end(),
        _ => name,
    }
}

/// The fields of one CSV line, unquoted; `None` when they are not UTF-8.
fn split(splitter: &mut Splitter, line: &[u8]) -> Option<Vec<String>> {
    let reader = splitter.reader.get_or_insert_with(Reader::new);
    reader.reset();
    // Unquoting only shrinks a field, so the output never outgrows the input.
    let mut output = vec![0u8; line.len() + 1];
    let mut ends = vec![0usize; 32];
    let (mut input, mut written, mut fields) = (line, 0, 0);
    loop {
        let ended_input = input.is_empty();
        let (result, read, out, ended) =
            reader.read_record(input, &mut output[written..], &mut ends[fields..]);
        input = &input[read..];
        written += out;
        fields += ended;
        match result {
            // The next pass feeds the rest, or the empty slice that ends the line.
            ReadRecordResult::InputEmpty if !ended_input => {}
            ReadRecordResult::OutputFull => output.resize(output.len() * 2, 0),
            ReadRecordResult::OutputEndsFull => ends.resize(ends.len() * 2, 0),
            ReadRecordResult::InputEmpty | ReadRecordResult::Record | ReadRecordResult::End => {
                break
            }
        }
    }
    let mut start = 0;
    let mut out = Vec::with_capacity(fields);
    for &end in &ends[..fields] {
        let field = output.get(start..end)?;
        out.push(String::from_utf8(field.to_vec()).ok()?);
        start = end;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_are_unquoted() {
        let mut sp = Splitter::default();
        let line = br#"2024-05-06 10:00:00.000,"{""kind"":""Event"",""verb"":""get""}",stream-1"#;
        let fields = split(&mut sp, line).unwrap();
        assert_eq!(
            fields,
            [
                "2024-05-06 10:00:00.000",
                r#"{"kind":"Event","verb":"get"}"#,
                "stream-1"
            ]
        );
        assert_eq!(split(&mut sp, b"a,,b").unwrap(), ["a", "", "b"]);
        let many: Vec<u8> = (0..100).map(|_| b',').collect();
        assert_eq!(split(&mut sp, &many).unwrap().len(), 101);
    }

    #[test]
    fn a_header_then_rows_become_objects() {
        let mut sp = Splitter::default();
        let Some(Row::Header(columns)) = read(&mut sp, b"@timestamp,@message,@logStream", None)
        else {
            panic!("not a header");
        };
        assert_eq!(
            read(&mut sp, br#"t,"{""a"":1}",s"#, Some(&columns)),
            Some(Row::Message {
                message: r#"{"a":1}"#.to_string(),
                log: None
            })
        );
        assert!(matches!(
            read(&mut sp, b"t,m", Some(&columns)),
            Some(Row::Mismatch(_))
        ));
        assert_eq!(read(&mut sp, b"hello world", None), None);
        let Some(Row::Header(columns)) = read(&mut sp, b"TimeGenerated [UTC],Category,log_s", None)
        else {
            panic!("not a header");
        };
        assert_eq!(columns.names, ["TimeGenerated", "Category", "log_s"]);
        let Some(Row::Object(object)) =
            read(&mut sp, br#"t,kube-audit,"{""a"":1}""#, Some(&columns))
        else {
            panic!("not a row");
        };
        let value: serde_json::Value = serde_json::from_str(&object).unwrap();
        assert_eq!(value["log_s"], r#"{"a":1}"#);
        assert_eq!(value["Category"], "kube-audit");
    }
}
