//! `tracee`: trace any events of the catalog, or list them.
//!
//! ```text
//! sudo cargo run --example tracee -- --events openat,execve [--output table|json] [--duration SECS]
//! cargo run --example tracee -- list [PATTERN|tag=T] [--json]
//! ```

mod list;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use tracee_core::output::{JsonPrinter, TablePrinter};
use tracee_core::tracer::Tracer;

#[derive(Parser, Debug)]
#[command(
    about = "Tracee-style event tracing",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Events to trace: names, globs (`open*`) or sets (`tag=fs`), comma-separated.
    #[arg(short, long, value_delimiter = ',', default_value = "execve,openat")]
    events: Vec<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Table)]
    output: Output,
    /// Stop after this many seconds instead of waiting for Ctrl-C.
    #[arg(long)]
    duration: Option<f64>,
    /// Log the BTF resolution report and attach details.
    #[arg(long)]
    debug: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the events the tracer knows (Event | Sets | Arguments).
    List(list::ListArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Output {
    Table,
    Json,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(if cli.debug {
        "info"
    } else {
        "warn"
    }))
    .init();
    if let Some(Command::List(args)) = cli.command {
        return list::run(args);
    }

    let tracer = Arc::new(
        Tracer::builder()
            .events(cli.events.iter().cloned())
            .build()
            .context("starting the tracer (needs root or CAP_BPF+CAP_PERFMON)")?,
    );
    log::info!(
        "BTF from {} ({}):\n{}",
        tracer.btf_source(),
        tracer.btf_path().display(),
        tracer.btf_report()
    );
    for a in tracer.attachments() {
        log::info!("attached {} as {} to {}", a.program, a.kind, a.target);
    }
    let t = tracer.clone();
    ctrlc::set_handler(move || t.stop()).context("installing the Ctrl-C handler")?;
    if let Some(secs) = cli.duration {
        let t = tracer.clone();
        let d = Duration::from_secs_f64(secs.max(0.0));
        std::thread::spawn(move || {
            std::thread::sleep(d);
            t.stop();
        });
    }

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let table = TablePrinter::new();
    if cli.output == Output::Table {
        table.write_header(&mut out)?;
    }
    for ev in tracer.events() {
        match cli.output {
            Output::Table => table.write_event(&mut out, &ev)?,
            Output::Json => JsonPrinter.write_event(&mut out, &ev)?,
        }
        // Live output: flush when nothing else is queued.
        if tracer.raw_events().is_some_and(|rx| rx.is_empty()) {
            out.flush()?;
        }
    }
    out.flush()?;
    let stats = tracer.stats();
    eprintln!(
        "{} events received, {} dropped, {} undecodable",
        stats.received,
        stats.drops.total(),
        stats.decode_errors
    );
    Ok(())
}
