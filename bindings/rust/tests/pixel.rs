// SPDX-License-Identifier: MIT
// The Rust binding against the real libpixel and the local edge (PIXEL_EDGE: the pixel CLI).
use std::collections::{HashMap, HashSet};
use std::ffi::CStr;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::raw::c_char;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::ptr;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use pixel::{
    build_url, ffi, img_tag, ImgStyle, Options, Outcome, Overflow, Status, Tracker, TransportError, UrlFlags,
};

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

fn last_error() -> String {
    unsafe { CStr::from_ptr(ffi::pixel_last_error()) }.to_string_lossy().into_owned()
}

#[test]
fn version_matches_the_library() {
    let v = pixel::version();
    assert_eq!(v.split('.').count(), 3, "{v}");
    assert!(v.split('.').all(|p| p.parse::<u32>().is_ok()));
}

#[test]
fn every_declared_function_refuses_null() {
    unsafe {
        assert_eq!(CStr::from_ptr(ffi::pixel_status_str(7)).to_str().unwrap(), "queue full");
        assert_eq!(CStr::from_ptr(ffi::pixel_status_str(99)).to_str().unwrap(), "unknown status");
        assert!(!ffi::pixel_version().is_null());
        let mut len = 0usize;
        assert_eq!(ffi::pixel_url_build(ptr::null(), ptr::null(), 0, 0, ptr::null_mut(), 0, &mut len), 1);
        assert!(last_error().contains("endpoint"));
        assert_eq!(ffi::pixel_img_tag(ptr::null(), 0, ptr::null_mut(), 0, &mut len), 1);
        let o = ffi::pixel_options_new();
        assert!(!o.is_null());
        ffi::pixel_options_free(o);
        ffi::pixel_options_free(ptr::null_mut());
        let n = ptr::null_mut();
        let s = b"x\0".as_ptr() as *const c_char;
        assert_eq!(ffi::pixel_options_set_endpoint(n, s), 1);
        assert_eq!(ffi::pixel_options_set_queue_capacity(n, 1), 1);
        assert_eq!(ffi::pixel_options_set_overflow_policy(n, 0), 1);
        assert_eq!(ffi::pixel_options_set_block_timeout_ms(n, 1), 1);
        assert_eq!(ffi::pixel_options_set_allow_http(n, 1), 1);
        assert_eq!(ffi::pixel_options_set_max_in_flight(n, 1), 1);
        assert_eq!(ffi::pixel_options_set_min_in_flight(n, 1), 1);
        assert_eq!(ffi::pixel_options_set_worker_threads(n, 1), 1);
        assert_eq!(ffi::pixel_options_set_connect_timeout_ms(n, 1), 1);
        assert_eq!(ffi::pixel_options_set_request_timeout_ms(n, 1), 1);
        assert_eq!(ffi::pixel_options_set_max_attempts(n, 1), 1);
        assert_eq!(ffi::pixel_options_set_max_age_ms(n, 1), 1);
        assert_eq!(ffi::pixel_options_set_shutdown_timeout_ms(n, 1), 1);
        assert_eq!(ffi::pixel_options_set_user_agent(n, s), 1);
        assert_eq!(ffi::pixel_options_set_ca_file(n, s), 1);
        assert_eq!(ffi::pixel_options_set_url_flags(n, 0), 1);
        assert_eq!(ffi::pixel_options_set_proxy(n, s), 1);
        assert_eq!(ffi::pixel_options_set_backoff_base_ms(n, 1), 1);
        assert_eq!(ffi::pixel_options_set_backoff_max_ms(n, 1), 1);
        assert_eq!(ffi::pixel_options_set_retry_after_cap_ms(n, 1), 1);
        assert_eq!(ffi::pixel_options_set_outage_threshold(n, 1), 1);
        assert_eq!(ffi::pixel_options_set_probe_interval_ms(n, 1), 1);
        assert_eq!(ffi::pixel_options_set_spool_dir(n, s), 1);
        assert_eq!(ffi::pixel_options_set_durability(n, 0), 1);
        assert_eq!(ffi::pixel_options_set_spool_max_bytes(n, 0), 1);
        assert_eq!(ffi::pixel_options_set_result_callback(n, None, ptr::null_mut()), 1);
        assert_eq!(ffi::pixel_options_set_log_callback(n, None, ptr::null_mut()), 1);
        assert_eq!(ffi::pixel_options_set_tracking_mode(n, 2), 1);
        assert_eq!(ffi::pixel_options_set_gpc_mode(n, 2), 1);
        let names = [s];
        assert_eq!(ffi::pixel_options_set_identity_params(n, names.as_ptr(), 1), 1);
        assert_eq!(ffi::pixel_options_set_pseudonym_key(n, [0u8; 16].as_ptr(), 16), 1);
        let mut t = 1usize as *mut ffi::pixel_tracker;
        assert_eq!(ffi::pixel_tracker_new(ptr::null(), &mut t), 1);
        assert!(t.is_null());
        let tn = ptr::null_mut();
        assert_eq!(ffi::pixel_track(tn, ptr::null(), 0), 1);
        assert_eq!(ffi::pixel_track_with_user_agent(tn, ptr::null(), 0, s), 1);
        let ev = ffi::pixel_event::new(ptr::null(), 0, ptr::null());
        assert_eq!(ffi::pixel_track_event(tn, &ev, ptr::null_mut()), 1);
        assert_eq!(CStr::from_ptr(ffi::pixel_transport_error_str(2)).to_str().unwrap(), "connect");
        assert_eq!(ffi::pixel_tracker_flush(tn, 0), 1);
        let mut st = ffi::pixel_stats::default();
        assert_eq!(ffi::pixel_tracker_stats(tn, &mut st), 1);
        assert_eq!(ffi::pixel_tracker_shutdown(tn, 0), 1);
        ffi::pixel_tracker_free(tn);
        // Invalid UTF-8 cannot come from &str: check it through the raw call.
        let key = b"k\0";
        let bad = b"\xC3\x28\0";
        let p = [ffi::pixel_param { key: key.as_ptr().cast(), value: bad.as_ptr().cast() }];
        let ep = b"https://x.example\0";
        assert_eq!(ffi::pixel_url_build(ep.as_ptr().cast(), p.as_ptr(), 1, 0, ptr::null_mut(), 0, &mut len), 3);
        assert!(last_error().contains("'k'"));
    }
}

