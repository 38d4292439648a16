//! The BPF maps the filters compile into: exact key and value layouts (`#[repr(C)]`, shared
//! with `crates/tracee-core/bpf/filters.bpf.h`; `crates/tracee-core/tests/layout_matches_btf.rs`
//! checks them, member by member, against the compiled object's BTF).
//!
//! # Maps
//!
//! | map            | type     | key          | value         | what                                      |
//! |----------------|----------|--------------|---------------|-------------------------------------------|
//! | `tr_f_active`  | ARRAY, 1 | `u32` 0      | [`ActiveCfg`] | the version the program judges with       |
//! | `tr_f_scope`   | HASH     | `u32` version| [`ScopeCfg`]  | per-kind bitmaps, ranges, container, new  |
//! | `tr_f_events`  | HASH     | [`EventKey`] | [`EventVal`]  | policies selecting each event             |
//! | `tr_f_num`     | HASH     | [`NumKey`]   | [`EqVal`]     | uid, pid, mntns, pidns, executable hash   |
//! | `tr_f_str`     | HASH     | [`StrKey`]   | [`EqVal`]     | comm, uts                                 |
//! | `tr_f_tree`    | HASH     | [`TreeKey`]  | [`EqVal`]     | tree roots                                |
//! | `tr_f_args`    | HASH     | [`ArgKey`]   | [`ArgVal`]    | per event argument with string filters    |
//! | `tr_f_exact`   | HASH     | [`DataKey`]  | [`EqVal`]     | exact strings, by FNV-1a hash             |
//! | `tr_f_prefix`  | LPM_TRIE | [`LpmKey`]   | [`EqVal`]     | prefixes                                  |
//! | `tr_f_suffix`  | LPM_TRIE | [`LpmKey`]   | [`EqVal`]     | suffixes, reversed                        |
//! | `tr_f_proc`    | HASH     | `u32` tgid   | [`ProcEntry`] | per process: executable, trees, follow    |
//!
//! An [`EqVal`] is Tracee's equality entry: `equals` has bit `p` when policy `p` has the key
//! under `=`, `used` when under `=` or `!=`. With `missing` the policies that match a value
//! no entry names (no `=` for this filter, or a range), a filter's result is
//! `equals | (!used & missing [& in_range])`: `=` wins over `!=` within a policy.
//!
//! # Atomic policy changes
//!
//! Every key carries the policies' `version` (and `tr_f_proc` has one slot per version
//! parity). Userspace installs version `v + 1` completely — every entry of every map — and
//! only then writes `tr_f_active`; the program reads the active version once per event and
//! uses it for every lookup, so an event is judged entirely by the old or entirely by the new
//! filters. The entries of version `v` are deleted when `v + 2` is installed, so a program
//! that read `v` just before the switch still finds all of them (BPF programs run for
//! microseconds; an install takes milliseconds).
//!
//! The program writes the low byte of the version it judged an event with into the event
//! (its [`version_tag`]), so the userspace remainder of an event still in flight across a
//! switch is judged with the same version. Versions follow [`next_version`]: never a low byte
//! of 0 (the tag of "no filters", version 0), and alternating parity (the process map's
//! slots), so the last 254 versions have distinct tags.

use bytemuck::{Pod, Zeroable};

/// Filter kind: real uid (numeric map, ranges).
pub const KIND_UID: u32 = 0;
/// Filter kind: host pid (numeric map, ranges).
pub const KIND_PID: u32 = 1;
/// Filter kind: mount namespace (numeric map).
pub const KIND_MNTNS: u32 = 2;
/// Filter kind: pid namespace (numeric map).
pub const KIND_PIDNS: u32 = 3;
/// Filter kind: executable path, by FNV-1a hash (numeric map).
pub const KIND_EXE: u32 = 4;
/// Filter kind: comm (string map).
pub const KIND_COMM: u32 = 5;
/// Filter kind: UTS nodename (string map).
pub const KIND_UTS: u32 = 6;
/// Filter kind: process tree (tree map, via the process map).
pub const KIND_TREE: u32 = 7;
/// Number of filter kinds.
pub const KINDS: usize = 8;
/// Kinds with ranges, indexed `0` uid and `1` pid in [`ScopeCfg::ranges`].
pub const RANGE_KINDS: usize = 2;
/// Bytes of a string the kernel compares in the string map (comm and uts are 15 + NUL).
pub const STR_KEY: usize = 16;
/// Bytes of an LPM key's data: prefixes and suffixes up to this long are matched in the
/// kernel, longer ones in userspace.
pub const LPM_DATA: usize = 64;
/// Bits of an [`LpmKey`] before its data (version, event, argument).
pub const LPM_HEADER_BITS: u32 = 96;
/// [`ProcEntry::flags`]: the executable hash is known.
pub const PROC_HAS_EXE: u32 = 1;
/// [`EventVal::flags`]: some policy has filters for this event that userspace evaluates.
pub const EV_USERSPACE: u32 = 1;

