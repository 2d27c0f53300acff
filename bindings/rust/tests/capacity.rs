// SPDX-License-Identifier: MIT
// The sink's capacity through the Rust binding (docs/capacity.md): sampling, pacing and
// receipts, against the local edge.
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pixel::{ffi, sample_keeps, Options, Status, Tracker};

// Python's hashlib is the reference (no SHA-256 crate is available offline): an event is
// kept when int.from_bytes(hashlib.sha256(salt + value.encode()).digest()[:8], "big") <
// rate * 2**64. Bit i of each mask is that decision for "user-{i}", i in 0..64:
//   sum(1 << i for i in range(64) if keeps(rate, salt, "user-%d" % i))
const KEEPS: &[(f64, &[u8], u64)] = &[
    (0.1, b"", 0x029600001021c280),
    (0.1, b"salt-1", 0x3101800000000282),
    (0.5, b"", 0x6e9f36921229ebe1),
    (0.5, b"salt-1", 0x3bdba43a461fb2cb),
    (0.9, b"", 0xfffffffef6fbffff),
    (0.9, b"salt-1", 0xffffe6fbff5ff7fb),
];
// [i for i in range(400) if keeps(0.25, b"campaign-2026", "u%d" % i)]
const KEPT_OF_400: &[u32] = &[
    4, 14, 15, 20, 23, 24, 27, 28, 34, 35, 37, 43, 44, 47, 51, 54, 57, 61, 63, 65, 69, 71, 74, 75,
    77, 78, 83, 84, 87, 89, 92, 94, 98, 101, 104, 107, 109, 111, 121, 125, 126, 128, 133, 136,
    137, 141, 142, 147, 149, 152, 153, 155, 158, 160, 168, 176, 178, 180, 181, 182, 185, 188, 190,
    192, 193, 194, 200, 204, 208, 228, 235, 239, 241, 245, 248, 258, 262, 266, 267, 272, 275, 283,
    285, 294, 298, 303, 305, 308, 316, 320, 321, 323, 329, 332, 334, 336, 339, 341, 345, 353, 354,
    355, 368, 369, 373, 381, 394, 395, 399,
];
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
    ts: f64,
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
                        ts: f[0].parse().unwrap(),
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

#[test]
fn the_capacity_functions_refuse_null() {
    use std::ptr::{null, null_mut};
    let mut keep = 0;
    unsafe {
        assert_eq!(ffi::pixel_options_set_receipts_path(null_mut(), "\0".as_ptr().cast()), 1);
        assert_eq!(ffi::pixel_options_set_max_rate(null_mut(), 1.0), 1);
        assert_eq!(ffi::pixel_options_set_sample_rate(null_mut(), 1.0), 1);
        assert_eq!(ffi::pixel_options_set_sample_key(null_mut(), "k\0".as_ptr().cast()), 1);
        assert_eq!(ffi::pixel_options_set_sample_salt(null_mut(), null(), 0), 1);
        assert_eq!(ffi::pixel_sample_keeps(0.5, null(), 1, "v\0".as_ptr().cast(), 1, &mut keep), 1);
        assert_eq!(ffi::pixel_sample_keeps(0.5, null(), 0, "v\0".as_ptr().cast(), 1, null_mut()), 1);
    }
}

#[test]
fn sample_keeps_equals_python_hashlib() {
    for &(rate, salt, mask) in KEEPS {
        for i in 0..64 {
            let want = mask >> i & 1 == 1;
            assert_eq!(sample_keeps(rate, salt, format!("user-{i}")), want, "{rate} {salt:?} user-{i}");
        }
    }
    assert!(sample_keeps(1.0, b"", "anyone"));
    assert_eq!(sample_keeps(0.5, b"s", "ééé"), sample_keeps(0.5, b"s", "ééé".as_bytes()));
}

#[test]
fn a_sampled_tracker_sends_exactly_the_kept_users_with_sr() {
    let edge = Edge::start("sampled");
    let results: Arc<Mutex<usize>> = Arc::default();
    let count = results.clone();
    let t = Tracker::new(
        Options::new(edge.url.clone())
            .sample_rate(0.25)
            .sample_key("uid")
            .sample_salt(&b"campaign-2026"[..])
            .on_result(move |_| *count.lock().unwrap() += 1),
    )
    .unwrap();
    let mut ids = HashMap::new();
    for i in 0..400 {
        let u = format!("u{i}");
        ids.insert(u.clone(), t.track(&[("uid", &u), ("userid", "not-the-key")]).unwrap());
    }
    t.track(&[("userid", "no-key")]).unwrap(); // without the key: kept, without sr
    t.flush(Duration::from_secs(60)).unwrap();
    let stats = t.stats();
    drop(t);
    let records = edge.stop();
    let mut sent: Vec<u32> = Vec::new();
    let mut without = 0;
    for r in &records {
        let p: HashMap<_, _> = r.params.iter().cloned().collect();
        match p.get("uid") {
            Some(u) => {
                assert_eq!(p["sr"], "0.25");
                assert_eq!(p["eid"], ids[u]);
                sent.push(u[1..].parse().unwrap());
            }
            None => {
                assert!(!p.contains_key("sr"));
                without += 1;
            }
        }
    }
    sent.sort_unstable();
    assert_eq!(sent, KEPT_OF_400);
    assert_eq!(without, 1);
    // Sampled-out events are neither sent nor reported.
    assert_eq!(stats.delivered, KEPT_OF_400.len() as u64 + 1);
    assert_eq!(*results.lock().unwrap(), KEPT_OF_400.len() + 1);
}

fn refused(options: Options, what: &str) {
    let e = Tracker::new(options).err().expect("refused");
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains(what), "{}", e.message());
}

