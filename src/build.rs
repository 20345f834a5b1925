//! What `socklab --version` says: the version, and the facts of the build
//! that a bug report needs (which commit, which compiler, which target),
//! recorded by build.rs when the binary was compiled.

/// `socklab --version` (clap prints "socklab " before it).
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ncommit:  ",
    env!("SOCKLAB_GIT_COMMIT"),
    "\nrustc:   ",
    env!("SOCKLAB_RUSTC"),
    "\ntarget:  ",
    env!("SOCKLAB_TARGET"),
    "\nprofile: ",
    env!("SOCKLAB_PROFILE"),
);
