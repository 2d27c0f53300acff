// SPDX-License-Identifier: MIT
// Durable delivery through the Rust binding: spool_dir, durability, spool_max_bytes and
// Status::Spool, against the real libpixel and a loopback HTTP responder written here.
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use pixel::{Durability, Options, Status, Tracker};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pixel-rust-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// Answers every request with 200 and closes; collects the eid of each.
fn serve(listener: TcpListener, eids: Arc<Mutex<Vec<String>>>) {
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
            }
            if let Some(eid) = line.split(['?', '&', ' ']).find_map(|p| p.strip_prefix("eid=")) {
                eids.lock().unwrap().push(eid.to_string());
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
}

#[test]
fn what_one_tracker_leaves_the_next_delivers() {
    let dir = temp_dir("spool-restart");
    let spool = dir.join("spool").to_str().unwrap().to_string();
    // A free port that nothing listens on (yet): connections are refused.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/1x1.png");
    let mut ids = HashSet::new();
    {
        let t = Tracker::new(
            Options::new(&url)
                .spool_dir(&spool)
                .durability(Durability::Sync)
                .spool_max_bytes(1 << 20)
                .shutdown_timeout(Duration::from_millis(100)),
        )
        .unwrap();
        for i in 0..10 {
            ids.insert(t.track(&[("userid", format!("u{i}").as_str())]).unwrap());
        }
        t.shutdown(Duration::from_millis(100)).unwrap();
        assert_eq!(t.stats().dropped, 0);
    }
    let eids = Arc::new(Mutex::new(Vec::new()));
    serve(TcpListener::bind(("127.0.0.1", port)).unwrap(), eids.clone());
    let t = Tracker::new(Options::new(&url).spool_dir(&spool).durability(Durability::Batched)).unwrap();
    t.flush(Duration::from_secs(20)).unwrap();
    assert_eq!(t.stats().delivered, 10);
    drop(t);
    let got: HashSet<String> = eids.lock().unwrap().iter().cloned().collect();
    assert_eq!(got, ids);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_spool_in_use_is_status_spool() {
    let dir = temp_dir("spool-locked");
    let spool = dir.join("spool").to_str().unwrap().to_string();
    let opts = || Options::new("http://127.0.0.1:9/1x1.png").spool_dir(&spool).durability(Durability::Sync);
    let first = Tracker::new(opts()).unwrap();
    let err = Tracker::new(opts()).err().expect("a second tracker on the spool");
    assert_eq!(err.status(), Status::Spool);
    assert_eq!(err.status().code(), 11);
    assert!(err.message().contains(&format!("in use by another tracker (process {})", std::process::id())));
    drop(first);
    assert!(Tracker::new(opts()).is_ok());
    let bad = Tracker::new(Options::new("http://127.0.0.1:9/1x1.png").durability(Durability::Sync));
    assert_eq!(bad.err().unwrap().status(), Status::InvalidArgument);
    let _ = std::fs::remove_dir_all(&dir);
}
