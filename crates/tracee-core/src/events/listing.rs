//! `tracee list`-style renderings of event definitions: a text table and a JSON document.

use serde::Serialize;

use super::EventDefinition;

/// Renders `defs` as a table with columns EVENT, SETS and ARGUMENTS, one event per line:
///
/// ```text
/// EVENT   SETS                     ARGUMENTS
/// openat  syscalls,fs,fs_file_ops  int dirfd, const char* pathname, int flags, mode_t mode
/// ```
pub fn list_table<'a>(defs: impl IntoIterator<Item = &'a EventDefinition>) -> String {
    let rows: Vec<(&str, String, String)> = defs
        .into_iter()
        .map(|d| {
            (
                d.name(),
                d.sets().collect::<Vec<_>>().join(","),
                d.signature(),
            )
        })
        .collect();
    let w_name = rows.iter().map(|r| r.0.len()).chain([5]).max().unwrap_or(5);
    let w_sets = rows.iter().map(|r| r.1.len()).chain([4]).max().unwrap_or(4);
    let mut out = String::new();
    let mut line = |a: &str, b: &str, c: &str| {
        let l = format!("{a:<w_name$}  {b:<w_sets$}  {c}");
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line("EVENT", "SETS", "ARGUMENTS");
    for (name, sets, args) in &rows {
        line(name, sets, args);
    }
    out
}

/// The JSON document `tracee list --json` prints: `{"events": [definition, ...]}`, each
/// definition with id, name, kind, sets, args (name, C type, wire type), ret and syscall
/// numbers.
pub fn list_json<'a>(
    defs: impl IntoIterator<Item = &'a EventDefinition>,
) -> serde_json::Result<String> {
    #[derive(Serialize)]
    struct Listing<'a> {
        events: Vec<&'a EventDefinition>,
    }
    serde_json::to_string_pretty(&Listing {
        events: defs.into_iter().collect(),
    })
}
