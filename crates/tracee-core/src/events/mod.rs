//! Event definitions: the catalog of syscalls and other events the tracer can emit.
