//! Tracee's filter language (`--scope`, `--events`, policy files), parsed into typed filters
//! and compiled into BPF maps.
//!
//! This crate is being built; see the project's issue tracker for its scope.
