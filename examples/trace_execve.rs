//! Every exec on the machine, live: pid, ppid, uid, comm, pathname and argv, until Ctrl-C
//! (or `--duration SECS`), then how many events arrived and how many were lost.
//!
//! ```text
//! sudo cargo run --example trace_execve
//! sudo cargo run --example trace_execve -- --duration 5
//! ```

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tracee_core::output::TablePrinter;
use tracee_core::tracer::Tracer;

#[derive(Parser, Debug)]
#[command(about = "Print every exec on the machine until Ctrl-C")]
struct Args {
    /// Stop after this many seconds instead of waiting for Ctrl-C.
    #[arg(long)]
    duration: Option<f64>,
    /// Log the BTF resolution report and attach details.
    #[arg(long)]
    debug: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(if args.debug {
        "info"
    } else {
        "warn"
    }))
    .init();

    let tracer = Arc::new(
        Tracer::builder()
            .events(["sched_process_exec"])
            .build()
            .map_err(common::starting_error)?,
    );
    eprintln!(
        "tracing execs (BTF: {} at {}); Ctrl-C to stop",
        tracer.btf_source(),
        tracer.btf_path().display()
    );
    log::info!("BTF resolution:\n{}", tracer.btf_report());

    let t = tracer.clone();
    ctrlc::set_handler(move || t.stop()).context("installing the Ctrl-C handler")?;
    if let Some(secs) = args.duration {
        let t = tracer.clone();
        let d = Duration::from_secs_f64(secs.max(0.0));
        std::thread::spawn(move || {
            std::thread::sleep(d);
            t.stop();
        });
    }

    let printer = TablePrinter::new();
    println!(
        "{:<16} {:>8} {:>8} {:>6} {:<16} {:<32} ARGV",
        "TIME", "PID", "PPID", "UID", "COMM", "PATHNAME"
    );
    let mut count = 0u64;
    for ev in tracer.events() {
        count += 1;
        let h = &ev.header;
        let path = ev.arg("pathname").and_then(|v| v.as_str()).unwrap_or("");
        let argv = ev
            .arg("argv")
            .and_then(|v| v.as_str_array())
            .map(|a| a.join(" "))
            .unwrap_or_default();
        println!(
            "{:<16} {:>8} {:>8} {:>6} {:<16} {:<32} {}",
            printer.format_time(h.timestamp),
            h.pid,
            h.ppid,
            h.uid,
            h.comm,
            path,
            argv
        );
    }
    let stats = tracer.stats();
    println!(
        "{count} events received, {} dropped (kernel {}, channel {}), {} undecodable",
        stats.drops.total(),
        stats.drops.kernel,
        stats.drops.channel_overflow,
        stats.decode_errors
    );
    Ok(())
}
