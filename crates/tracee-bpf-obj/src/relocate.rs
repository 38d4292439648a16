//! CO-RE relocation and BTF minimization of a [`BpfObject`] against a target BTF, using
//! tracee-btf's native relocator ([`tracee_btf::core`]).
//!
//! ```no_run
//! use tracee_bpf_obj::elf::BpfObject;
//! use tracee_bpf_obj::relocate::relocate;
//!
//! let obj = BpfObject::from_path("tracee.bpf.o")?;
//! let kernel = tracee_btf::Btf::from_sysfs()?;
//! let report = relocate(&obj, &kernel)?;
//! for e in &report.entries {
//!     println!("{} {}: {:?}", e.section, e.kind, e.result.as_ref().map(|r| r.new_val));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use tracee_btf::core::{self as core_relo, CoreError, CoreRelo, CoreReloKind, RelocResult};
use tracee_btf::Btf;

use crate::elf::BpfObject;

/// Why an object could not be relocated at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelocateError {
    /// The object has CO-RE relocations but no `.BTF`.
    #[error("object {object} has CO-RE relocations but no .BTF section")]
    NoBtf {
        /// Object name.
        object: String,
    },
    /// Minimization failed on the target BTF.
    #[error("minimizing BTF for object {object}: {source}")]
    Minimize {
        /// Object name.
        object: String,
        /// The cause.
        #[source]
        source: core_relo::MinimizeError,
    },
}

/// One relocation of the object and its outcome.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RelocationEntry {
    /// ELF section of the relocated instruction.
    pub section: String,
    /// Function (program or subprogram) holding the instruction, when known.
    pub function: Option<String>,
    /// The record in tracee-btf's terms.
    pub relo: CoreRelo,
    /// Relocation kind.
    pub kind: CoreReloKind,
    /// Access path in the object's BTF, e.g. `struct task_struct.pid`.
    pub access_path: String,
    /// The value for the target, or why not.
    pub result: Result<RelocResult, CoreError>,
}

/// Every CO-RE relocation of an object resolved against one target.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RelocationReport {
    /// In `.BTF.ext` order.
    pub entries: Vec<RelocationEntry>,
}

impl RelocationReport {
    /// Relocations that could not be computed (errors, not absent targets).
    pub fn errors(&self) -> impl Iterator<Item = &RelocationEntry> {
        self.entries.iter().filter(|e| e.result.is_err())
    }

    /// Relocations whose target is absent: poisoned instructions (reachable ones fail
    /// verification) or existence checks returning 0.
    pub fn unresolved(&self) -> impl Iterator<Item = &RelocationEntry> {
        self.entries
            .iter()
            .filter(|e| matches!(&e.result, Ok(r) if r.poison || (r.target_type_id.is_none() && e.kind != CoreReloKind::TypeIdLocal)))
    }
}

/// The object's relocation records in tracee-btf's terms, in `.BTF.ext` order.
pub fn core_relos(obj: &BpfObject) -> Vec<CoreRelo> {
    obj.core_relos().iter().map(|r| r.to_core()).collect()
}

fn local_btf(obj: &BpfObject) -> Result<Option<&Btf>, RelocateError> {
    match obj.btf() {
        Some(b) => Ok(Some(b)),
        None if obj.core_relos().is_empty() => Ok(None),
        None => Err(RelocateError::NoBtf {
            object: obj.name().to_string(),
        }),
    }
}

/// Resolves every CO-RE relocation of `obj` against `target` as libbpf would at load time.
pub fn relocate(obj: &BpfObject, target: &Btf) -> Result<RelocationReport, RelocateError> {
    let Some(local) = local_btf(obj)? else {
        return Ok(RelocationReport::default());
    };
    let relos = core_relos(obj);
    let report = core_relo::relocate_all(local, target, &relos);
    Ok(RelocationReport {
        entries: obj
            .core_relos()
            .iter()
            .zip(relos)
            .zip(report.results)
            .map(|((r, relo), result)| RelocationEntry {
                section: r.section.clone(),
                function: r.function.clone(),
                kind: relo.kind,
                access_path: r.spec.access_path(),
                relo,
                result,
            })
            .collect(),
    })
}

/// The minimal BTF `obj` needs from `target` (`bpftool gen min_core_btf TARGET OUT OBJ`).
pub fn min_core_btf(obj: &BpfObject, target: &Btf) -> Result<core_relo::Minimized, RelocateError> {
    let relos = core_relos(obj);
    let empty;
    let local = match local_btf(obj)? {
        Some(b) => b,
        None => {
            empty = Btf::from_vec(tracee_btf::BtfBuilder::new().finish().map_err(|e| {
                RelocateError::Minimize {
                    object: obj.name().to_string(),
                    source: core_relo::MinimizeError::Write(e),
                }
            })?)
            .map_err(|e| RelocateError::Minimize {
                object: obj.name().to_string(),
                source: core_relo::MinimizeError::Write(e),
            })?;
            &empty
        }
    };
    core_relo::min_core_btf(target, local, &relos).map_err(|source| RelocateError::Minimize {
        object: obj.name().to_string(),
        source,
    })
}
