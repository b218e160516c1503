//! Static musl builds (the binaries that ship) link without unwind tables:
//! link/no-eh-frame.ld says why. Other builds (tests, the host's debug binary) keep them.

fn main() {
    println!("cargo:rerun-if-changed=link/no-eh-frame.ld");
    let musl = std::env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|e| e == "musl");
    if !musl {
        return;
    }
    let script = format!("{}/link/no-eh-frame.ld", std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    // rust-lld (aarch64, .cargo/config.toml) takes the linker's own arguments; a C
    // compiler driver (x86_64's cc) passes them on with -Wl.
    let lld = std::env::var("RUSTC_LINKER").is_ok_and(|l| l.ends_with("lld"));
    if lld {
        println!("cargo:rustc-link-arg-bins=-T");
        println!("cargo:rustc-link-arg-bins={script}");
    } else {
        println!("cargo:rustc-link-arg-bins=-Wl,-T,{script}");
    }
}
