// SPDX-License-Identifier: MIT
// Tracking modes and Global Privacy Control through the Rust binding, against the local edge.
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pixel::{EventOptions, Options, Outcome, Status, Tracker, TrackingMode, TransportError};

const KEY: &[u8] = b"pseudonym-key-0123456789abcdef";
// base64url without padding of HMAC-SHA256(KEY, value)[:16], computed with Python's hmac
// (no HMAC crate is available offline):
//   base64.urlsafe_b64encode(hmac.new(KEY, v.encode(), hashlib.sha256).digest()[:16])
//       .rstrip(b"=")
const TOKEN_BOB: &str = "AB_LstmDx6KMhqV8aMevwA";
const TOKEN_BOB_EMAIL: &str = "LmK1vggW8W2FVf0S6aWr9Q";

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).expect("UTF-8 after decoding")
}

fn split_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

#[allow(dead_code)]
struct Record {
    ip: String,
    user_agent: String,
    params: Vec<(String, String)>,
}

struct Edge {
    child: Child,
    dir: PathBuf,
    url: String,
}

impl Edge {
    fn start(tag: &str) -> Edge {
        let program = std::env::var("PIXEL_EDGE").expect("PIXEL_EDGE must name the pixel CLI");
        let dir = std::env::temp_dir().join(format!("pixel-edge-rust-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(program)
            .args(["edge", "--listen", "127.0.0.1:0", "--out"])
            .arg(dir.join("out"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("start pixel edge");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let base = line.trim().strip_prefix("listening on ").unwrap_or_else(|| {
            let _ = child.kill();
            panic!("pixel edge did not start: {line:?}")
        });
        let url = format!("{base}/1x1.png");
        Edge { child, dir, url }
    }

    fn stop(mut self) -> Vec<Record> {
        extern "C" {
            fn kill(pid: i32, sig: i32) -> i32;
        }
        const SIGTERM: i32 = 15;
        assert_eq!(unsafe { kill(self.child.id() as i32, SIGTERM) }, 0);
        assert!(self.child.wait().unwrap().success());
        let mut records = Vec::new();
        fn walk(d: &Path, records: &mut Vec<Record>) {
            let Ok(entries) = std::fs::read_dir(d) else { return };
            for e in entries {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, records);
                    continue;
                }
                for line in std::fs::read_to_string(&p).unwrap().lines() {
                    // The default fields: timestamp, c-ip, sc-status, cs-uri-stem,
                    // x-edge-request-id, cs-user-agent, cs-referer, cs-uri-query.
                    let f: Vec<&str> = line.split('\t').collect();
                    assert_eq!(f.len(), 8, "{line}");
                    // Undo the log escaping once, then split and decode the query as sent.
                    let sent = if f[7] == "-" { String::new() } else { percent_decode(f[7]) };
                    records.push(Record {
                        ip: f[1].to_string(),
                        user_agent: percent_decode(f[5]),
                        params: split_query(&sent),
                    });
                }
            }
        }
        walk(&self.dir.join("out"), &mut records);
        let _ = std::fs::remove_dir_all(&self.dir);
        records
    }
}

type Results = Arc<Mutex<Vec<pixel::EventResult>>>;

struct Run {
    got: HashMap<String, HashMap<String, String>>,
    stats: pixel::Stats,
    results: Vec<pixel::EventResult>,
    ids: HashMap<String, String>,
}

/// Tracks each (k, mode, gpc) with userid=bob, email=bob@example.com, then flushes.
fn run(tag: &str, events: &[(&str, Option<TrackingMode>, bool)],
       configure: impl FnOnce(Options) -> Options) -> Run {
    let edge = Edge::start(tag);
    let results: Results = Arc::default();
    let sink = results.clone();
    let t = Tracker::new(
        configure(Options::new(edge.url.clone())).on_result(move |r| sink.lock().unwrap().push(r.clone())),
    )
    .unwrap();
    let mut ids = HashMap::new();
    for (k, mode, gpc) in events {
        let id = t
            .track_with(&[("userid", "bob"), ("email", "bob@example.com"), ("k", k)],
                        &EventOptions { mode: *mode, gpc: *gpc, ..Default::default() })
            .unwrap();
        ids.insert(k.to_string(), id);
    }
    t.flush(Duration::from_secs(60)).unwrap();
    let stats = t.stats();
    drop(t);
    let mut got = HashMap::new();
    for r in edge.stop() {
        let p: HashMap<String, String> = r.params.into_iter().collect();
        let k = p["k"].clone();
        assert!(got.insert(k.clone(), p).is_none(), "{k} twice");
    }
    let results = results.lock().unwrap().clone();
    Run { got, stats, results, ids }
}

fn keys(got: &HashMap<String, HashMap<String, String>>) -> Vec<&str> {
    let mut k: Vec<&str> = got.keys().map(String::as_str).collect();
    k.sort();
    k
}

fn suppressed_ids(results: &[pixel::EventResult]) -> Vec<String> {
    results.iter().filter(|r| r.outcome == Outcome::Suppressed).map(|r| r.event_id.clone()).collect()
}

use TrackingMode::*;

#[test]
fn each_mode_as_received() {
    let r = run(
        "modes",
        &[("off", Some(Off), false), ("aggregate", Some(Aggregate), false),
          ("pseudonymous", Some(Pseudonymous), false), ("identified", Some(Identified), false),
          ("none", None, false)],
        |o| o.pseudonym_key(KEY),
    );
    assert_eq!(keys(&r.got), ["aggregate", "identified", "none", "pseudonymous"]);
    let agg = &r.got["aggregate"];
    assert!(!agg.contains_key("userid") && !agg.contains_key("email"), "{agg:?}");
    for v in ["bob", "bob@example.com", TOKEN_BOB] {
        assert!(!agg.values().any(|x| x == v), "{v} in {agg:?}");
    }
    assert_eq!(agg["eid"], r.ids["aggregate"]);
    assert_eq!(r.got["pseudonymous"]["userid"], TOKEN_BOB);
    assert_eq!(r.got["pseudonymous"]["email"], TOKEN_BOB_EMAIL);
    for k in ["identified", "none"] {
        assert_eq!((r.got[k]["userid"].as_str(), r.got[k]["email"].as_str()), ("bob", "bob@example.com"));
    }
    assert_eq!((r.stats.suppressed, r.stats.mode_lowered, r.stats.delivered), (1, 0, 4));
    assert_eq!(suppressed_ids(&r.results), [r.ids["off"].clone()]);
    let s = r.results.iter().find(|x| x.outcome == Outcome::Suppressed).unwrap();
    assert_eq!((s.attempts, s.http_status, s.transport_error), (0, 0, TransportError::None));
    assert_eq!(r.results.len(), 5);
}

#[test]
fn off_is_reported_before_track_returns() {
    let results: Results = Arc::default();
    let sink = results.clone();
    let t = Tracker::new(
        Options::new("http://127.0.0.1:9/1x1.png")
            .tracking_mode(Off)
            .shutdown_timeout(Duration::ZERO)
            .on_result(move |r| sink.lock().unwrap().push(r.clone())),
    )
    .unwrap();
    let id = t.track_with(&[("userid", "bob")], &EventOptions { mode: Some(Identified), ..Default::default() }).unwrap();
    let got: Vec<(String, Outcome)> =
        results.lock().unwrap().iter().map(|r| (r.event_id.clone(), r.outcome)).collect();
    assert_eq!(got, [(id, Outcome::Suppressed)]);
    let s = t.stats();
    assert_eq!((s.suppressed, s.mode_lowered, s.queued, s.in_flight, s.delivered, s.failed, s.dropped),
               (1, 1, 0, 0, 0, 0, 0));
}

#[test]
fn the_ceiling_lowers_and_counts() {
    let r = run(
        "ceiling",
        &[("asks-identified", Some(Identified), false), ("asks-pseudonymous", Some(Pseudonymous), false),
          ("asks-aggregate", Some(Aggregate), false), ("none", None, false), ("asks-off", Some(Off), false)],
        |o| o.tracking_mode(Aggregate),
    );
    assert_eq!(keys(&r.got), ["asks-aggregate", "asks-identified", "asks-pseudonymous", "none"]);
    for (k, p) in &r.got {
        assert!(!p.contains_key("userid") && !p.contains_key("email"), "{k}: {p:?}");
    }
    assert_eq!((r.stats.mode_lowered, r.stats.suppressed), (2, 1));
    assert_eq!(suppressed_ids(&r.results), [r.ids["asks-off"].clone()]);
}

#[test]
fn gpc_lowers_to_the_gpc_mode() {
    let r = run("gpc-default",
                &[("gpc", None, true), ("gpc-identified", Some(Identified), true), ("no-gpc", None, false)],
                |o| o);
    assert!(!r.got["gpc"].contains_key("userid"));
    assert!(!r.got["gpc-identified"].contains_key("userid"));
    assert_eq!(r.got["no-gpc"]["userid"], "bob");
    assert_eq!((r.stats.mode_lowered, r.stats.suppressed), (2, 0));

    let r = run("gpc-pseudonymous",
                &[("gpc", Some(Identified), true), ("no-gpc", Some(Identified), false)],
                |o| o.gpc_mode(Pseudonymous).pseudonym_key(KEY.to_vec()).identity_params(["email"]));
    assert_eq!(r.got["gpc"]["email"], TOKEN_BOB_EMAIL);
    assert_eq!(r.got["gpc"]["userid"], "bob"); // not an identity parameter here
    assert_eq!(r.got["no-gpc"]["email"], "bob@example.com");
    assert_eq!(r.stats.mode_lowered, 1);

    let r = run("gpc-off", &[("gpc", None, true), ("no-gpc", None, false)], |o| o.gpc_mode(Off));
    assert_eq!(keys(&r.got), ["no-gpc"]);
    assert_eq!(suppressed_ids(&r.results), [r.ids["gpc"].clone()]);
    assert_eq!(r.stats.suppressed, 1);
}

#[test]
fn bad_values_are_typed_errors() {
    let cases: Vec<(&str, Options)> = vec![
        ("short key", Options::new("https://x.example").pseudonym_key(&b"short"[..])),
        ("empty identity name", Options::new("https://x.example").identity_params([""])),
        ("NUL in identity name", Options::new("https://x.example").identity_params(["a\0b"])),
        ("pseudonymous without key", Options::new("https://x.example").tracking_mode(Pseudonymous)),
        ("gpc pseudonymous without key", Options::new("https://x.example").gpc_mode(Pseudonymous)),
    ];
    for (what, o) in cases {
        let e = Tracker::new(o).err().unwrap_or_else(|| panic!("{what}: accepted"));
        assert_eq!(e.status(), Status::InvalidArgument, "{what}: {e}");
        assert!(!e.message().contains("short"), "{what}: {e}"); // the key is never shown
    }
    let e = "everything".parse::<TrackingMode>().unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert_eq!("pseudonymous".parse::<TrackingMode>().unwrap(), Pseudonymous);
    assert!(Off < Aggregate && Aggregate < Pseudonymous && Pseudonymous < Identified);

    let edge = Edge::start("bad");
    let t = Tracker::new(Options::new(edge.url.clone())).unwrap();
    let e = t
        .track_with(&[("k", "no-key")], &EventOptions { mode: Some(Pseudonymous), ..Default::default() })
        .unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    t.track_with(&[("k", "kept")],
                 &EventOptions { mode: Some(Identified), user_agent: Some("consent-test/1"), gpc: false })
        .unwrap();
    t.flush(Duration::from_secs(60)).unwrap();
    let s = t.stats();
    drop(t);
    let records = edge.stop();
    let got: Vec<(String, Vec<(String, String)>)> = records
        .into_iter()
        .map(|r| (r.user_agent, r.params.into_iter().filter(|(k, _)| k == "k").collect()))
        .collect();
    assert_eq!(got, [("consent-test/1".to_string(), vec![("k".to_string(), "kept".to_string())])]);
    assert_eq!((s.delivered, s.suppressed, s.mode_lowered), (1, 0, 0));
}
