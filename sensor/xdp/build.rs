//! Compiles the XDP program (`firmware/xdp.c`) with clang into `OUT_DIR/tapwatch_xdp.o`; the
//! crate embeds the object with `include_bytes!`.
//!
//! Needs `clang` (Debian `clang`) and the BPF headers (`libbpf-dev`). `-g` emits the BTF that
//! aya needs for the map definitions; `-mcpu=v3` enables the 32-bit jumps and atomics the
//! program uses; the include path finds `asm/types.h` on Debian multiarch.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let firmware = manifest.join("../../firmware");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    let object = out.join("tapwatch_xdp.o");
    let clang = std::env::var("TAPWATCH_CLANG").unwrap_or_else(|_| "clang".to_owned());

    println!(
        "cargo:rerun-if-changed={}",
        firmware.join("xdp.c").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        firmware.join("tapwatch_xdp.h").display()
    );
    println!("cargo:rerun-if-env-changed=TAPWATCH_CLANG");

    let status = Command::new(&clang)
        .args([
            "-O2", "-g", "-target", "bpf", "-mcpu=v3", "-Wall", "-Werror",
        ])
        .arg("-I/usr/include/x86_64-linux-gnu")
        .arg("-I")
        .arg(&firmware)
        .arg("-c")
        .arg(firmware.join("xdp.c"))
        .arg("-o")
        .arg(&object)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{clang} failed to compile firmware/xdp.c ({s})"),
        Err(e) => panic!(
            "cannot run {clang} ({e}): install clang and libbpf-dev (scripts/install-deps.sh)"
        ),
    }
}