#[test]
fn build_url_keeps_order_and_encodes() {
    assert_eq!(
        build_url("https://D111.cloudfront.net", &[("userid", "a b+c"), ("k", "é&=")], UrlFlags::NONE).unwrap(),
        "https://d111.cloudfront.net/1x1.png?userid=a%20b%2Bc&k=%C3%A9%26%3D"
    );
    let url = build_url("https://x.example", &[("u", "1")], UrlFlags::DEFAULT).unwrap();
    let q = split_query(url.split_once('?').unwrap().1);
    assert_eq!(q.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["u", "eid", "ts"]);
    assert_eq!(q[1].1.len(), 26);
    assert!(q[2].1.chars().all(|c| c.is_ascii_digit()));
    let id_only = build_url("https://x.example", &[], UrlFlags::EVENT_ID).unwrap();
    assert!(id_only.contains("?eid=") && !id_only.contains("ts="));
    let ts_only = build_url("https://x.example", &[], UrlFlags::TIMESTAMP).unwrap();
    assert!(ts_only.contains("?ts=") && !ts_only.contains("eid="));
    assert_eq!(UrlFlags::EVENT_ID | UrlFlags::TIMESTAMP, UrlFlags::DEFAULT);
    let long = "x".repeat(8000);
    let url = build_url("https://x.example", &[("k", &long)], UrlFlags::NONE).unwrap();
    assert_eq!(url.len(), "https://x.example/1x1.png?k=".len() + 8000);
}

#[test]
fn build_url_and_img_tag_errors() {
    let long = "x".repeat(9000);
    let cases: Vec<(Result<String, pixel::Error>, Status)> = vec![
        (build_url("http://example.com", &[], UrlFlags::NONE), Status::InvalidEndpoint),
        (build_url("https://x.example?q=1", &[], UrlFlags::NONE), Status::InvalidEndpoint),
        (build_url("https://x.example", &[("", "v")], UrlFlags::NONE), Status::EmptyKey),
        (build_url("https://x.example", &[("k", &long)], UrlFlags::NONE), Status::UrlTooLong),
        (build_url("https://x.example", &[("eid", "1")], UrlFlags::DEFAULT), Status::InvalidArgument),
        (build_url("https://x.example", &[("k", "a\0b")], UrlFlags::NONE), Status::InvalidArgument),
        (img_tag("javascript:alert(1)", ImgStyle::Email), Status::InvalidArgument),
    ];
    for (r, status) in cases {
        let e = r.expect_err("must fail");
        assert_eq!(e.status(), status, "{e}");
        assert!(!e.to_string().is_empty());
        let _: &dyn std::error::Error = &e;
    }
    let e = build_url("https://x.example", &[("", "v")], UrlFlags::NONE).unwrap_err();
    assert_eq!(e.status().code(), 4);
    assert!(e.message().contains("empty key"), "{e}");
}

