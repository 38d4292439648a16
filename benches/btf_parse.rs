//! Opening and indexing this machine's vmlinux BTF, and name lookups, with tracee-btf and with
//! libbpf (`btf__new`, `btf__find_by_name_kind`, through libbpf-sys) in the same run.
//!
//! ```text
//! cargo bench --bench btf_parse
//! ```

use std::ffi::CString;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use tracee_btf::{Btf, Kind, SYSFS_VMLINUX};

const BTF_KIND_STRUCT: u32 = 4;
const ABSENT: &str = "tracee_no_such_type_anywhere";

/// Owns a libbpf `struct btf`.
struct LibbpfBtf(*mut libbpf_sys::btf);

impl LibbpfBtf {
    fn new(data: &[u8]) -> LibbpfBtf {
        // SAFETY: libbpf copies `data` and returns an owned object or an error pointer.
        let p = unsafe { libbpf_sys::btf__new(data.as_ptr().cast(), data.len() as u32) };
        assert!(
            unsafe { libbpf_sys::libbpf_get_error(p.cast()) } == 0,
            "btf__new failed"
        );
        LibbpfBtf(p)
    }

    fn find(&self, name: &CString) -> i32 {
        // SAFETY: the object is live and `name` is NUL-terminated.
        unsafe { libbpf_sys::btf__find_by_name_kind(self.0, name.as_ptr(), BTF_KIND_STRUCT) }
    }
}

impl Drop for LibbpfBtf {
    fn drop(&mut self) {
        // SAFETY: created by btf__new and freed once.
        unsafe { libbpf_sys::btf__free(self.0) }
    }
}

fn vmlinux() -> Option<&'static [u8]> {
    match std::fs::read(SYSFS_VMLINUX) {
        Ok(data) => Some(Box::leak(data.into_boxed_slice())),
        Err(e) => {
            eprintln!("btf_parse: skipped, cannot read {SYSFS_VMLINUX}: {e}");
            None
        }
    }
}

fn open(c: &mut Criterion) {
    let Some(data) = vmlinux() else { return };
    let mut g = c.benchmark_group("open vmlinux");
    g.bench_function("tracee-btf from_static (no copy)", |b| {
        b.iter(|| Btf::from_static(black_box(data)).unwrap())
    });
    g.bench_function("tracee-btf from_slice (copies, like libbpf)", |b| {
        b.iter(|| Btf::from_slice(black_box(data)).unwrap())
    });
    g.bench_function("libbpf btf__new", |b| {
        b.iter(|| LibbpfBtf::new(black_box(data)))
    });
    g.bench_function("tracee-btf name index build (first lookup)", |b| {
        b.iter_batched(
            || Btf::from_static(data).unwrap(),
            |btf| btf.find_by_name_kind("task_struct", Kind::Struct),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn lookup(c: &mut Criterion) {
    let Some(data) = vmlinux() else { return };
    let ours = Btf::from_static(data).unwrap();
    assert!(ours
        .find_by_name_kind("task_struct", Kind::Struct)
        .is_some());
    let theirs = LibbpfBtf::new(data);
    let (hit, miss) = (
        CString::new("task_struct").unwrap(),
        CString::new(ABSENT).unwrap(),
    );
    assert!(theirs.find(&hit) > 0 && theirs.find(&miss) < 0);

    let mut g = c.benchmark_group("lookup");
    g.bench_function("tracee-btf task_struct", |b| {
        b.iter(|| ours.find_by_name_kind(black_box("task_struct"), Kind::Struct))
    });
    g.bench_function("tracee-btf absent name", |b| {
        b.iter(|| ours.find_by_name_kind(black_box(ABSENT), Kind::Struct))
    });
    g.bench_function("libbpf task_struct", |b| {
        b.iter(|| theirs.find(black_box(&hit)))
    });
    g.bench_function("libbpf absent name", |b| {
        b.iter(|| theirs.find(black_box(&miss)))
    });
    g.finish();
}

criterion_group!(benches, open, lookup);
criterion_main!(benches);
