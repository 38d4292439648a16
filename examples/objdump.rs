//! Lists what a BPF object holds: programs (with their stack frames and worst call chain),
//! maps, externs, license, BTF and CO-RE relocations (grouped by kind, each with libbpf's
//! rendering of its access path).
//!
//! ```text
//! cargo run --example objdump -- path/to/prog.bpf.o
//! ```

use std::process::ExitCode;

use tracee_bpf_obj::elf::{BpfObject, CoreReloKind, MapDef, StackRounding};

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: objdump FILE.bpf.o");
        return ExitCode::from(2);
    };
    match BpfObject::from_path(&path) {
        Ok(obj) => {
            print_object(&obj);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("objdump: {}: {e}", path.to_string_lossy());
            ExitCode::FAILURE
        }
    }
}

fn print_object(obj: &BpfObject) {
    println!(
        "object {:?}: {}-endian, license {:?}, BTF types: {}",
        obj.name(),
        if obj.is_big_endian() { "big" } else { "little" },
        obj.license().unwrap_or("<none>"),
        obj.btf()
            .map_or("<no .BTF>".to_string(), |b| b.type_count().to_string()),
    );

    println!("\nprograms ({}):", obj.programs().len());
    println!(
        "  {:<24} {:<40} {:<20} {:>6}",
        "NAME", "SECTION", "ATTACH", "INSNS"
    );
    for p in obj.programs() {
        let mut kind = p.def.kind.to_string();
        if p.def.sleepable {
            kind.push_str(" sleepable");
        }
        if !p.def.autoload {
            kind.push_str(" no-autoload");
        }
        println!(
            "  {:<24} {:<40} {:<20} {:>6}",
            p.name, p.section, kind, p.insn_count
        );
    }

    print_stacks(obj);

    println!("\nmaps ({}):", obj.maps().len());
    println!(
        "  {:<24} {:<18} {:>5} {:>7} {:>11} {:>8}",
        "NAME", "TYPE", "KEY", "VALUE", "MAX_ENTRIES", "FLAGS"
    );
    for m in obj.maps() {
        print_map(m, "");
    }

    if !obj.externs().is_empty() {
        println!("\nexterns ({}):", obj.externs().len());
        for e in obj.externs() {
            let place = match (e.kconfig_offset, e.kconfig_size) {
                (Some(off), Some(size)) => format!(".kconfig+{off} ({size} bytes)"),
                _ => "kernel symbol".to_string(),
            };
            let weak = if e.weak { " weak" } else { "" };
            println!("  {:<32} {:?}{weak}, {place}", e.name, e.kind);
        }
    }

    let relos = obj.core_relos();
    println!("\nCO-RE relocations ({}):", relos.len());
    for kind in CoreReloKind::ALL {
        let of_kind: Vec<_> = obj.core_relos_of(kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        println!(
            "  {} ({}, {kind}) x{}:",
            kind.const_name(),
            kind.raw(),
            of_kind.len()
        );
        for r in of_kind {
            let func = r.function.as_deref().unwrap_or("?");
            println!(
                "    {:<20} {}+{:<5} {}",
                func, r.section, r.insn_off, r.spec
            );
        }
    }
}

/// Per program: the frames in the verifier's func# order (as its `stack depth` line), the
/// worst chain under each rounding rule, and what this kernel's verifier would refuse.
fn print_stacks(obj: &BpfObject) {
    let analyses = match obj.stack_analyses() {
        Ok(a) => a,
        Err(e) => {
            println!("\nstack: analysis failed: {e}");
            return;
        }
    };
    let here = StackRounding::this_kernel();
    println!("\nstack (frames in func# order; chains with rounded frames; this kernel: {here}):");
    for a in &analyses {
        let depths: Vec<String> = a.depths().iter().map(u32::to_string).collect();
        println!("  {} depth {}", a.program, depths.join("+"));
        let jit = a.worst_chain(StackRounding::Jit16);
        let strict = a.worst_chain(StackRounding::Interpreter32);
        if jit.links == strict.links {
            println!("    stack: {jit} (32-byte rounding: {})", strict.total);
        } else {
            println!("    stack: {jit}");
            println!("    32-byte rounding: {strict}");
        }
        if let Some(v) = a.verifier_violation(here) {
            println!("    refused: {v}");
        }
    }
}

fn print_map(m: &MapDef, indent: &str) {
    println!(
        "  {indent}{:<w$} {:<18} {:>5} {:>7} {:>11} {:>#8x}{}",
        m.name,
        m.map_type.to_string(),
        m.key_size,
        m.value_size,
        m.max_entries,
        m.map_flags,
        if m.init_slots.is_empty() {
            String::new()
        } else {
            let slots: Vec<String> = m
                .init_slots
                .iter()
                .map(|s| format!("[{}]={}", s.index, s.target))
                .collect();
            format!("  init {}", slots.join(" "))
        },
        w = 24 - indent.len(),
    );
    if let Some(inner) = &m.inner {
        print_map(inner, "  inner: ");
    }
}
