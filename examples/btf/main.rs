//! `btf`: inspect BTF files and resolve the BTF for a kernel.
//!
//! ```text
//! cargo run --release --example btf -- inspect /sys/kernel/btf/vmlinux [--json]
//! cargo run --example btf -- resolve [--no-sysfs] [--bundle DIR] [--mirror URL] ...
//! ```

mod inspect;
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
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracee_rs::init_logging(cli.debug);
    match cli.command {
        Command::Inspect(args) => inspect::run(args),
        Command::Resolve(args) => resolve::run(args),
    }
}
