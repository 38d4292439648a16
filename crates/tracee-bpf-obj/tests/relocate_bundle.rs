//! BTFGen into a resolver bundle (what `btf mincore-archive` does): every btfhub sample
//! minimized for the CO-RE objects, written with the bundle builder, read back by key, and
//! relocating against each extracted BTF gives the full BTF's results.

mod relocate_common;

use relocate_common::*;
use tracee_bpf_obj::elf::BpfObject;
use tracee_btf::archive::ArchiveLimits;
use tracee_btf::bundle::{BtfKey, Bundle, BundleBuilder};
use tracee_btf::core::{relocate_all, BtfGen};
use tracee_btf::Btf;

fn key_of(path: &std::path::Path) -> BtfKey {
    let rel = path.strip_prefix(btfhub_dir()).unwrap();
    let parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    let release = parts[3].trim_end_matches(".btf.tar.xz");
    BtfKey::new(&parts[0], &parts[1], &parts[2], release).unwrap()
}

#[test]
fn minimized_bundle_round_trip() {
    let objs: Vec<BpfObject> = objects()
        .iter()
        .map(|p| BpfObject::from_path(p).unwrap())
        .collect();
    let files = btfhub_files();
    let mut builder = BundleBuilder::new();
    builder.preset(6);
    let mut fulls = Vec::new();
    for f in &files {
        let full = Btf::from_file(f).unwrap();
        let mut gen = BtfGen::new(&full);
        for o in &objs {
            gen.add_object(o.btf().unwrap(), &core_relos(o)).unwrap();
        }
        let min = gen.finish().unwrap();
        assert!(
            min.len() * 100 < full.raw_bytes().len(),
            "{}: {} bytes",
            f.display(),
            min.len()
        );
        builder.add(key_of(f), min, f).unwrap();
        fulls.push(full);
    }
    let bundle = Bundle::from_vec(builder.build().unwrap()).unwrap();
    assert_eq!(bundle.entries().len(), files.len());
    for (f, full) in files.iter().zip(&fulls) {
        let entry = bundle
            .get(&key_of(f))
            .unwrap_or_else(|| panic!("{} missing", f.display()));
        let raw = bundle.extract(entry, &ArchiveLimits::default()).unwrap();
        let min = Btf::from_vec(raw).unwrap();
        for o in &objs {
            let relos = core_relos(o);
            let a = relocate_all(o.btf().unwrap(), full, &relos);
            let b = relocate_all(o.btf().unwrap(), &min, &relos);
            for (i, (x, y)) in a.results.iter().zip(&b.results).enumerate() {
                if x.is_err() {
                    continue;
                }
                assert_eq!(
                    outcome(relos[i].kind, full, x),
                    outcome(relos[i].kind, &min, y),
                    "{} / {} relo #{i}",
                    f.display(),
                    o.name()
                );
            }
        }
    }
}
