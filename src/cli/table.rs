//! Tables for people; `--json` gives the raw answer instead.

use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::Table;

pub fn render(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_BORDERS_ONLY)
        .set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    table.to_string()
}