/// The first policies version a tracer installs.
pub const FIRST_VERSION: u32 = 1;

/// The version installed after `v`: `v + 1`, except that a version whose low byte would be
/// 0 is skipped (that tag means "judged without filters") by going to `v + 3`, which keeps
/// the parity alternating (the process map has one slot per parity). Wraps past `u32::MAX`.
///
/// ```
/// use tracee_filters::maps::{next_version, version_tag};
/// assert_eq!(next_version(1), 2);
/// assert_eq!(next_version(0xff), 0x102);
/// assert_eq!(next_version(u32::MAX), 2);
/// assert_ne!(version_tag(next_version(0x1ff)), 0);
/// ```
pub const fn next_version(v: u32) -> u32 {
    let n = v.wrapping_add(1);
    if n & 0xff == 0 {
        n.wrapping_add(2)
    } else {
        n
    }
}

/// The byte of version `v` the program writes into each event it judges (the header's
/// `policies_version`): its low byte; 0 only for version 0 (no filters).
pub const fn version_tag(v: u32) -> u8 {
    v as u8
}

/// The `tr_f_active` entry.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct ActiveCfg {
    /// The version every lookup uses.
    pub version: u32,
    /// Reserved, 0.
    pub pad: u32,
}

/// Tracee's equality entry.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Pod, Zeroable)]
pub struct EqVal {
    /// Policies with this key under `=`.
    pub equals: u64,
    /// Policies with this key under `=` or `!=`.
    pub used: u64,
}

impl EqVal {
    /// Merges another entry (a key matched through several patterns).
    pub fn or(self, o: EqVal) -> EqVal {
        EqVal {
            equals: self.equals | o.equals,
            used: self.used | o.used,
        }
    }
}

/// An inclusive range.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct RangeVal {
    /// Smallest value admitted.
    pub min: u64,
    /// Largest value admitted (`min > max`: none).
    pub max: u64,
}

/// The `tr_f_scope` entry of one version.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
pub struct ScopeCfg {
    /// Per kind: policies matching a value no entry names (see the module docs).
    pub match_if_missing: [u64; KINDS],
    /// Per range kind: policies with a range.
    pub range_policies: [u64; RANGE_KINDS],
    /// Policies requiring a container.
    pub container_true: u64,
    /// Policies requiring not a container.
    pub container_false: u64,
    /// Policies requiring a new process.
    pub new_true: u64,
    /// Policies requiring an old process.
    pub new_false: u64,
    /// Policies with `follow`.
    pub follow: u64,
    /// Processes that started after this (ns since boot) are new.
    pub start_time: u64,
    /// The host's pid namespace id.
    pub host_pid_ns: u32,
    /// Bit `k`: some policy filters on kind `k` (the program skips the lookups of the others).
    pub used_kinds: u32,
    /// Per range kind, per policy.
    pub ranges: [[RangeVal; 64]; RANGE_KINDS],
}

impl Default for ScopeCfg {
    fn default() -> Self {
        Zeroable::zeroed()
    }
}

/// Key of `tr_f_events`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Pod, Zeroable)]
pub struct EventKey {
    /// Policies version.
    pub version: u32,
    /// Event id.
    pub event: u32,
}

/// Value of `tr_f_events`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct EventVal {
    /// Policies selecting the event.
    pub policies: u64,
    /// Bit `i`: argument `i` has string filters decided in the kernel (see `tr_f_args`).
    pub str_args: u32,
    /// `EV_*` flags.
    pub flags: u32,
}

/// Key of `tr_f_num`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Pod, Zeroable)]
pub struct NumKey {
    /// Policies version.
    pub version: u32,
    /// `KIND_*`.
    pub kind: u32,
    /// The value (executable: its FNV-1a hash).
    pub value: u64,
}

