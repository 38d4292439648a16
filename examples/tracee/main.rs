//! `tracee`: trace any events of the catalog, or list them.
//!
//! ```text
//! sudo cargo run --example tracee -- --events openat,execve [--output table|json] [--duration SECS]
//! sudo cargo run --example tracee -- --scope comm=cat --events openat --events 'openat.data.pathname=/etc/*'
//! sudo cargo run --example tracee -- --policy policy.yaml [--policy dir/]
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
    /// Events to trace: names, globs (`open*`), sets (`tag=fs`), exclusions (`-close`),
    /// comma-separated; or one filter per flag (`openat.data.pathname=/etc/*`,
    /// `openat.retval<0`, `openat.scope.comm=cat`). Default: execve,openat.
    #[arg(short, long)]
    events: Vec<String>,
    /// Scope filters, AND'ed (`comm=bash`, `uid>=1000`, `pid=new`, `container`, `follow`, ...).
    #[arg(short, long)]
    scope: Vec<String>,
    /// Tracee policy files or directories (not with --scope/--events).
    #[arg(short, long)]
    policy: Vec<std::path::PathBuf>,
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

    let mut builder = Tracer::builder();
    if !cli.policy.is_empty() {
        anyhow::ensure!(
            cli.scope.is_empty() && cli.events.is_empty(),
            "--policy cannot be combined with --scope or --events"
        );
        let catalog = tracee_core::events::Catalog::builtin();
        let mut policies = Vec::new();
        for path in &cli.policy {
            policies.extend(tracee_core::filters::policies_from_path(&catalog, path)?);
        }
        builder = builder.policies(tracee_core::filters::PolicySet::from_policies(policies)?);
    } else {
        let events = if cli.events.is_empty() {
            vec!["execve,openat".to_string()]
        } else {
            cli.events.clone()
        };
        let catalog = tracee_core::events::Catalog::builtin();
        let policy = tracee_core::filters::policy_from_flags(&catalog, "cli", &cli.scope, &events)?;
        builder = builder.policies(tracee_core::filters::PolicySet::from_policies([policy])?);
    }
    let tracer = Arc::new(
        builder
            .build()
            .context("starting the tracer (loading BPF needs root, or CAP_BPF + CAP_PERFMON)")?,
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
    if let Some((kernel, userspace)) = tracer.filter_stats() {
        eprintln!(
            "filters: {} judged in the kernel, {} dropped there, {} dropped after decoding",
            kernel.judged, kernel.filtered_in_kernel, userspace
        );
    }
    Ok(())
}
