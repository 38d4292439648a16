//! The event catalog as the filter language sees it: [`tracee_filters::EventCatalog`] for
//! [`Catalog`], so `--scope`/`--events`/policy files resolve against every built-in and
//! registered event.

use tracee_filters::{ArgInfo, ArgKind, EventCatalog};

use crate::events::{ArgType, Catalog, EventId};

/// How filters treat an argument type.
fn kind(ty: ArgType) -> ArgKind {
    match ty {
        ArgType::S32 | ArgType::S64 => ArgKind::Signed,
        ArgType::U32
        | ArgType::U64
        | ArgType::U16
        | ArgType::U8
        | ArgType::Bool
        | ArgType::Pointer => ArgKind::Unsigned,
        ArgType::Str => ArgKind::Str,
        ArgType::StrArray => ArgKind::StrArray,
        _ => ArgKind::Other,
    }
}

impl EventCatalog for Catalog {
    fn event_id(&self, name: &str) -> Option<u32> {
        self.by_name(name).map(|d| d.id().0)
    }

    fn event_name(&self, id: u32) -> Option<&str> {
        self.get(EventId(id)).map(|d| d.name())
    }

    fn event_ids(&self) -> Vec<u32> {
        self.iter().map(|d| d.id().0).collect()
    }

    fn in_set(&self, id: u32, set: &str) -> bool {
        self.get(EventId(id)).is_some_and(|d| d.in_set(set))
    }

    fn set_names(&self) -> Vec<&str> {
        self.sets().into_iter().collect()
    }

    fn args(&self, id: u32) -> Vec<ArgInfo<'_>> {
        self.get(EventId(id))
            .map(|d| {
                d.args()
                    .iter()
                    .enumerate()
                    .map(|(index, a)| ArgInfo {
                        index,
                        name: &a.name,
                        kind: kind(a.ty),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn has_retval(&self, id: u32) -> bool {
        self.get(EventId(id)).is_some_and(|d| d.ret().is_some())
    }

    fn glob(&self, pattern: &str) -> Vec<u32> {
        self.matching(pattern).map(|d| d.id().0).collect()
    }

    fn events_in_set(&self, set: &str) -> Vec<u32> {
        Catalog::in_set(self, set).map(|d| d.id().0).collect()
    }

    fn suggest_event(&self, name: &str) -> Option<String> {
        Catalog::suggest_event(self, name).map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracee_filters::{policy_from_flags, FilterError};

    #[test]
    fn the_builtin_catalog_resolves_filters() {
        let cat = Catalog::builtin();
        let openat = cat.by_name("openat").unwrap().id().0;
        let p = policy_from_flags(
            &cat,
            "cli",
            &["comm=cat"],
            &[
                "openat.data.pathname=/etc/*",
                "openat.retval<0",
                "tag=proc_life",
            ],
        )
        .unwrap();
        assert!(p.rules.contains_key(&openat));
        assert!(p
            .rules
            .contains_key(&cat.by_name("sched_process_exec").unwrap().id().0));
        let (i, _) = cat.by_name("openat").unwrap().arg("pathname").unwrap();
        assert!(p.rules[&openat].data.contains_key(&i));
        let e = policy_from_flags(&cat, "cli", &[""; 0], &["opnat"]).unwrap_err();
        assert!(
            matches!(&e, FilterError::UnknownEvent { suggestion: Some(s), .. } if s == "openat"),
            "{e}"
        );
        assert_eq!(EventCatalog::args(&cat, openat)[i].kind, ArgKind::Str);
        assert!(EventCatalog::has_retval(&cat, openat));
        assert!(EventCatalog::glob(&cat, "open*").contains(&openat));
    }
}
