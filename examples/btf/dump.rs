//! `btf dump FILE --format c [--types a,b]`: a C header from BTF, like
//! `bpftool btf dump file FILE format c` (the project's `vmlinux.h` is generated with it).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use tracee_btf::core::dump_c::dump_c;
use tracee_btf::{Btf, Kind};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// C declarations (`vmlinux.h`).
    C,
}

#[derive(clap::Args)]
pub struct DumpArgs {
    /// A raw BTF file, a btfhub `.btf.tar.xz` or a `.btf.gz`.
    file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "c")]
    format: Format,
    /// Only these named types (comma-separated) and the types they need.
    #[arg(long, value_delimiter = ',')]
    types: Vec<String>,
    /// Write here instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

pub fn run(args: DumpArgs) -> anyhow::Result<()> {
    let btf =
        Btf::from_file(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
    let roots = if args.types.is_empty() {
        None
    } else {
        let mut ids = Vec::new();
        for name in &args.types {
            let found: Vec<u32> = btf
                .find_by_name(name)
                .filter(|&id| {
                    btf.type_by_id(id).is_ok_and(|t| {
                        matches!(
                            t.kind(),
                            Kind::Struct
                                | Kind::Union
                                | Kind::Enum
                                | Kind::Enum64
                                | Kind::Typedef
                                | Kind::Fwd
                        )
                    })
                })
                .collect();
            if found.is_empty() {
                bail!(
                    "no struct, union, enum or typedef named {name:?} in {}",
                    args.file.display()
                );
            }
            ids.extend(found);
        }
        Some(ids)
    };
    let Format::C = args.format;
    let text = dump_c(&btf, roots.as_deref())
        .with_context(|| format!("dumping {}", args.file.display()))?;
    match args.output {
        Some(p) => std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) ends the output quietly.
            if let Err(e) = out.write_all(text.as_bytes()) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(e.into());
                }
            }
        }
    }
    Ok(())
}
