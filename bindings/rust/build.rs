// SPDX-License-Identifier: MIT
// Links libpixel: the file named by PIXEL_LIBRARY, else -lpixel from PIXEL_LIB_DIR, else
// from pkg-config (pixel.pc). The directory goes into the rpath, ahead of $ORIGIN, so
// tests and binaries find the same library at run time.
use std::env;
use std::path::Path;
use std::process::Command;

fn link_dir(dir: &str) {
    println!("cargo:rustc-link-search=native={dir}");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
}

fn main() {
    println!("cargo:rerun-if-env-changed=PIXEL_LIBRARY");
    println!("cargo:rerun-if-env-changed=PIXEL_LIB_DIR");
    println!("cargo:rerun-if-changed=build.rs");
    if let Ok(file) = env::var("PIXEL_LIBRARY") {
        let path = Path::new(&file);
        let dir = path.parent().and_then(|d| d.to_str()).unwrap_or(".");
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_else(|| panic!("PIXEL_LIBRARY={file} does not name a file"));
        link_dir(dir);
        if name == "libpixel.so" || name == "libpixel.dylib" {
            println!("cargo:rustc-link-lib=dylib=pixel");
        } else {
            println!("cargo:rustc-link-lib=dylib:+verbatim={name}");
        }
    } else if let Ok(dir) = env::var("PIXEL_LIB_DIR") {
        link_dir(&dir);
        println!("cargo:rustc-link-lib=dylib=pixel");
    } else {
        let out = Command::new("pkg-config")
            .args(["--libs-only-L", "pixel"])
            .output()
            .expect("pixel: set PIXEL_LIBRARY or PIXEL_LIB_DIR, or install pkg-config and pixel.pc");
        if !out.status.success() {
            panic!(
                "pixel: pkg-config cannot find pixel.pc ({}); set PIXEL_LIB_DIR",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        for flag in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Some(dir) = flag.strip_prefix("-L") {
                link_dir(dir);
            }
        }
        println!("cargo:rustc-link-lib=dylib=pixel");
    }
    println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN");
}
