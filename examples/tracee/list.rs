//! `tracee list [PATTERN|tag=T] [--json]`: the events the tracer knows, like `tracee list`.

use anyhow::Context;
use tracee_core::events::{list_json, list_table, Catalog};

/// Arguments of `tracee list`.
#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// An event name, a glob (`open*`) or a set (`tag=fs`, `set=fs`); all events if absent.
    pub pattern: Option<String>,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Prints the matching events.
pub fn run(args: ListArgs) -> anyhow::Result<()> {
    let catalog = Catalog::builtin_ref();
    let defs = match &args.pattern {
        Some(p) => catalog
            .select(p)
            .with_context(|| format!("tracee list {p}"))?,
        None => catalog.iter().collect(),
    };
    if args.json {
        println!("{}", list_json(defs).context("serializing the event list")?);
    } else {
        print!("{}", list_table(defs));
    }
    Ok(())
}
