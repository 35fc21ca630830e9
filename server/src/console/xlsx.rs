//! XLSX downloads (PRODUCT.md §12.4): the CSV's rows, from the same table
//! (`report::render::Table`), in sheets of at most 1,048,575 rows under
//! the header row (Excel's limit is 1,048,576 rows a sheet), written with
//! rust_xlsxwriter in constant-memory mode (a row at a time to a temporary
//! file, never the whole table in memory). Count columns are numbers so a
//! spreadsheet can sum them; every other cell is the CSV's text.

use fieldcheck_core::report::render::Table;
use fieldcheck_core::{Error, Result};
use rust_xlsxwriter::{Workbook, Worksheet, XlsxError};

/// Data rows a sheet holds under its header row.
pub const ROWS_PER_SHEET: u32 = 1_048_575;

/// The table as an XLSX workbook, its sheets named `name`, `name 2`, ….
pub fn workbook(table: &dyn Table, name: &str) -> Result<Vec<u8>> {
    workbook_with(table, name, ROWS_PER_SHEET)
}

fn xlsx_error(e: XlsxError) -> Error {
    Error::Io(std::io::Error::other(format!("xlsx: {e}")))
}

/// Columns written as numbers: counts, minutes and rates.
fn is_numeric(column: &str) -> bool {
    matches!(
        column,
        "minutes_late"
            | "rejected_total"
            | "events_approved"
            | "events_rejected"
            | "leads_total"
            | "conversion_rate"
            | "closings"
    ) || column.starts_with("rejected_")
        || column.starts_with("leads_")
}

pub(crate) fn workbook_with(table: &dyn Table, name: &str, rows_per_sheet: u32) -> Result<Vec<u8>> {
    let header = table.header();
    let numeric: Vec<bool> = header.iter().map(|h| is_numeric(h)).collect();
    let mut book = Workbook::new();
    let mut sheets = 0u32;
    let mut new_sheet = |book: &mut Workbook| -> Result<Worksheet> {
        sheets += 1;
        let mut sheet = book
            .new_worksheet_with_constant_memory()
            .map_err(xlsx_error)?;
        let title = if sheets == 1 {
            name.to_string()
        } else {
            format!("{name} {sheets}")
        };
        sheet.set_name(&title).map_err(xlsx_error)?;
        for (col, cell) in header.iter().enumerate() {
            sheet
                .write_string(0, col as u16, cell.as_ref())
                .map_err(xlsx_error)?;
        }
        Ok(sheet)
    };
    let mut sheet = new_sheet(&mut book)?;
    let mut row: u32 = 0;
    table.for_each_record(&mut |cells| {
        if row == rows_per_sheet {
            let full = std::mem::replace(&mut sheet, new_sheet(&mut book)?);
            book.push_worksheet(full);
            row = 0;
        }
        row += 1;
        for (col, cell) in cells.iter().enumerate() {
            if cell.is_empty() {
                continue;
            }
            let number = numeric
                .get(col)
                .copied()
                .unwrap_or(false)
                .then(|| cell.parse::<f64>().ok())
                .flatten();
            match number {
                Some(n) => sheet.write_number(row, col as u16, n),
                None => sheet.write_string(row, col as u16, cell.as_ref()),
            }
            .map_err(xlsx_error)?;
        }
        Ok(())
    })?;
    book.push_worksheet(sheet);
    book.save_to_buffer().map_err(xlsx_error)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    /// A table of `n` rows: an id, a count, a free text.
    struct Rows(u32);

    impl Table for Rows {
        fn header(&self) -> Vec<Cow<'static, str>> {
            vec![
                "agent".into(),
                "rejected_total".into(),
                "review_note".into(),
            ]
        }
        fn for_each_record(
            &self,
            record: &mut dyn FnMut(&[Cow<'_, str>]) -> Result<()>,
        ) -> Result<()> {
            for i in 0..self.0 {
                record(&[
                    format!("a{i}").into(),
                    i.to_string().into(),
                    "'=not a formula".into(),
                ])?;
            }
            Ok(())
        }
    }

    fn holds(bytes: &[u8], needle: &str) -> bool {
        bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    #[test]
    fn rows_past_a_sheets_limit_go_on_to_the_next_sheet() {
        // Zip keeps member names in clear: the sheets are there to count.
        let bytes = workbook_with(&Rows(7), "attendance", 3).unwrap();
        assert!(bytes.starts_with(b"PK"));
        for sheet in 1..=3 {
            assert!(holds(&bytes, &format!("xl/worksheets/sheet{sheet}.xml")));
        }
        assert!(!holds(&bytes, "xl/worksheets/sheet4.xml"));
        let exact = workbook_with(&Rows(6), "attendance", 3).unwrap();
        assert!(
            !holds(&exact, "xl/worksheets/sheet3.xml"),
            "6 rows fill two sheets"
        );
        let empty = workbook_with(&Rows(0), "sales", 3).unwrap();
        assert!(holds(&empty, "xl/worksheets/sheet1.xml"));
        assert!(!holds(&empty, "xl/worksheets/sheet2.xml"));
    }
}
