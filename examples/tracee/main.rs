//! `tracee`: trace any events of the catalog, or list them.
//!
//! ```text
//! sudo cargo run --example tracee -- --events openat,execve [--output table|json] [--duration SECS]
//! sudo cargo run --example tracee -- --scope comm=cat --events openat --events 'openat.data.pathname=/etc/*'
//! sudo cargo run --example tracee -- --policy policy.yaml [--policy dir/]
//! sudo cargo run --example tracee -- --signatures [--events ...] [--output json]
//! sudo cargo run --example tracee -- --events execve --btf-bundle tracee.btfbundle --no-sysfs-btf --debug
//! cargo run --example tracee -- list [PATTERN|tag=T] [--json]
//! cargo run --example tracee -- signatures
//! ```

#[path = "../common/mod.rs"]
mod common;
mod list;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use tracee_core::filters::{policy_from_flags, PolicySet};
use tracee_core::output::{JsonPrinter, TablePrinter};
use tracee_core::signatures::{builtin, SignatureEngine};
use tracee_core::tracer::{SyscallHooks, Tracer};

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
    /// Run the built-in signatures (TRC-1..TRC-7) and print their detections; events are
    /// printed too when --events, --scope or --policy select some.
    #[arg(long)]
    signatures: bool,
    /// Log the BTF resolution report and attach details.
    #[arg(long)]
    debug: bool,
    /// BTF bundle for kernels without /sys/kernel/btf/vmlinux (`btf mincore-archive`, see
    /// scripts/build-btf-bundle.sh); replaces the embedded one.
    #[arg(long)]
    btf_bundle: Option<std::path::PathBuf>,
    /// Ignore /sys/kernel/btf/vmlinux, as on a kernel without it (to try a bundle).
    #[arg(long)]
    no_sysfs_btf: bool,
    /// Syscall hooks: `auto` (one tp_btf sys_exit program; sys_enter only for execve-like
    /// and exit-like events) or `entry-exit` (Tracee's raw_tp pair, entry timestamps).
    #[arg(long, value_enum, default_value_t = Hooks::Auto)]
    syscall_hooks: Hooks,
    /// Attach raw tracepoints only (the fallbacks taken where tp_btf cannot attach):
    /// implies `--syscall-hooks entry-exit`.
    #[arg(long)]
    raw_tracepoints_only: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Hooks {
    Auto,
    EntryExit,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the events the tracer knows (Event | Sets | Arguments).
    List(list::ListArgs),
    /// List the built-in signatures (ID | Name | Version | Severity | Description).
    Signatures,
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
    match cli.command {
        Some(Command::List(args)) => return list::run(args),
        Some(Command::Signatures) => return list_signatures(),
        None => {}
    }

    let mut policies = PolicySet::new();
    let catalog = tracee_core::events::Catalog::builtin();
    if !cli.policy.is_empty() {
        anyhow::ensure!(
            cli.scope.is_empty() && cli.events.is_empty(),
            "--policy cannot be combined with --scope or --events"
        );
        for path in &cli.policy {
            for p in tracee_core::filters::policies_from_path(&catalog, path)? {
                policies.push(p)?;
            }
        }
    } else if !cli.signatures || !cli.events.is_empty() || !cli.scope.is_empty() {
        let events = if cli.events.is_empty() {
            vec!["execve,openat".to_string()]
        } else {
            cli.events.clone()
        };
        policies.push(policy_from_flags(&catalog, "cli", &cli.scope, &events)?)?;
    }
    // Events matched by the user's policies are printed; the signatures' own policy (the last
    // bit) only feeds the engine.
    let printed: u64 = match policies.len() {
        0 => 0,
        n => u64::MAX >> (64 - n),
    };
    let mut engine = None;
    if cli.signatures {
        let e = SignatureEngine::new(builtin::all())?;
        e.validate(&catalog)?;
        let events = [e.events().join(",")];
        policies.push(policy_from_flags(
            &catalog,
            "signatures",
            &[""; 0],
            &events,
        )?)?;
        engine = Some(e);
    }
    let mut builder = Tracer::builder()
        .policies(policies)
        .syscall_hooks(match cli.syscall_hooks {
            Hooks::Auto => SyscallHooks::Auto,
            Hooks::EntryExit => SyscallHooks::EntryAndExit,
        })
        .raw_tracepoints_only(cli.raw_tracepoints_only);
    if let Some(path) = &cli.btf_bundle {
        let bundle = tracee_btf::bundle::Bundle::open(path)
            .with_context(|| format!("reading the BTF bundle {}", path.display()))?;
        builder = builder.btf_bundle(bundle);
    }
    if cli.no_sysfs_btf {
        builder = builder.btf_resolver(tracee_btf::resolver::BtfResolver::new().no_sysfs());
    }
    let tracer = Arc::new(builder.build().map_err(common::starting_error)?);
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
    if cli.output == Output::Table && printed != 0 {
        table.write_header(&mut out)?;
    }
    for ev in tracer.events() {
        if ev.header.matched_policies & printed != 0 {
            match cli.output {
                Output::Table => table.write_event(&mut out, &ev)?,
                Output::Json => JsonPrinter.write_event(&mut out, &ev)?,
            }
        }
        for finding in engine.iter_mut().flat_map(|e| e.process(&ev)) {
            match cli.output {
                Output::Table => writeln!(out, "{finding}\n")?,
                Output::Json => {
                    serde_json::to_writer(&mut out, &finding)?;
                    writeln!(out)?;
                }
            }
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
    if let Some(e) = &engine {
        let fired: Vec<String> = e
            .counts()
            .filter(|&(_, n)| n > 0)
            .map(|(id, n)| format!("{id}: {n}"))
            .collect();
        eprintln!(
            "detections: {}",
            if fired.is_empty() {
                "none".into()
            } else {
                fired.join(", ")
            }
        );
    }
    Ok(())
}

/// Like Tracee's `--list`: ID NAME VERSION SEVERITY DESCRIPTION.
fn list_signatures() -> anyhow::Result<()> {
    let e = SignatureEngine::new(builtin::all())?;
    println!(
        "{:<7} {:<34} {:<8} {:<9} DESCRIPTION",
        "ID", "NAME", "VERSION", "SEVERITY"
    );
    for m in e.signatures() {
        println!(
            "{:<7} {:<34} {:<8} {:<9} {}",
            m.id,
            m.name,
            m.version,
            m.severity.to_string(),
            m.description
        );
    }
    Ok(())
}
