//! Tracee-style eBPF runtime security tracing: event definitions, the CO-RE BPF program,
//! the wire format and its decoder, outputs, signatures and the `Tracer`.
//!
//! This crate is being built; see the project's issue tracker for its scope.
