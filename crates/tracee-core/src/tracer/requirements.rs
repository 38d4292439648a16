//! What a BPF object needs from the kernel: the map types it declares and the helpers it
//! calls, read from the object itself and probed on this kernel. The tracer runs this when a
//! load fails, so an old kernel gets one error naming every missing feature (and the Linux
//! version that added it) instead of a verifier log.

use std::collections::BTreeSet;
use std::fmt;

use tracee_bpf_obj::elf::{BpfObject, ObjectError};
use tracee_bpf_obj::module::{probe_helper, probe_map_type, MapType, ProgramType, Support};

/// `SHF_EXECINSTR`: a section of instructions.
const SHF_EXECINSTR: u64 = 0x4;
/// `BPF_JMP | BPF_CALL`.
const OP_CALL: u8 = 0x85;

/// Name and first Linux release of the helpers and map types the tracer's program uses;
/// others are reported by number. (A test keeps this table covering the embedded object.)
const HELPERS: &[(u32, &str, &str)] = &[
    (1, "bpf_map_lookup_elem", "3.19"),
    (2, "bpf_map_update_elem", "3.19"),
    (3, "bpf_map_delete_elem", "3.19"),
    (5, "bpf_ktime_get_ns", "4.1"),
    (8, "bpf_get_smp_processor_id", "4.1"),
    (14, "bpf_get_current_pid_tgid", "4.2"),
    (15, "bpf_get_current_uid_gid", "4.2"),
    (16, "bpf_get_current_comm", "4.2"),
    (35, "bpf_get_current_task", "4.8"),
    (80, "bpf_get_current_cgroup_id", "4.18"),
    (112, "bpf_probe_read_user", "5.5"),
    (113, "bpf_probe_read_kernel", "5.5"),
    (114, "bpf_probe_read_user_str", "5.5"),
    (115, "bpf_probe_read_kernel_str", "5.5"),
    (130, "bpf_ringbuf_output", "5.8"),
    (131, "bpf_ringbuf_reserve", "5.8"),
    (132, "bpf_ringbuf_submit", "5.8"),
    (133, "bpf_ringbuf_discard", "5.8"),
    (134, "bpf_ringbuf_query", "5.8"),
    (156, "bpf_task_storage_get", "5.11"),
    (157, "bpf_task_storage_delete", "5.11"),
    (158, "bpf_get_current_task_btf", "5.11, and in-kernel BTF"),
    (175, "bpf_task_pt_regs", "5.15, and in-kernel BTF"),
    (180, "bpf_find_vma", "5.17"),
    (181, "bpf_loop", "5.17"),
];

const MAP_SINCE: &[(u32, &str)] = &[(27, "5.8"), (29, "5.11")];

/// One thing an object needs that this kernel does not offer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MissingFeature {
    /// What: `helper bpf_loop`, `map type ringbuf`.
    pub what: String,
    /// The Linux release that added it, when known.
    pub since: Option<&'static str>,
    /// The probe's answer.
    pub reason: String,
}

impl fmt::Display for MissingFeature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)?;
        if let Some(v) = self.since {
            write!(f, " (Linux {v})")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Helper numbers called anywhere in `obj` (programs and subprograms); `bytes` is the ELF
/// file `obj` was read from.
pub fn helpers_called(obj: &BpfObject, bytes: &[u8]) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    // EI_DATA: 2 is big-endian (bpfeb); everything else reads as little-endian.
    let little = bytes.get(5) != Some(&2);
    for sec in obj.sections() {
        if sec.flags & SHF_EXECINSTR == 0 {
            continue;
        }
        let range = usize::try_from(sec.file_offset)
            .ok()
            .zip(usize::try_from(sec.size).ok())
            .and_then(|(start, len)| Some(start..start.checked_add(len)?));
        let Some(bytes) = range.and_then(|r| bytes.get(r)) else {
            continue;
        };
        for insn in bytes.chunks_exact(8) {
            // src_reg 0: a helper (1 is a bpf-to-bpf call, 2 a kfunc).
            let src_reg = if little { insn[1] >> 4 } else { insn[1] & 0xf };
            if insn[0] == OP_CALL && src_reg == 0 {
                let imm = [insn[4], insn[5], insn[6], insn[7]];
                out.insert(if little {
                    u32::from_le_bytes(imm)
                } else {
                    u32::from_be_bytes(imm)
                });
            }
        }
    }
    out
}

/// The features `object` needs that this kernel lacks: an empty list when the object's map
/// types and helpers are all available (helpers probed in raw tracepoint programs, the
/// tracer's program type).
pub fn missing_kernel_features(object: &[u8]) -> Result<Vec<MissingFeature>, ObjectError> {
    let obj = BpfObject::from_bytes(object)?;
    let mut missing = Vec::new();
    let types: BTreeSet<u32> = obj.maps().iter().map(|m| m.map_type.0).collect();
    for ty in types {
        if let Support::Unsupported { reason } = probe_map_type(MapType::from(ty)) {
            let name = tracee_bpf_obj::elf::MapType(ty).name().unwrap_or("unknown");
            missing.push(MissingFeature {
                what: format!("map type {name} (#{ty})"),
                since: MAP_SINCE.iter().find(|(t, _)| *t == ty).map(|(_, v)| *v),
                reason,
            });
        }
    }
    for id in helpers_called(&obj, object) {
        if let Support::Unsupported { reason } = probe_helper(ProgramType::RawTracepoint, id) {
            let known = HELPERS.iter().find(|(h, _, _)| *h == id);
            missing.push(MissingFeature {
                what: match known {
                    Some((_, name, _)) => format!("helper {name} (#{id})"),
                    None => format!("helper #{id}"),
                },
                since: known.map(|(_, _, v)| *v),
                reason,
            });
        }
    }
    Ok(missing)
}

/// Name of a helper the table knows.
pub fn helper_name(id: u32) -> Option<&'static str> {
    HELPERS
        .iter()
        .find(|(h, _, _)| *h == id)
        .map(|(_, n, _)| *n)
}