#[test]
fn img_tag_styles() {
    assert_eq!(
        img_tag("https://x.example/1x1.png?a=1&b=2", ImgStyle::Email).unwrap(),
        "<img src=\"https://x.example/1x1.png?a=1&amp;b=2\" width=\"1\" height=\"1\" alt=\"\" \
         border=\"0\" style=\"width:1px;height:1px;border:0;margin:0;padding:0;\">"
    );
    assert!(img_tag("https://x.example/1x1.png", ImgStyle::Page)
        .unwrap()
        .ends_with("aria-hidden=\"true\" referrerpolicy=\"no-referrer\">"));
}

#[test]
fn tracker_refuses_bad_options() {
    let e = |o: Options| Tracker::new(o).err().expect("must fail").status();
    assert_eq!(e(Options::new("ftp://x.example")), Status::InvalidEndpoint);
    assert_eq!(e(Options::new("http://pixel.example")), Status::InvalidEndpoint);
    assert_eq!(e(Options::new("https://x.example").queue_capacity(0)), Status::InvalidArgument);
    assert_eq!(e(Options::new("https://x.example").max_in_flight(0)), Status::InvalidArgument);
    assert_eq!(e(Options::new("https://x.example").max_attempts(0)), Status::InvalidArgument);
    assert_eq!(e(Options::new("https://x.example").connect_timeout(Duration::ZERO)), Status::InvalidArgument);
    assert_eq!(e(Options::new("https://x.example").request_timeout(Duration::ZERO)), Status::InvalidArgument);
    assert_eq!(e(Options::new("https://x.example").probe_interval(Duration::ZERO)), Status::InvalidArgument);
    assert_eq!(e(Options::new("https://x.example").proxy("a\r\nb")), Status::InvalidArgument);
    assert_eq!(e(Options::new("https://x.example").max_age(Duration::ZERO)), Status::InvalidArgument);
    assert_eq!(e(Options::new("https://x.example").user_agent("a\nb")), Status::InvalidArgument);
    assert_eq!(e(Options::new("https://x.example").ca_file("a\0b")), Status::InvalidArgument);
    assert_eq!(e(Options::new("https://x.example").on_result(|_| {}).queue_capacity(0)), Status::InvalidArgument);
    let t = Tracker::new(Options::new("http://pixel.example").allow_http(true).shutdown_timeout(Duration::ZERO));
    assert!(t.is_ok());
}

#[test]
fn worker_threads_out_of_range_are_refused() {
    // 1 to 64 and at most max_in_flight.
    for (workers, max_in_flight) in [(0, None), (65, None), (5, Some(4))] {
        let mut o = Options::new("https://x.example").worker_threads(workers);
        if let Some(m) = max_in_flight {
            o = o.max_in_flight(m);
        }
        let e = Tracker::new(o).err().expect("must fail");
        assert_eq!(e.status(), Status::InvalidArgument, "{workers}: {e}");
        assert!(e.message().contains("worker_threads"), "{workers}: {e}");
    }
    for (workers, max_in_flight) in [(1, 1024), (64, 1024), (4, 4)] {
        let o = Options::new("https://x.example")
            .worker_threads(workers)
            .max_in_flight(max_in_flight)
            .shutdown_timeout(Duration::ZERO);
        assert!(Tracker::new(o).is_ok(), "{workers}");
    }
}

#[test]
fn flush_timeout_queue_full_and_shutdown() {
    // Accepted by the kernel's backlog, never answered.
    let hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/1x1.png", hole.local_addr().unwrap().port());
    let t = Tracker::new(
        Options::new(url)
            .queue_capacity(1)
            .overflow(Overflow::DropNew)
            .request_timeout(Duration::from_secs(600))
            .shutdown_timeout(Duration::ZERO),
    )
    .unwrap();
    t.track(&[("k", "v")]).unwrap();
    assert_eq!(t.track(&[("k", "v")]).unwrap_err().status(), Status::QueueFull);
    assert_eq!(t.flush(Duration::from_millis(50)).unwrap_err().status(), Status::Timeout);
    t.shutdown(Duration::from_millis(100)).unwrap();
    t.shutdown(Duration::from_millis(100)).unwrap();
    let s = t.stats();
    assert_eq!(s.dropped, 2);
    assert_eq!(s.queued + s.in_flight + s.delivered, 0);
    assert_eq!(t.track(&[("k", "v")]).unwrap_err().status(), Status::ShutDown);
}

