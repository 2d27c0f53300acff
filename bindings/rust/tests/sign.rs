// SPDX-License-Identifier: MIT
// Signed URLs through the Rust binding: the vectors computed by Python's hmac
// (tests/url/vectors/signature.json) byte for byte, bad keys, and a signing Tracker whose
// every event `pixel edge --verify-key` accepts (an unsigned one gets 403, a final status).
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pixel::{build_signed_url, Options, SigningKey, Status, Tracker, UrlFlags};

// Just enough JSON for the vectors file: objects, arrays, strings, integers.
#[derive(Debug)]
enum Json {
    Obj(BTreeMap<String, Json>),
    Arr(Vec<Json>),
    Str(String),
    Num(i64),
}

impl Json {
    fn get(&self, k: &str) -> &Json {
        match self {
            Json::Obj(m) => &m[k],
            _ => panic!("not an object"),
        }
    }
    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => panic!("not a string"),
        }
    }
    fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(a) => a,
            _ => panic!("not an array"),
        }
    }
    fn num(&self) -> i64 {
        match self {
            Json::Num(n) => *n,
            _ => panic!("not a number"),
        }
    }
}

fn parse(s: &mut std::iter::Peekable<std::str::Chars>) -> Json {
    while s.peek().map_or(false, |c| c.is_whitespace()) {
        s.next();
    }
    match s.next().unwrap() {
        '{' => {
            let mut m = BTreeMap::new();
            loop {
                match parse(s) {
                    Json::Str(k) => {
                        while s.next().unwrap() != ':' {}
                        m.insert(k, parse(s));
                    }
                    _ => panic!("bad key"),
                }
                while let Some(c) = s.next() {
                    if c == ',' {
                        break;
                    }
                    if c == '}' {
                        return Json::Obj(m);
                    }
                }
            }
        }
        '[' => {
            let mut a = Vec::new();
            loop {
                while s.peek().map_or(false, |c| c.is_whitespace()) {
                    s.next();
                }
                if s.peek() == Some(&']') {
                    s.next();
                    return Json::Arr(a);
                }
                a.push(parse(s));
                while let Some(c) = s.next() {
                    if c == ',' {
                        break;
                    }
                    if c == ']' {
                        return Json::Arr(a);
                    }
                }
            }
        }
        '"' => {
            let mut out = String::new();
            loop {
                match s.next().unwrap() {
                    '"' => return Json::Str(out),
                    '\\' => match s.next().unwrap() {
                        'n' => out.push('\n'),
                        'u' => {
                            let hex: String = (0..4).map(|_| s.next().unwrap()).collect();
                            out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                        }
                        c => out.push(c),
                    },
                    c => out.push(c),
                }
            }
        }
        c => {
            let mut n = String::from(c);
            while s.peek().map_or(false, |c| c.is_ascii_digit()) {
                n.push(s.next().unwrap());
            }
            Json::Num(n.parse().unwrap())
        }
    }
}

fn vectors() -> Json {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/url/vectors/signature.json");
    let text = std::fs::read_to_string(path).unwrap();
    parse(&mut text.chars().peekable())
}

fn raw_key(text: &str) -> Vec<u8> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => continue,
        };
        bits = (bits << 6) | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

#[test]
fn build_signed_url_reproduces_the_python_vectors() {
    let doc = vectors();
    let list = doc.get("vectors").arr();
    assert!(list.len() >= 5);
    for v in list {
        let params: Vec<(&str, &str)> =
            v.get("params").arr().iter().map(|p| (p.arr()[0].str(), p.arr()[1].str())).collect();
        let key = SigningKey { kid: v.get("kid").str().into(), key: raw_key(v.get("key").str()) };
        let exp = v.get("exp").num();
        let mut url = String::new();
        // The lifetime counts from the build: exp - now, again if the second turned meanwhile.
        for _ in 0..3 {
            let ttl = Duration::from_secs((exp - now()) as u64);
            url = build_signed_url(v.get("endpoint").str(), &params, UrlFlags::NONE, &key, ttl)
                .unwrap();
            if url.contains(&format!("&exp={exp}&")) {
                break;
            }
        }
        assert_eq!(url, v.get("url").str(), "{}", v.get("name").str());
    }
}

