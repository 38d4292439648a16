//! Untrusted ring-buffer records through the event decoder: parse, every accessor, the owned
//! conversion and both printers. Seeds: real events captured from the tracer
//! (fuzz/corpus/event_decode, re-captured by tracee-core's `capture_fixtures` test).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracee_core::decode::{Event, EventRef};
use tracee_core::events::Catalog;
use tracee_core::output::{JsonPrinter, TablePrinter};

fuzz_target!(|data: &[u8]| {
    let Ok(ev) = EventRef::parse(data) else {
        return;
    };
    for a in ev.args() {
        let _ = (
            a.as_i64(),
            a.as_u64(),
            a.as_str(),
            a.as_bytes(),
            a.value().to_string(),
        );
        if let Some(arr) = a.as_str_array() {
            assert!(arr.iter().count() <= arr.len());
        }
    }
    let owned = Event::from_ref(&ev, Catalog::builtin_ref().get(ev.event_id()));
    let mut sink = Vec::new();
    let _ = TablePrinter::new().write_event(&mut sink, &owned);
    let _ = JsonPrinter.write_event(&mut sink, &owned);
});
