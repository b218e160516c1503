//! Static musl release builds (the binaries that ship; Cargo.toml's release profile has
//! `panic = "abort"`) link without unwind tables: link/no-eh-frame.ld says why. Every other
//! build keeps them (tests, debug builds that unwind, the host's own), and so does any
//! build with `KEEPLITE_KEEP_UNWIND_TABLES=1` (a linker that takes no `INSERT` script:
//! gold, mold). `CARGO_CFG_PANIC` cannot tell: it is the target's default, not the
//! profile's.

fn main() {
    println!("cargo:rerun-if-changed=link/no-eh-frame.ld");
    println!("cargo:rerun-if-env-changed=KEEPLITE_KEEP_UNWIND_TABLES");
    let is = |name: &str, value: &str| std::env::var(name).is_ok_and(|v| v == value);
    if !is("CARGO_CFG_TARGET_ENV", "musl")
        || !is("PROFILE", "release")
        || is("KEEPLITE_KEEP_UNWIND_TABLES", "1")
    {
        return;
    }
    let script = format!("{}/link/no-eh-frame.ld", std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    // rust-lld (aarch64, .cargo/config.toml) takes the linker's own arguments; a C
    // compiler driver (x86_64's cc, OpenWrt's and Buildroot's gcc) passes them on with -Wl.
    let lld = std::env::var("RUSTC_LINKER").is_ok_and(|l| l.ends_with("lld"));
    if lld {
        println!("cargo:rustc-link-arg-bins=-T");
        println!("cargo:rustc-link-arg-bins={script}");
    } else {
        println!("cargo:rustc-link-arg-bins=-Wl,-T,{script}");
    }
}
