//! `btf resolve`: find the BTF for this kernel (or a described one) the way an agent would:
//! `$TRACEE_BTF_FILE`, sysfs, a bundle or btfhub-archive directory, then a mirror.
//!
//! ```text
//! cargo run --example btf -- resolve
//! cargo run --example btf -- resolve --no-sysfs --bundle testdata/btfhub \
//!     --os-release centos.os-release --kernel-release 4.18.0-147.5.1.el8_1.aarch64 --arch aarch64
//! ```

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use tracee_btf::bundle::Bundle;
use tracee_btf::download::{DownloadOptions, DEFAULT_MIRROR};
use tracee_btf::host::{OsInfo, OsRelease, Uname};
use tracee_btf::resolver::BtfResolver;

/// Flags of `btf resolve`.
#[derive(clap::Args)]
pub struct ResolveArgs {
    /// os-release file describing the target host (default: $TRACEE_OSRELEASE_FILE,
    /// $LIBBPFGO_OSRELEASE_FILE, /etc/os-release).
    #[arg(long, value_name = "FILE")]
    os_release: Option<PathBuf>,
    /// Kernel release to resolve for (default: uname -r).
    #[arg(long, value_name = "R")]
    kernel_release: Option<String>,
    /// Machine architecture: x86_64, arm64 or aarch64 (default: uname -m).
    #[arg(long, value_name = "A")]
    arch: Option<String>,
    /// Skip /sys/kernel/btf/vmlinux, as on a kernel without CONFIG_DEBUG_INFO_BTF.
    #[arg(long)]
    no_sysfs: bool,
    /// A bundle file (btf bundle format) or a directory in btfhub-archive layout.
    #[arg(long, value_name = "DIR_OR_FILE")]
    bundle: Option<PathBuf>,
    /// btfhub-archive mirror to download from.
    #[arg(long, value_name = "URL", default_value = DEFAULT_MIRROR)]
    mirror: String,
    /// Do not download.
    #[arg(long)]
    no_download: bool,
    /// Keep downloaded archives here (created 0700).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Download timeout in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    timeout: u64,
}

/// Runs `btf resolve`: prints the winning source, the path for libbpf, the report and the
/// type count.
pub fn run(args: ResolveArgs) -> anyhow::Result<()> {
    let mut resolver = BtfResolver::new();
    if args.no_sysfs {
        resolver = resolver.no_sysfs();
    }
    if args.os_release.is_some() || args.kernel_release.is_some() || args.arch.is_some() {
        let os_release = match &args.os_release {
            Some(p) => OsRelease::from_file(p)?,
            None => OsRelease::detect()?,
        };
        let uname = Uname::current()?;
        resolver = resolver.os_info(OsInfo::new(
            os_release,
            args.kernel_release.clone().unwrap_or(uname.release),
            args.arch.clone().unwrap_or(uname.machine),
        ));
    }
    if let Some(b) = &args.bundle {
        resolver = if b.is_dir() {
            resolver.btfhub_dir(b)
        } else {
            resolver
                .bundle(Bundle::open(b).with_context(|| format!("opening bundle {}", b.display()))?)
        };
    }
    if !args.no_download {
        let mut opts =
            DownloadOptions::with_mirror(&args.mirror).timeout(Duration::from_secs(args.timeout));
        if let Some(c) = &args.cache_dir {
            opts = opts.cache_dir(c);
        }
        resolver = resolver.download(opts);
    }

    let resolved = resolver.resolve()?;
    println!("source: {}", resolved.source());
    println!(
        "path:   {}{}",
        resolved.path().display(),
        if resolved.is_private_copy() {
            " (private copy, removed on exit)"
        } else {
            ""
        }
    );
    if let Some(k) = resolved.key() {
        println!("key:    {k}");
    }
    println!("types:  {}", resolved.btf().type_count());
    println!("report:\n{}", resolved.report());
    Ok(())
}