#[test]
fn sampling_and_max_rate_values() {
    let ep = "https://x.example";
    for rate in [0.0, 1.5, -0.5, f64::NAN] {
        refused(Options::new(ep).sample_rate(rate), "sample_rate");
    }
    refused(Options::new(ep).sample_rate(0.5).sample_key(""), "sample_key");
    refused(Options::new(ep).sample_key("a\0b"), "NUL");
    for rate in [0.0, 0.5, 900.0, 1e9] {
        let t = Tracker::new(Options::new(ep).max_rate(rate).shutdown_timeout(Duration::ZERO)).unwrap();
        t.shutdown(Duration::ZERO).unwrap();
    }
    for rate in [-1.0, f64::NAN, f64::INFINITY] {
        refused(Options::new(ep).max_rate(rate), "max_rate");
    }
    let t = Tracker::new(Options::new(ep).sample_rate(0.5).shutdown_timeout(Duration::ZERO)).unwrap();
    assert_eq!(t.track(&[("userid", "a"), ("sr", "1")]).unwrap_err().status(), Status::InvalidArgument);
}

#[test]
fn a_paced_burst_is_spread_and_delivered() {
    // 60 events tracked at once, paced at 100/s in bursts of a tenth of that: any 100 ms of
    // the edge's arrival times holds about 20 (30 allows for arrivals bunching up; unpaced,
    // nearly all 60 arrive within a few ms).
    let edge = Edge::start("paced");
    let t = Tracker::new(Options::new(edge.url.clone()).max_rate(100.0)).unwrap();
    for i in 0..60 {
        t.track(&[("n", &i.to_string())]).unwrap();
    }
    t.flush(Duration::from_secs(60)).unwrap();
    assert_eq!(t.stats().delivered, 60);
    drop(t);
    let records = edge.stop();
    let mut arrivals: Vec<f64> = records.iter().map(|r| r.ts).collect();
    arrivals.sort_by(f64::total_cmp);
    let busiest = arrivals.iter().map(|&a| arrivals.iter().filter(|&&b| b >= a && b < a + 0.1).count()).max();
    assert!(busiest.unwrap() <= 30, "{busiest:?} in 100 ms: {arrivals:?}");
    let mut got: Vec<u32> = records
        .iter()
        .map(|r| r.params.iter().find(|(k, _)| k == "n").unwrap().1.parse().unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(got, (0..60).collect::<Vec<u32>>());
}

/// One receipt line, read without a JSON crate: the format is fixed (docs/capacity.md),
/// `{"eid":"...","outcome":"...","status":N,"attempts":N,"at":S.mmm}`.
fn parse_receipt(line: &str) -> (String, String, i64, u32, f64) {
    let body = line.strip_prefix('{').and_then(|l| l.strip_suffix('}')).expect(line);
    let fields: Vec<(&str, &str)> = body.split(',').map(|f| f.split_once(':').expect(line)).collect();
    let keys: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, ["\"eid\"", "\"outcome\"", "\"status\"", "\"attempts\"", "\"at\""], "{line}");
    let text = |v: &str| v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).expect(line).to_string();
    (text(fields[0].1), text(fields[1].1), fields[2].1.parse().unwrap(), fields[3].1.parse().unwrap(),
     fields[4].1.parse().unwrap())
}

#[test]
fn receipts_one_line_per_event_with_its_outcome() {
    let dir = std::env::temp_dir().join(format!("pixel-rust-receipts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("receipts.jsonl").to_str().unwrap().to_string();
    let now = || SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    let before = now();
    let edge = Edge::start("receipts");
    let t = Tracker::new(Options::new(edge.url.clone()).receipts_path(file.clone())).unwrap();
    let delivered: Vec<String> = (0..5).map(|i| t.track(&[("n", &i.to_string())]).unwrap()).collect();
    t.flush(Duration::from_secs(60)).unwrap();
    drop(t);
    edge.stop();
    // A port that listens and never accepts holds the request in flight, so the queue of one
    // is full for a second event; closing it resets the connection: one attempt, failed.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/1x1.png", held.local_addr().unwrap());
    let t = Tracker::new(
        Options::new(url).receipts_path(file.clone()).max_attempts(1).outage_threshold(0).queue_capacity(1),
    )
    .unwrap();
    let failed = t.track(&[("n", "x")]).unwrap();
    assert_eq!(t.track(&[("n", "y")]).unwrap_err().status(), Status::QueueFull);
    drop(held);
    t.flush(Duration::from_secs(60)).unwrap();
    drop(t);
    let after = now();
    let lines: Vec<_> = std::fs::read_to_string(&file).unwrap().lines().map(parse_receipt).collect();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(lines.len(), 7);
    for l in &lines {
        assert!(l.4 >= before - 1.0 && l.4 <= after + 1.0, "{l:?}");
    }
    let by_eid: HashMap<&str, _> = lines.iter().map(|l| (l.0.as_str(), (l.1.as_str(), l.2, l.3))).collect();
    for eid in &delivered {
        assert_eq!(by_eid[eid.as_str()], ("delivered", 200, 1));
    }
    assert_eq!(by_eid[failed.as_str()], ("failed", 0, 1));
    let others: Vec<_> = lines
        .iter()
        .filter(|l| l.0 != failed && !delivered.contains(&l.0))
        .map(|l| (l.1.as_str(), l.2, l.3))
        .collect();
    assert_eq!(others, [("dropped", 0, 0)]);
    let e = Tracker::new(Options::new("https://x.example").receipts_path("/nonexistent-dir/r.jsonl")).err().unwrap();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("receipts"), "{}", e.message());
}