#[test]
fn the_signing_functions_refuse_null() {
    use pixel::ffi;
    let key = [0u8; 16];
    let kid = b"k\0".as_ptr() as *const std::os::raw::c_char;
    let mut len = 0usize;
    unsafe {
        let n = std::ptr::null_mut();
        assert_eq!(ffi::pixel_options_set_signing_key(n, kid, key.as_ptr(), 16), 1);
        assert_eq!(ffi::pixel_options_set_signature_ttl_s(n, 1), 1);
        assert_eq!(ffi::pixel_url_build_signed(std::ptr::null(), std::ptr::null(), 0, 0, kid,
                                               key.as_ptr(), 16, 0, std::ptr::null_mut(), 0,
                                               &mut len), 1);
    }
}

#[test]
fn bad_keys_and_reserved_names_are_invalid_arguments() {
    let ep = "https://d111111abcdef8.cloudfront.net";
    let secret = b"0123456789abcdef-secret".to_vec();
    for key in [
        SigningKey { kid: "bad kid".into(), key: secret.clone() },
        SigningKey { kid: "k".into(), key: secret[..15].to_vec() },
    ] {
        let e = build_signed_url(ep, &[("a", "1")], UrlFlags::NONE, &key, Duration::ZERO)
            .unwrap_err();
        assert_eq!(e.status(), Status::InvalidArgument);
        assert!(!e.message().contains("0123456789"), "{}", e.message());
        assert!(!format!("{key:?}").contains("0123456789"));
    }
    let key = SigningKey { kid: "k".into(), key: secret };
    let e = build_signed_url(ep, &[("sig", "1")], UrlFlags::NONE, &key, Duration::ZERO).unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    let url = build_signed_url(ep, &[("a", "1")], UrlFlags::NONE, &key, Duration::from_secs(60))
        .unwrap();
    let exp: i64 = url.split("&exp=").nth(1).unwrap().split('&').next().unwrap().parse().unwrap();
    assert!((exp - (now() + 60)).abs() <= 2, "{url}");
}

#[test]
fn a_signing_tracker_delivers_every_event_through_the_verifying_edge() {
    let program = std::env::var("PIXEL_EDGE").expect("PIXEL_EDGE must name the pixel CLI");
    let dir = std::env::temp_dir().join(format!("pixel-sign-rust-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let key: Vec<u8> = (0..32u32).map(|i| (i * 53 + 7) as u8).collect();
    // The key file: standard base64, mode 0600.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in key.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let v = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            b64.push(if i <= chunk.len() { ALPHABET[(v >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    let key_file = dir.join("rs1.key");
    std::fs::write(&key_file, &b64).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut child = Command::new(program)
        .args(["edge", "--listen", "127.0.0.1:0", "--out"])
        .arg(dir.join("out"))
        .arg("--verify-key")
        .arg(format!("rs1:{}", key_file.display()))
        .stdout(Stdio::piped())
        .spawn()
        .expect("start pixel edge");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = format!("{}/1x1.png", line.trim().strip_prefix("listening on ").expect(&line));

    let signed = Tracker::new(
        Options::new(url.clone())
            .signing_key(SigningKey { kid: "rs1".into(), key })
            .signature_ttl(Duration::from_secs(600)),
    )
    .unwrap();
    for i in 0..10 {
        signed.track(&[("userid", &format!("u{i}"))]).unwrap();
    }
    signed.flush(Duration::from_secs(60)).unwrap();
    assert_eq!((signed.stats().delivered, signed.stats().failed), (10, 0));
    let plain = Tracker::new(Options::new(url)).unwrap();
    plain.track(&[("userid", "forged")]).unwrap();
    plain.flush(Duration::from_secs(60)).unwrap();
    assert_eq!(plain.stats().failed, 1);

    extern "C" {
        fn kill(pid: i32, sig: i32) -> i32;
    }
    assert_eq!(unsafe { kill(child.id() as i32, 15) }, 0);
    assert!(child.wait().unwrap().success());
    let _ = std::fs::remove_dir_all(&dir);
}