#[test]
fn bad_events_are_refused_and_nothing_else_lost() {
    let edge = Edge::start("bad");
    {
        let t = Tracker::new(Options::new(edge.url.clone())).unwrap();
        let long = "x".repeat(9000);
        assert_eq!(t.track(&[("", "v")]).unwrap_err().status(), Status::EmptyKey);
        assert_eq!(t.track(&[("k", &long)]).unwrap_err().status(), Status::UrlTooLong);
        assert_eq!(t.track(&[("eid", "1")]).unwrap_err().status(), Status::InvalidArgument);
        assert_eq!(t.track(&[("k", "a\0")]).unwrap_err().status(), Status::InvalidArgument);
        assert_eq!(t.track_with_user_agent(&[("k", "v")], "a\r\nb").unwrap_err().status(), Status::InvalidArgument);
        t.track(&[("k", "kept")]).unwrap();
        t.flush(Duration::from_secs(60)).unwrap();
        assert_eq!(t.stats().delivered, 1);
    }
    let records = edge.stop();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].params[0], ("k".to_string(), "kept".to_string()));
}

#[test]
fn delivers_1000_events_to_the_edge() {
    let edge = Edge::start("thousand");
    let results = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&results);
    let stats;
    let mut returned: HashMap<String, String> = HashMap::new();
    {
        let t = Arc::new(
            Tracker::new(
                Options::new(edge.url.clone())
                    .queue_capacity(2000)
                    .min_in_flight(2)
                    .max_in_flight(8)
                    .connect_timeout(Duration::from_secs(30))
                    .request_timeout(Duration::from_secs(60))
                    .max_attempts(10)
                    .max_age(Duration::from_secs(600))
                    .overflow(Overflow::Block)
                    .block_timeout(Duration::from_secs(5))
                    .shutdown_timeout(Duration::from_secs(30))
                    .user_agent("pixel-rust-test/1")
                    .ca_file("")
                    .proxy("")
                    .backoff_base(Duration::from_millis(50))
                    .backoff_max(Duration::from_secs(2))
                    .retry_after_cap(Duration::from_secs(10))
                    .outage_threshold(5)
                    .probe_interval(Duration::from_millis(500))
                    .url_flags(UrlFlags::DEFAULT)
                    .on_result(move |r| sink.lock().unwrap().push(r.clone())),
            )
            .unwrap(),
        );
        // Four threads share the tracker.
        let threads: Vec<_> = (0..4)
            .map(|k| {
                let t = Arc::clone(&t);
                std::thread::spawn(move || {
                    let mut ids = Vec::new();
                    for i in (k..1000).step_by(4) {
                        let n = i.to_string();
                        let id = if i % 100 == 0 {
                            t.track_with_user_agent(&[("n", &n), ("who", "browser")], "Mozilla/5.0 (t)").unwrap()
                        } else {
                            t.track(&[("n", &n), ("who", "sdk"), ("text", "é & ü")]).unwrap()
                        };
                        ids.push((n, id));
                    }
                    ids
                })
            })
            .collect();
        for th in threads {
            returned.extend(th.join().unwrap());
        }
        t.flush(Duration::from_secs(120)).unwrap();
        stats = t.stats();
    }
    let records = edge.stop();
    assert_eq!(stats.delivered, 1000, "{stats:?}");
    assert!((2..=8).contains(&stats.concurrency_limit), "{stats:?}");
    assert_eq!(stats.failed + stats.expired + stats.dropped + stats.queued + stats.in_flight, 0);
    let results = results.lock().unwrap();
    assert_eq!(results.len(), 1000);
    assert!(results.iter().all(|r| r.outcome == Outcome::Delivered
        && r.http_status == 200
        && r.transport_error == TransportError::None));
    let eids: HashSet<&str> = results.iter().map(|r| r.event_id.as_str()).collect();
    assert_eq!(eids.len(), 1000);
    let mut seen: HashMap<String, (String, HashMap<String, String>)> = HashMap::new();
    for r in &records {
        assert_eq!(r.ip, "127.0.0.1");
        let p: HashMap<String, String> = r.params.iter().cloned().collect();
        seen.insert(p["n"].clone(), (r.user_agent.clone(), p));
    }
    assert_eq!(seen.len(), 1000);
    for i in 0..1000 {
        let (ua, p) = &seen[&i.to_string()];
        assert!(eids.contains(p["eid"].as_str()));
        assert_eq!(p["eid"], returned[&i.to_string()]); // track returned the id sent
        if i % 100 == 0 {
            assert_eq!((ua.as_str(), p["who"].as_str()), ("Mozilla/5.0 (t)", "browser"));
        } else {
            assert_eq!((ua.as_str(), p["who"].as_str(), p["text"].as_str()), ("pixel-rust-test/1", "sdk", "é & ü"));
        }
    }
}

