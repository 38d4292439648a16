//! `btf mincore TARGET OBJECT OUT` and `btf mincore-archive ARCHIVE_DIR OBJECT BUNDLE [--also OBJECT]`:
//! native BTFGen, the minimal BTF a CO-RE object needs from a kernel's BTF.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context};
use tracee_bpf_obj::elf::CoreObject;
use tracee_btf::bundle::{BtfKey, BundleBuilder};
use tracee_btf::core::BtfGen;
use tracee_btf::Btf;

#[derive(clap::Args)]
pub struct MincoreArgs {
    /// Kernel BTF: raw, `.btf.tar.xz` or `.btf.gz`.
    target: PathBuf,
    /// The CO-RE object (bpftool's order, `TARGET OUT OBJECT...`, is accepted too).
    object: PathBuf,
    /// Where to write the minimized raw BTF.
    out: PathBuf,
    /// More objects whose needs are added to the same output.
    more: Vec<PathBuf>,
}

#[derive(clap::Args)]
pub struct MincoreArchiveArgs {
    /// A btfhub-archive tree: `ID/VERSION_ID/ARCH/RELEASE.btf.tar.xz`.
    archive_dir: PathBuf,
    /// The CO-RE object.
    object: PathBuf,
    /// Where to write the resolver bundle.
    bundle: PathBuf,
    /// Another object whose needs are added to every kernel's BTF (repeatable), e.g. the same
    /// program built for another architecture.
    #[arg(long = "also")]
    also: Vec<PathBuf>,
    /// Worker threads (default: available cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// xz preset of the bundle (0-9).
    #[arg(long, default_value_t = 9)]
    preset: u32,
}

fn is_elf(p: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(p)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

struct LoadedObject {
    name: String,
    obj: CoreObject,
}

fn load_object(p: &Path) -> anyhow::Result<LoadedObject> {
    let obj = CoreObject::from_path(p).with_context(|| format!("reading {}", p.display()))?;
    if obj.btf().is_none() && !obj.relos().is_empty() {
        bail!("{} has CO-RE relocations but no .BTF", p.display());
    }
    Ok(LoadedObject {
        name: p.display().to_string(),
        obj,
    })
}

/// Minimizes `target` for `objects`; returns the raw BTF and a one-line summary.
fn minimize(target: &Btf, objects: &[LoadedObject]) -> anyhow::Result<(Vec<u8>, String)> {
    let mut gen = BtfGen::new(target);
    let mut failed = 0;
    for o in objects {
        let Some(local) = o.obj.btf() else { continue };
        let results = gen.add_object(local, o.obj.relos())?;
        for (r, res) in o.obj.relos().iter().zip(&results) {
            if let Err(e) = res {
                failed += 1;
                log::warn!("{}: {} relocation not resolved: {e}", o.name, r.kind);
            }
        }
    }
    let s = gen.stats().clone();
    let kept = gen.kept_types();
    let btf = gen.finish()?;
    let summary = format!(
        "{} relocations: {} matched, {} absent in target, {failed} failed; {kept} of {} types kept, {} bytes",
        s.relocations,
        s.matched,
        s.unmatched,
        s.target_types,
        btf.len()
    );
    Ok((btf, summary))
}

pub fn run(args: MincoreArgs) -> anyhow::Result<()> {
    // `mincore TARGET OBJECT OUT [OBJECT...]`, or bpftool's `TARGET OUT OBJECT [OBJECT...]`.
    let (out, mut objs) = if is_elf(&args.object) {
        (args.out, vec![args.object])
    } else if is_elf(&args.out) {
        (args.object, vec![args.out])
    } else {
        bail!(
            "neither {} nor {} is an ELF object",
            args.object.display(),
            args.out.display()
        );
    };
    objs.extend(args.more);
    let start = Instant::now();
    let target = Btf::from_file(&args.target)
        .with_context(|| format!("opening {}", args.target.display()))?;
    let objects = objs
        .iter()
        .map(|p| load_object(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (btf, summary) = minimize(&target, &objects)?;
    std::fs::write(&out, &btf).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "{}: {summary} ({:.1} ms)",
        out.display(),
        start.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}

/// `ID/VERSION_ID/ARCH/RELEASE.btf.tar.xz` (or `.btf`) files under `root`, with their keys.
fn archive_files(root: &Path) -> anyhow::Result<Vec<(BtfKey, PathBuf)>> {
    let mut out = Vec::new();
    let dirs = |p: &Path| -> anyhow::Result<Vec<PathBuf>> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(p)
            .with_context(|| format!("reading {}", p.display()))?
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path())
            .collect();
        v.sort();
        Ok(v)
    };
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    for id in dirs(root)? {
        for ver in dirs(&id)? {
            for arch in dirs(&ver)? {
                let mut files: Vec<PathBuf> = std::fs::read_dir(&arch)?
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                    .map(|e| e.path())
                    .collect();
                files.sort();
                for f in files {
                    let n = name(&f);
                    let Some(release) = n
                        .strip_suffix(".btf.tar.xz")
                        .or_else(|| n.strip_suffix(".btf"))
                    else {
                        continue;
                    };
                    let key = BtfKey::new(&name(&id), &name(&ver), &name(&arch), release)
                        .with_context(|| format!("bad btfhub path {}", f.display()))?;
                    out.push((key, f));
                }
            }
        }
    }
    Ok(out)
}

pub fn run_archive(args: MincoreArchiveArgs) -> anyhow::Result<()> {
    let start = Instant::now();
    let objects = std::iter::once(&args.object)
        .chain(&args.also)
        .map(|p| load_object(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let files = archive_files(&args.archive_dir)?;
    if files.is_empty() {
        bail!(
            "no ID/VERSION_ID/ARCH/RELEASE.btf.tar.xz under {}",
            args.archive_dir.display()
        );
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, files.len());
    let bar = indicatif::ProgressBar::new(files.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, anyhow::Result<Vec<u8>>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((key, path)) = files.get(i) else {
                    break;
                };
                let res = Btf::from_file(path)
                    .with_context(|| format!("opening {}", path.display()))
                    .and_then(|target| minimize(&target, &objects))
                    .map(|(btf, summary)| {
                        log::debug!("{key}: {summary}");
                        btf
                    });
                bar.set_message(key.release().to_string());
                bar.inc(1);
                if let Ok(mut r) = results.lock() {
                    r.push((i, res));
                }
            });
        }
    });
    bar.finish_and_clear();
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(i, _)| *i);
    let mut builder = BundleBuilder::new();
    builder.preset(args.preset);
    let (mut raw_total, mut failed) = (0usize, 0usize);
    for (i, res) in results {
        let (key, path) = &files[i];
        match res {
            Ok(btf) => {
                raw_total += btf.len();
                builder.add(key.clone(), btf, path)?;
            }
            Err(e) => {
                failed += 1;
                eprintln!("skipping {}: {e:#}", path.display());
            }
        }
    }
    builder
        .write_file(&args.bundle)
        .with_context(|| format!("writing {}", args.bundle.display()))?;
    let size = std::fs::metadata(&args.bundle)
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "{}: {} kernels ({failed} failed), {raw_total} bytes of minimized BTF in a {size}-byte bundle, {:.2} s with {jobs} threads",
        args.bundle.display(),
        files.len() - failed,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
