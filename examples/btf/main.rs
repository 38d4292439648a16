//! `btf`: inspect BTF files and resolve the BTF for a kernel.
//!
//! ```text
//! cargo run --release --example btf -- inspect /sys/kernel/btf/vmlinux [--json]
//! cargo run --example btf -- resolve [--no-sysfs] [--bundle DIR] [--mirror URL] ...
//! cargo run --release --example btf -- mincore TARGET.btf[.tar.xz] OBJECT.o OUT.btf
//! cargo run --release --example btf -- mincore-archive ARCHIVE_DIR OBJECT.o BUNDLE
//! cargo run --example btf -- dump FILE --format c [--types a,b]
//! ```

mod dump;
mod inspect;
mod mincore;
mod resolve;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Inspect BTF files and resolve the BTF for a kernel")]
struct Cli {
    /// Log what each step does (RUST_LOG overrides).
    #[arg(long, global = true)]
    debug: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Count the types of a BTF file (raw, .btf.tar.xz or .btf.gz) by kind.
    Inspect(inspect::InspectArgs),
    /// Find the BTF for a kernel: env, sysfs, embedded bundle, then download.
    Resolve(resolve::ResolveArgs),
    /// Minimize a kernel BTF to what a CO-RE object needs (bpftool gen min_core_btf).
    Mincore(mincore::MincoreArgs),
    /// Minimize every kernel of a btfhub-archive tree for an object into a resolver bundle.
    MincoreArchive(mincore::MincoreArchiveArgs),
    /// Write BTF as a C header (bpftool btf dump file FILE format c).
    Dump(dump::DumpArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracee_rs::init_logging(cli.debug);
    match cli.command {
        Command::Inspect(args) => inspect::run(args),
        Command::Resolve(args) => resolve::run(args),
        Command::Mincore(args) => mincore::run(args),
        Command::MincoreArchive(args) => mincore::run_archive(args),
        Command::Dump(args) => dump::run(args),
    }
}