#[test]
fn two_worker_threads_deliver_500_events_each_once() {
    let edge = Edge::start("workers");
    let results = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&results);
    let stats;
    let mut returned: Vec<(String, String)> = Vec::new(); // (id, n)
    {
        let t = Tracker::new(
            Options::new(edge.url.clone())
                .worker_threads(2)
                .max_in_flight(8)
                .queue_capacity(1000)
                .connect_timeout(Duration::from_secs(30))
                .request_timeout(Duration::from_secs(60))
                .on_result(move |r| sink.lock().unwrap().push(r.clone())),
        )
        .unwrap();
        for i in 0..500 {
            let n = i.to_string();
            returned.push((t.track(&[("n", &n)]).unwrap(), n));
        }
        t.flush(Duration::from_secs(120)).unwrap();
        stats = t.stats();
    }
    let records = edge.stop();
    assert_eq!(stats.delivered, 500, "{stats:?}");
    assert_eq!(stats.failed + stats.expired + stats.dropped + stats.queued + stats.in_flight, 0);
    returned.sort();
    let ids: Vec<&str> = returned.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 500);
    // Each event reported once, delivered.
    let results = results.lock().unwrap();
    assert!(results.iter().all(|r| r.outcome == Outcome::Delivered));
    let mut reported: Vec<&str> = results.iter().map(|r| r.event_id.as_str()).collect();
    reported.sort_unstable();
    assert_eq!(reported, ids);
    // Each event reached the edge once, with its own parameters.
    let mut received: Vec<(String, String)> = records
        .iter()
        .map(|r| {
            let p: HashMap<String, String> = r.params.iter().cloned().collect();
            (p["eid"].clone(), p["n"].clone())
        })
        .collect();
    received.sort();
    assert_eq!(received, returned);
}

#[test]
fn refused_connection_is_reported_by_transport_error() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // closed again: nothing listens there
    let results = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&results);
    let id;
    {
        let t = Tracker::new(
            Options::new(format!("http://127.0.0.1:{port}/1x1.png"))
                .max_attempts(1)
                .outage_threshold(0)
                .on_result(move |r| sink.lock().unwrap().push(r.clone())),
        )
        .unwrap();
        id = t.track(&[("k", "v")]).unwrap();
        t.flush(Duration::from_secs(60)).unwrap();
    }
    let results = results.lock().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].event_id, id);
    assert_eq!(results[0].outcome, Outcome::Failed);
    assert_eq!(results[0].transport_error, TransportError::Connect);
    assert_eq!(results[0].transport_error.name(), "connect");
    assert_eq!(results[0].http_status, 0);
}

#[test]
fn on_log_gets_the_outage_notice() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // closed again: nothing listens there
    let (tx, rx) = mpsc::channel::<String>();
    let tx = Mutex::new(tx);
    let t = Tracker::new(
        Options::new(format!("http://127.0.0.1:{port}/1x1.png"))
            .outage_threshold(2)
            .probe_interval(Duration::from_millis(50))
            .backoff_base(Duration::from_millis(10))
            .shutdown_timeout(Duration::ZERO)
            .on_log(move |line| tx.lock().unwrap().send(line.to_owned()).unwrap()),
    )
    .unwrap();
    t.track(&[("k", "v")]).unwrap();
    let line = rx.recv_timeout(Duration::from_secs(60)).expect("the outage is said");
    drop(t);
    let start = format!("endpoint unreachable: connect (Failed to connect to 127.0.0.1 port {port} ");
    assert!(line.starts_with(&start), "{line}");
    assert!(line.ends_with("; events wait (one probe every 50 ms, until retry.max_age)"), "{line}");
    // No other line, and the closure went with the tracker (its sender is gone).
    assert_eq!(rx.try_recv(), Err(mpsc::TryRecvError::Disconnected));
}

#[test]
fn event_id_and_timestamp_can_be_switched_off() {
    let edge = Edge::start("noflags");
    {
        let t = Tracker::new(Options::new(edge.url.clone()).url_flags(UrlFlags::NONE)).unwrap();
        t.track(&[("only", "this")]).unwrap();
        t.flush(Duration::from_secs(60)).unwrap();
    }
    let records = edge.stop();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].params, vec![("only".to_string(), "this".to_string())]);
}