/// Key of `tr_f_str`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Pod, Zeroable)]
pub struct StrKey {
    /// Policies version.
    pub version: u32,
    /// `KIND_*`.
    pub kind: u32,
    /// NUL-padded string.
    pub value: [u8; STR_KEY],
}

/// Key of `tr_f_tree`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Pod, Zeroable)]
pub struct TreeKey {
    /// Policies version.
    pub version: u32,
    /// Root pid.
    pub pid: u32,
}

/// Key of `tr_f_args`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Pod, Zeroable)]
pub struct ArgKey {
    /// Policies version.
    pub version: u32,
    /// Event id.
    pub event: u32,
    /// Argument index.
    pub arg: u32,
}

/// Value of `tr_f_args`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct ArgVal {
    /// Policies matching a string no pattern hits (no `=` pattern on this argument).
    pub match_if_missing: u64,
}

/// Key of `tr_f_exact`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Pod, Zeroable)]
pub struct DataKey {
    /// Policies version.
    pub version: u32,
    /// Event id.
    pub event: u32,
    /// Argument index.
    pub arg: u32,
    /// Reserved, 0.
    pub pad: u32,
    /// FNV-1a of the string's bytes.
    pub hash: u64,
}

/// Key of `tr_f_prefix` and `tr_f_suffix` (suffixes stored reversed).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Pod, Zeroable)]
pub struct LpmKey {
    /// Significant bits after this field: [`LPM_HEADER_BITS`] + 8 × pattern length.
    pub prefixlen: u32,
    /// Policies version.
    pub version: u32,
    /// Event id.
    pub event: u32,
    /// Argument index.
    pub arg: u32,
    /// Pattern bytes, zero-padded.
    pub data: [u8; LPM_DATA],
}

impl LpmKey {
    /// The key of `bytes` (at most [`LPM_DATA`] of them are used).
    pub fn new(version: u32, event: u32, arg: u32, bytes: &[u8]) -> LpmKey {
        let n = bytes.len().min(LPM_DATA);
        let mut data = [0u8; LPM_DATA];
        data[..n].copy_from_slice(&bytes[..n]);
        LpmKey {
            prefixlen: LPM_HEADER_BITS + 8 * n as u32,
            version,
            event,
            arg,
            data,
        }
    }
}

/// One version's slot of a [`ProcEntry`].
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct ProcSlot {
    /// OR of the tree-root entries of the process and its ancestors: `equals`.
    pub tree_equals: u64,
    /// ... and `used`.
    pub tree_used: u64,
    /// Policies with `follow` whose scope matched this process or an ancestor.
    pub followed: u64,
}

/// Value of `tr_f_proc` (key: tgid).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct ProcEntry {
    /// FNV-1a of the executable's path.
    pub exe_hash: u64,
    /// `PROC_*` flags.
    pub flags: u32,
    /// Reserved, 0.
    pub pad: u32,
    /// Per version parity (`version & 1`).
    pub slots: [ProcSlot; 2],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_alternate_parity_and_recent_tags_are_distinct() {
        for start in [FIRST_VERSION, 0xfd, 0x1fe, 0xffff_fffd, u32::MAX - 0x200] {
            let mut v = start;
            let mut recent = std::collections::VecDeque::new();
            for _ in 0..2000 {
                let n = next_version(v);
                assert_ne!(n, 0, "after {v:#x}");
                assert_ne!(version_tag(n), 0, "after {v:#x}");
                assert_ne!(n & 1, v & 1, "parity after {v:#x}");
                recent.push_back(version_tag(n));
                if recent.len() > 254 {
                    recent.pop_front();
                }
                let distinct: std::collections::BTreeSet<_> = recent.iter().collect();
                assert_eq!(
                    distinct.len(),
                    recent.len(),
                    "tags repeat within 254 of {n:#x}"
                );
                v = n;
            }
        }
    }

    #[test]
    fn sizes_are_the_c_structs() {
        assert_eq!(std::mem::size_of::<EqVal>(), 16);
        assert_eq!(
            std::mem::size_of::<ScopeCfg>(),
            8 * KINDS + 16 + 48 + 8 + 2048
        );
        assert_eq!(std::mem::size_of::<LpmKey>(), 16 + LPM_DATA);
        assert_eq!(std::mem::size_of::<ProcEntry>(), 64);
        assert_eq!(std::mem::size_of::<DataKey>(), 24);
        assert_eq!(std::mem::size_of::<NumKey>(), 16);
        assert_eq!(std::mem::size_of::<StrKey>(), 24);
    }
}
