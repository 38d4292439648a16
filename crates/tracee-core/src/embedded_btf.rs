//! The BTF bundle compiled into the binary (cargo feature `embedded-btf`), so the tracer
//! starts on kernels without `/sys/kernel/btf/vmlinux`.
//!
//! It holds, per kernel, only the types the tracer's own program
//! ([`TRACEE_BPF_OBJECT`](crate::tracer::TRACEE_BPF_OBJECT)) relocates against — a few KiB
//! instead of several MiB — keyed `ID/VERSION_ID/ARCH/RELEASE` like btfhub-archive. By
//! default it is the committed `btf/tracee.btfbundle` (the btfhub samples the tests use);
//! an integrator embeds their own, built from a full btfhub-archive checkout, by building
//! with `TRACEE_EMBED_BTF_BUNDLE=/abs/path/to/bundle` (docs/btf.md, "Embedding"). The build
//! script checks the file and fails the build if it is not a bundle.
//!
//! [`TracerBuilder`](crate::tracer::TracerBuilder) puts it in the resolver's bundle slot,
//! after `$TRACEE_BTF_FILE` and sysfs: the same path as a bundle given at run time with
//! [`TracerBuilder::btf_bundle`](crate::tracer::TracerBuilder::btf_bundle), which replaces
//! it.
//!
//! ```
//! if let Some(bundle) = tracee_core::embedded_btf::bundle()? {
//!     println!("{}: {} kernels", bundle.origin().display(), bundle.entries().len());
//! }
//! # Ok::<(), tracee_btf::bundle::BundleError>(())
//! ```

use tracee_btf::bundle::{Bundle, BundleError};

/// Whether this build embeds a bundle (feature `embedded-btf`).
pub const ENABLED: bool = cfg!(feature = "embedded-btf");

/// The embedded bundle's bytes; empty without the feature.
#[cfg(feature = "embedded-btf")]
pub static BUNDLE_BYTES: &[u8] = include_bytes!(env!("TRACEE_EMBEDDED_BTF_PATH"));
/// The embedded bundle's bytes; empty without the feature.
#[cfg(not(feature = "embedded-btf"))]
pub static BUNDLE_BYTES: &[u8] = &[];

/// How reports name the embedded bundle: `embedded tracee-core btf/tracee.btfbundle`, or
/// `embedded NAME ($TRACEE_EMBED_BTF_BUNDLE)` for an integrator's file; empty without the
/// feature.
#[cfg(feature = "embedded-btf")]
pub const ORIGIN: &str = env!("TRACEE_EMBEDDED_BTF_ORIGIN");
/// How reports name the embedded bundle; empty without the feature.
#[cfg(not(feature = "embedded-btf"))]
pub const ORIGIN: &str = "";

/// The embedded bundle, parsed without copying (only its index is read); `None` without the
/// feature. An error means the binary was built from a bundle this version cannot read,
/// which the build script normally refuses.
pub fn bundle() -> Result<Option<Bundle>, BundleError> {
    if !ENABLED {
        return Ok(None);
    }
    Ok(Some(Bundle::from_static(BUNDLE_BYTES)?.with_origin(ORIGIN)))
}
