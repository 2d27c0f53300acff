// SPDX-License-Identifier: MIT
// Links libpixel: the file named by PIXEL_LIBRARY, else -lpixel from PIXEL_LIB_DIR, else
// from pkg-config (pixel.pc), else a libpixel.so.1 built here from the repository's C++
// sources with CMake (cmake/build_libpixel.cmake, into OUT_DIR). The directory goes into
// the rpath, ahead of $ORIGIN, so tests and binaries find the same library at run time.
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn link_dir(dir: &str) {
    println!("cargo:rustc-link-search=native={dir}");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
}

fn link_file(file: &str) {
    let path = Path::new(file);
    let dir = path.parent().and_then(|d| d.to_str()).unwrap_or(".");
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_else(|| panic!("pixel: {file} does not name a file"));
    link_dir(dir);
    if name == "libpixel.so" || name == "libpixel.dylib" {
        println!("cargo:rustc-link-lib=dylib=pixel");
    } else {
        println!("cargo:rustc-link-lib=dylib:+verbatim={name}");
    }
}

// The library directories pkg-config knows for pixel.pc, or None when it has none.
fn from_pkg_config() -> Option<Vec<String>> {
    let out = Command::new("pkg-config").args(["--libs-only-L", "pixel"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Some(text.split_whitespace().filter_map(|f| f.strip_prefix("-L")).map(String::from).collect())
}

// Builds libpixel.so.1 with CMake from the source tree this crate sits in.
fn build_with_cmake() -> PathBuf {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let source = manifest.join("../..");
    let script = source.join("cmake/build_libpixel.cmake");
    if !script.exists() {
        panic!(
            "pixel: no libpixel found (PIXEL_LIBRARY, PIXEL_LIB_DIR, pkg-config) and no C++ \
             sources to build one at {}",
            source.display()
        );
    }
    for part in ["CMakeLists.txt", "cmake", "include", "src"] {
        println!("cargo:rerun-if-changed={}", source.join(part).display());
    }
    // The CMake build folder is the source tree's build/libpixel (as for the Python and
    // Node packages), so each builds only what changed; the library is copied into OUT_DIR.
    let dest = PathBuf::from(env::var("OUT_DIR").unwrap()).join("lib");
    let status = Command::new("cmake")
        .arg(format!("-DDEST={}", dest.display()))
        .arg("-P")
        .arg(&script)
        .status()
        .unwrap_or_else(|e| panic!("pixel: cannot run cmake to build libpixel: {e}"));
    if !status.success() {
        panic!("pixel: building libpixel with CMake failed ({status})");
    }
    dest.join("libpixel.so.1")
}

fn main() {
    println!("cargo:rerun-if-env-changed=PIXEL_LIBRARY");
    println!("cargo:rerun-if-env-changed=PIXEL_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-changed=build.rs");
    if let Ok(file) = env::var("PIXEL_LIBRARY") {
        link_file(&file);
    } else if let Ok(dir) = env::var("PIXEL_LIB_DIR") {
        link_dir(&dir);
        println!("cargo:rustc-link-lib=dylib=pixel");
    } else if let Some(dirs) = from_pkg_config() {
        for dir in &dirs {
            link_dir(dir);
        }
        println!("cargo:rustc-link-lib=dylib=pixel");
    } else {
        let built = build_with_cmake();
        link_file(built.to_str().expect("pixel: OUT_DIR is not UTF-8"));
    }
    println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN");
}
