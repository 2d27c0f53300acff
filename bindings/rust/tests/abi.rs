// SPDX-License-Identifier: MIT
// The #[repr(C)] declarations (src/ffi.rs) against pixel.h as the C compiler sees it:
// abi_layout.json, written at build time by bindings/abi_layout.c (PIXEL_ABI_LAYOUT).
use std::mem::{align_of, offset_of, size_of};

use pixel::ffi;

// The JSON is abi_layout.c's own fixed shape: find a struct's object and read numbers out.
struct Layout(String);

impl Layout {
    fn load() -> Layout {
        let path = std::env::var("PIXEL_ABI_LAYOUT").expect("PIXEL_ABI_LAYOUT names abi_layout.json");
        Layout(std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
    }

    fn section(&self, name: &str) -> &str {
        let key = format!("\"{name}\": {{");
        let start = self.0.find(&key).unwrap_or_else(|| panic!("no {name} in the layout"));
        let rest = &self.0[start..];
        &rest[..rest.find("}}").expect("a struct ends with }}") + 2]
    }

    fn number(text: &str, key: &str) -> usize {
        let at = text.find(&format!("\"{key}\": ")).unwrap_or_else(|| panic!("no {key}")) + key.len() + 4;
        let digits: String = text[at..].chars().take_while(|c| c.is_ascii_digit()).collect();
        digits.parse().unwrap()
    }

    // size, align, and each field's [offset, size] in order.
    fn layout(&self, name: &str) -> (usize, usize, Vec<(String, usize, usize)>) {
        let s = self.section(name);
        let fields_at = s.find("\"fields\": {").unwrap() + 11;
        let mut fields = Vec::new();
        for line in s[fields_at..].lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix('"') {
                let name_end = rest.find('"').unwrap();
                let nums: Vec<usize> = rest[name_end..]
                    .split(|c: char| !c.is_ascii_digit())
                    .filter(|t| !t.is_empty())
                    .map(|t| t.parse().unwrap())
                    .collect();
                fields.push((rest[..name_end].to_string(), nums[0], nums[1]));
            }
        }
        (Self::number(s, "size"), Self::number(s, "align"), fields)
    }
}

macro_rules! fields {
    ($t:ty, $($f:ident),*) => {{
        let v: *const $t = std::ptr::null();
        let _ = v;
        vec![$((stringify!($f).to_string(), offset_of!($t, $f), {
            fn size_of_field<T, F>(_: fn(&T) -> &F) -> usize { size_of::<F>() }
            size_of_field(|s: &$t| &s.$f)
        })),*]
    }};
}

fn check(layout: &Layout, name: &str, size: usize, align: usize, fields: Vec<(String, usize, usize)>) {
    let (want_size, want_align, want_fields) = layout.layout(name);
    assert_eq!(size, want_size, "{name} size");
    assert_eq!(align, want_align, "{name} alignment");
    assert_eq!(fields, want_fields, "{name} fields");
}

#[test]
fn every_struct_matches_the_c_header() {
    let l = Layout::load();
    check(&l, "pixel_param", size_of::<ffi::pixel_param>(), align_of::<ffi::pixel_param>(),
          fields!(ffi::pixel_param, key, value));
    check(&l, "pixel_stats", size_of::<ffi::pixel_stats>(), align_of::<ffi::pixel_stats>(),
          fields!(ffi::pixel_stats, size, queued, in_flight, delivered, retried, failed, expired,
                  dropped, concurrency_limit, suppressed, mode_lowered, sampled_out,
                  receipts_unwritten, endpoint_down_since_ms, last_failure));
    check(&l, "pixel_event_result", size_of::<ffi::pixel_event_result>(),
          align_of::<ffi::pixel_event_result>(),
          fields!(ffi::pixel_event_result, size, event_id, outcome, attempts, http_status,
                  transport_error, message));
    check(&l, "pixel_event", size_of::<ffi::pixel_event>(), align_of::<ffi::pixel_event>(),
          fields!(ffi::pixel_event, size, params, count, user_agent, tracking_mode, gpc));
    assert_eq!(l.0.matches("\"fields\"").count(), 4, "a struct the binding does not declare");
}

#[test]
fn size_prefixed_structs_carry_their_size_and_the_library_is_the_abi() {
    let l = Layout::load();
    assert_eq!(ffi::pixel_stats::default().size, l.layout("pixel_stats").0);
    assert_eq!(ffi::pixel_event::new(std::ptr::null(), 0, std::ptr::null()).size, l.layout("pixel_event").0);
    assert_eq!(ffi::PIXEL_EVENT_ID_SIZE, Layout::number(&l.0, "PIXEL_EVENT_ID_SIZE"));
    assert_eq!(ffi::LIBRARY_NAME, format!("libpixel.so.{}", Layout::number(&l.0, "abi")));
    assert!(l.0.contains(&format!("\"version\": \"{}\"", pixel::version())));
}
