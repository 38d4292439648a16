//! Tracee-style eBPF runtime security tracing: event definitions, the CO-RE BPF program,
//! the wire format and its decoder, outputs, signatures and the `Tracer`.

pub mod events;
