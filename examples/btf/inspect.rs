//! `btf inspect FILE [--json]`: the number of types and their count per kind.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use tracee_btf::Btf;

#[derive(clap::Args)]
pub struct InspectArgs {
    /// A raw BTF file, a btfhub `.btf.tar.xz` or a `.btf.gz`.
    file: PathBuf,
    /// Print one JSON object: {"types": N, "kinds": {"STRUCT": n, ...}}.
    #[arg(long)]
    json: bool,
    /// Also run the full validation (string offsets and type ids inside records, cycles).
    #[arg(long)]
    validate: bool,
}

pub fn run(args: InspectArgs) -> anyhow::Result<()> {
    let start = Instant::now();
    let btf =
        Btf::from_file(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
    let opened = start.elapsed();
    if args.validate {
        btf.validate()
            .with_context(|| format!("validating {}", args.file.display()))?;
    }
    let mut kinds: BTreeMap<&'static str, u64> = BTreeMap::new();
    for t in btf.types() {
        *kinds.entry(t.kind().name()).or_default() += 1;
    }
    if args.json {
        let out = serde_json::json!({ "types": btf.type_count(), "kinds": kinds });
        println!("{out}");
        return Ok(());
    }
    println!("{}", args.file.display());
    println!(
        "  {} types, {} bytes, {}-endian, opened in {:.2?}{}",
        btf.type_count(),
        btf.raw_bytes().len(),
        if btf.is_big_endian() { "big" } else { "little" },
        opened,
        if args.validate { ", valid" } else { "" }
    );
    let width = kinds.keys().map(|k| k.len()).max().unwrap_or(0);
    for (kind, n) in &kinds {
        println!("  {kind:<width$} {n:>8}");
    }
    Ok(())
}
