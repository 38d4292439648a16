//! Printing events: a table like Tracee's and JSON lines.

mod json;
mod table;

pub use json::JsonPrinter;
pub use table::TablePrinter;
