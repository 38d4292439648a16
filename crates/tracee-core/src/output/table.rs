//! A table like `tracee`'s default output:
//! `TIME UID COMM PID TID RET EVENT ARGS`.

use std::io::{self, Write};

use crate::decode::{Event, OwnedValue};

/// Prints events as table rows. Times are wall-clock UTC (`HH:MM:SS:micros`), converted
/// from the kernel's monotonic timestamps with the offset measured when the printer is made.
///
/// ```
/// use tracee_core::output::TablePrinter;
/// let p = TablePrinter::new();
/// let mut out = Vec::new();
/// p.write_header(&mut out).unwrap();
/// assert!(String::from_utf8(out).unwrap().starts_with("TIME"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TablePrinter {
    /// Realtime minus monotonic, ns.
    offset_ns: i128,
}

impl Default for TablePrinter {
    fn default() -> Self {
        Self::new()
    }
}

fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid clock id and out pointer.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

impl TablePrinter {
    /// A printer whose time conversion is measured now.
    pub fn new() -> TablePrinter {
        TablePrinter {
            offset_ns: clock_ns(libc::CLOCK_REALTIME) - clock_ns(libc::CLOCK_MONOTONIC),
        }
    }

    /// The column header line.
    pub fn write_header(&self, w: &mut impl Write) -> io::Result<()> {
        writeln!(
            w,
            "{:<16} {:<6} {:<16} {:<8} {:<8} {:<12} {:<24} ARGS",
            "TIME", "UID", "COMM", "PID", "TID", "RET", "EVENT"
        )
    }

    /// `HH:MM:SS:micros` (UTC) of a kernel timestamp.
    pub fn format_time(&self, monotonic_ns: u64) -> String {
        let real = (i128::from(monotonic_ns) + self.offset_ns).max(0);
        let micros = (real / 1_000) % 1_000_000;
        let secs = real / 1_000_000_000;
        let day = secs % 86_400;
        format!(
            "{:02}:{:02}:{:02}:{:06}",
            day / 3600,
            (day / 60) % 60,
            day % 60,
            micros
        )
    }

    /// One row.
    pub fn write_event(&self, w: &mut impl Write, ev: &Event) -> io::Result<()> {
        let h = &ev.header;
        write!(
            w,
            "{:<16} {:<6} {:<16} {:<8} {:<8} {:<12} {:<24} ",
            self.format_time(h.timestamp),
            h.uid,
            h.comm,
            h.pid,
            h.tid,
            h.retval,
            ev.event_name
        )?;
        for (i, a) in ev.args.iter().enumerate() {
            if i > 0 {
                w.write_all(b", ")?;
            }
            match &a.value {
                OwnedValue::StrArray(items) => write!(w, "{}: [{}]", a.name, items.join(" "))?,
                v => write!(w, "{}: {v}", a.name)?,
            }
        }
        writeln!(w)
    }
}
