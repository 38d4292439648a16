//! Privileged end-to-end test: a 64-bit process making a 32-bit syscall (`int $0x80`, the
//! i386 table) must not be reported as the 64-bit syscall of the same number. i386 `open`
//! is 5, x86_64's 5 is `fstat`: a tracer reading `orig_ax` alone would report an fstat
//! whose fd is the path's address, and miss the open.

mod e2e_common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use e2e_common::{collect_until, run_ok, tracer_or_skip};
use tracee_core::tracer::Tracer;

const BASE: u64 = 0x40_0000;
const CODE: u64 = 64 + 56; // after the ELF header and the one program header

/// A static x86_64 executable that opens `path` read-only twice, first with the i386 `open`
/// through `int $0x80`, then with the x86_64 `open` through `syscall`, and exits 0.
fn compat_open_elf(path: &str) -> Vec<u8> {
    let mut code = Vec::new();
    let path_at = |code_len: usize| (BASE + CODE + code_len as u64) as u32;
    // The path's address comes after the code, whose length is fixed: assemble twice.
    let assemble = |addr: u32, code: &mut Vec<u8>| {
        code.clear();
        code.extend([0xb8, 5, 0, 0, 0]); // mov eax, 5 (i386 open)
        code.push(0xbb); // mov ebx, path
        code.extend(addr.to_le_bytes());
        code.extend([0x31, 0xc9]); // xor ecx, ecx (O_RDONLY)
        code.extend([0xcd, 0x80]); // int 0x80
        code.extend([0xb8, 2, 0, 0, 0]); // mov eax, 2 (x86_64 open)
        code.push(0xbf); // mov edi, path
        code.extend(addr.to_le_bytes());
        code.extend([0x31, 0xf6]); // xor esi, esi
        code.extend([0x0f, 0x05]); // syscall
        code.extend([0xb8, 60, 0, 0, 0]); // mov eax, 60 (exit)
        code.extend([0x31, 0xff]); // xor edi, edi
        code.extend([0x0f, 0x05]); // syscall
    };
    assemble(0, &mut code);
    let addr = path_at(code.len());
    assemble(addr, &mut code);
    code.extend(path.as_bytes());
    code.push(0);
    let size = CODE + code.len() as u64;

    let mut elf = Vec::new();
    elf.extend(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    elf.extend(2u16.to_le_bytes()); // ET_EXEC
    elf.extend(0x3eu16.to_le_bytes()); // EM_X86_64
    elf.extend(1u32.to_le_bytes());
    elf.extend((BASE + CODE).to_le_bytes()); // e_entry
    elf.extend(64u64.to_le_bytes()); // e_phoff
    elf.extend(0u64.to_le_bytes()); // e_shoff
    elf.extend(0u32.to_le_bytes()); // e_flags
    elf.extend(64u16.to_le_bytes()); // e_ehsize
    elf.extend(56u16.to_le_bytes()); // e_phentsize
    elf.extend(1u16.to_le_bytes()); // e_phnum
    elf.extend([0u8; 6]); // e_shentsize, e_shnum, e_shstrndx
    elf.extend(1u32.to_le_bytes()); // PT_LOAD
    elf.extend(5u32.to_le_bytes()); // PF_R | PF_X
    elf.extend(0u64.to_le_bytes()); // p_offset
    elf.extend(BASE.to_le_bytes()); // p_vaddr
    elf.extend(BASE.to_le_bytes()); // p_paddr
    elf.extend(size.to_le_bytes()); // p_filesz
    elf.extend(size.to_le_bytes()); // p_memsz
    elf.extend(0x1000u64.to_le_bytes()); // p_align
    assert_eq!(elf.len() as u64, CODE);
    elf.extend(code);
    elf
}

#[test]
fn e2e_int80_syscall_of_a_64_bit_task_is_not_read_as_a_64_bit_one() {
    if !cfg!(target_arch = "x86_64") {
        println!("e2e_int80: skipped, x86_64 only");
        return;
    }
    let test = "e2e_int80_syscall_of_a_64_bit_task_is_not_read_as_a_64_bit_one";
    let Some(tracer) = tracer_or_skip(test, Tracer::builder().events(["open", "fstat"])) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("int80-target");
    std::fs::write(&target, "x").expect("write the target");
    let target = target.to_str().expect("utf-8 path").to_string();
    let exe = dir.path().join("int80-open");
    std::fs::write(&exe, compat_open_elf(&target)).expect("write the executable");
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let pid = run_ok(&mut Command::new(&exe));

    // The 64-bit open comes second: once it is here, so is whatever the first made.
    let events = collect_until(
        &tracer,
        Duration::from_secs(10),
        |e| e.header.pid == pid,
        |evs| evs.iter().any(|e| e.event_name == "open"),
    );
    let events = [
        events,
        collect_until(
            &tracer,
            Duration::from_millis(300),
            |e| e.header.pid == pid,
            |_| false,
        ),
    ]
    .concat();
    tracer.stop();
    let opens: Vec<_> = events.iter().filter(|e| e.event_name == "open").collect();
    assert_eq!(
        opens.len(),
        1,
        "exactly the 64-bit open (the control): {events:#?}"
    );
    assert_eq!(
        opens[0].arg("pathname").and_then(|v| v.as_str()),
        Some(target.as_str()),
        "{events:#?}"
    );
    assert!(
        events.iter().all(|e| e.event_name != "fstat"),
        "the i386 open (5) was read as x86_64's fstat (5): {events:#?}"
    );
}
