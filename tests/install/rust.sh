#!/usr/bin/env bash
# The Rust binding used the documented way by a fresh cargo project outside the
# repository (a path dependency on <repo>/bindings/rust). With no PIXEL_LIBRARY, no
# PIXEL_LIB_DIR and no pixel.pc, its build script builds libpixel with CMake; the program
# builds a URL and delivers events to a live `pixel edge` under `cargo run`.
#   rust.sh REPO PIXEL_CLI [CARGO]
REPO=$1 PIXEL_CLI=$2 CARGO=${3:-cargo}
source "$(dirname "$0")/common.sh"

mkdir -p app/src
cat > app/Cargo.toml <<TOML
[package]
name = "pixel-install-check"
version = "0.1.0"
edition = "2021"

[dependencies]
pixel = { path = "${REPO}/bindings/rust" }
TOML
cat > app/src/main.rs <<'RS'
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn main() {
    let endpoint = std::env::args().nth(1).expect("endpoint");
    let url = pixel::build_url("https://d111111abcdef8.cloudfront.net", &[("k", "[v]")],
                               pixel::UrlFlags::NONE).unwrap();
    assert_eq!(url, "https://d111111abcdef8.cloudfront.net/1x1.png?k=%5Bv%5D");
    let delivered = Arc::new(Mutex::new(0usize));
    let seen = delivered.clone();
    let options = pixel::Options::new(endpoint).on_result(move |r| {
        if r.outcome == pixel::Outcome::Delivered {
            *seen.lock().unwrap() += 1;
        }
    });
    let tracker = pixel::Tracker::new(options).unwrap();
    for i in 0..25 {
        let i = i.to_string();
        tracker.track(&[("from", "rust-install"), ("i", &i)]).unwrap();
    }
    tracker.flush(Duration::from_secs(30)).unwrap();
    drop(tracker);
    let n = *delivered.lock().unwrap();
    assert_eq!(n, 25);
    println!("rust: version {}, delivered {n}", pixel::version());
}
RS
"${CARGO}" build --offline --quiet --manifest-path app/Cargo.toml
# The library the build script built, inside the project's target folder.
find app/target -name libpixel.so.1 | grep .
# `cargo run` puts the build script's library folder (inside target/) on the loader path.
with_edge 'from=rust-install' 25 \
  "${CARGO}" run --offline --quiet --manifest-path app/Cargo.toml -- @ENDPOINT@
