//! JSON lines: one [`Event`] object per line (serde).

use std::io::{self, Write};

use crate::decode::Event;

/// Prints events as JSON lines.
///
/// Field names are [`Event`]'s: `event_id`, `event_name`, the header's fields (`timestamp`,
/// `pid`, `comm`, ...) at the top level, and `args` as a list of `{name, type, value}`.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonPrinter;

impl JsonPrinter {
    /// A printer.
    pub fn new() -> JsonPrinter {
        JsonPrinter
    }

    /// One event and a newline.
    pub fn write_event(&self, w: &mut impl Write, ev: &Event) -> io::Result<()> {
        serde_json::to_writer(&mut *w, ev).map_err(io::Error::other)?;
        w.write_all(b"\n")
    }
}
