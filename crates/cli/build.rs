//! Link flags for the `tradetrail` binary.

fn main() {
    // Relative relocations packed (DT_RELR, glibc >= 2.36, binutils >= 2.38): the
    // binary stays position-independent (ASLR), but the dynamic loader applies its
    // ~57,000 relative relocations from a compact bitmap instead of reading 1.3 MiB of
    // RELA entries at every start (docs/benchmarks.md, "Start-up").
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu")
    {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
