//! Turning event selectors into the program's configuration map entries.

use std::collections::BTreeMap;

use crate::events::{Arch, Catalog, EventDefinition, EventId, EventKind};
use crate::wire::config::{EventCfg, Lifecycle, LifecycleCfg, MAX_SYSCALL_NR};
use crate::TracerError;

/// What the program must be told: syscall entries by number, lifecycle entries by hook.
#[derive(Debug, Default, Clone)]
pub(crate) struct Selection {
    pub(crate) syscalls: BTreeMap<u32, EventCfg>,
    pub(crate) lifecycle: BTreeMap<u8, (Lifecycle, LifecycleCfg)>,
    pub(crate) ids: Vec<EventId>,
}

impl Selection {
    pub(crate) fn resolve(
        catalog: &Catalog,
        selectors: &[String],
        policies: u64,
    ) -> Result<Selection, TracerError> {
        let arch = Arch::native().ok_or_else(|| TracerError::Unsupported {
            event: selectors.join(","),
            reason: format!(
                "no syscall table for this architecture ({})",
                std::env::consts::ARCH
            ),
        })?;
        let mut defs: BTreeMap<EventId, &EventDefinition> = BTreeMap::new();
        for s in selectors {
            for d in catalog.select(s).map_err(TracerError::Catalog)? {
                defs.insert(d.id(), d);
            }
        }
        if defs.is_empty() {
            return Err(TracerError::NoEvents);
        }
        let mut sel = Selection::default();
        for def in defs.values() {
            match def.kind() {
                EventKind::Syscall => {
                    let nr = def
                        .syscall_nr(arch)
                        .ok_or_else(|| TracerError::Unsupported {
                            event: def.name().to_string(),
                            reason: format!("no syscall number on {arch}"),
                        })?;
                    if nr >= MAX_SYSCALL_NR {
                        return Err(TracerError::Unsupported {
                            event: def.name().to_string(),
                            reason: format!("syscall number {nr} is beyond the program's table of {MAX_SYSCALL_NR}"),
                        });
                    }
                    let cfg = EventCfg::for_syscall(def, policies).map_err(TracerError::Config)?;
                    sel.syscalls.insert(nr, cfg);
                }
                EventKind::Lifecycle => {
                    let hook = Lifecycle::from_event_name(def.name()).ok_or_else(|| {
                        TracerError::Unsupported {
                            event: def.name().to_string(),
                            reason: "the tracer's program has no hook for this lifecycle event"
                                .to_string(),
                        }
                    })?;
                    sel.lifecycle.insert(
                        hook as u8,
                        (hook, LifecycleCfg::for_event(hook, def, policies)),
                    );
                }
                _ => return Err(TracerError::Unsupported {
                    event: def.name().to_string(),
                    reason:
                        "custom events come from the embedding tool's own program, not the tracer's"
                            .to_string(),
                }),
            }
            sel.ids.push(def.id());
        }
        Ok(sel)
    }
}
