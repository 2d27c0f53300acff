// The open report as one HTML file: inline CSS and inline SVG only (no script, no font, no
// image, no link), readable at a glance on a laptop and in a narrow window.
// SPDX-License-Identifier: MIT
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <ctime>
#include <string>
#include <vector>

#include "opens_report.hpp"

namespace pixel::cli {
namespace {

std::string esc(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

// Colours with at least 4.5:1 contrast against white (text and bars alike).
std::string colour(const log::open_class& c, std::size_t machine_rank) {
  if (c.human) return "#1a7f37";
  static constexpr std::array<const char*, 7> machine = {"#6639ba", "#b35900", "#57606a", "#bf3989",
                                                         "#0969da", "#8a6100", "#cf222e"};
  return machine[machine_rank % machine.size()];
}

// "2024-06-19 08:54" (with seconds when asked).
std::string utc(std::int64_t ms, bool seconds = false) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::string o = fmt::format("{:04}-{:02}-{:02} {:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1,
                              tm.tm_mday, tm.tm_hour, tm.tm_min);
  if (seconds) o += fmt::format(":{:02}", tm.tm_sec);
  return o;
}

double share(std::uint64_t part, std::uint64_t whole) {
  return static_cast<double>(part) / static_cast<double>(whole);
}

std::string duration(double s) {
  if (s < 60) return fmt::format("{:.0f} s", s);
  if (s < 3600) return fmt::format("{:.1f} min", s / 60);
  if (s < 86400) return fmt::format("{:.1f} h", s / 3600);
  return fmt::format("{:.1f} days", s / 86400);
}

std::string number(double v) {
  return fmt::format("{}", v);  // shortest round-trip form, as the JSON output has it
}

// The series of the chart: humans together, then each machine client.
struct series {
  std::string name, colour;
  std::vector<std::size_t> clients;
};

std::vector<series> make_series(const opens_report& r) {
  std::vector<series> s;
  s.push_back({"human opens", "#1a7f37", {}});
  std::size_t rank = 0;
  for (std::size_t k = 0; k < r.clients.size(); ++k) {
    if (r.clients[k].human) {
      s[0].clients.push_back(k);
    } else {
      s.push_back({std::string(r.clients[k].client), colour(r.clients[k], rank++), {k}});
    }
  }
  return s;
}

void legend(std::string& o, const std::vector<series>& s) {
  o += "<ul class=\"legend\">";
  for (const auto& x : s) {
    o += fmt::format("<li><span class=\"swatch\" style=\"background:{}\"></span>{}</li>", x.colour,
                     esc(x.name));
  }
  o += "</ul>";
}

// Opens over time, stacked bars (humans at the bottom).
void timeline(std::string& o, const opens_report& r, const opens_campaign& c,
              const std::vector<series>& s, std::size_t n) {
  if (c.points.empty()) {
    o += "<p class=\"empty\">No hits in the logs for this campaign.</p>";
    return;
  }
  std::int64_t lo = c.first_sent_ms, hi = c.first_sent_ms;
  for (const auto& p : c.points) {
    lo = std::min(lo, p.ms);
    hi = std::max(hi, p.ms);
  }
  // Hourly, or finer when the span is short; coarser only past ~8 days.
  static constexpr std::array<std::int64_t, 9> steps = {
      1000, 10000, 60000, 300000, 900000, 3600000, 3 * 3600000LL, 6 * 3600000LL, 86400000};
  std::int64_t step = steps.back();
  for (const auto st : steps) {
    if ((hi - lo) / st < 200) {
      step = st;
      break;
    }
  }
  lo -= lo % step;
  const std::size_t nb = static_cast<std::size_t>((hi - lo) / step) + 1;
  std::vector<std::vector<std::uint64_t>> bins(s.size(), std::vector<std::uint64_t>(nb, 0));
  std::vector<std::size_t> series_of(r.clients.size(), 0);
  for (std::size_t i = 0; i < s.size(); ++i) {
    for (const auto k : s[i].clients) series_of[k] = i;
  }
  for (const auto& p : c.points)
    ++bins[series_of[p.client]][static_cast<std::size_t>((p.ms - lo) / step)];
  std::uint64_t top = 1;
  for (std::size_t b = 0; b < nb; ++b) {
    std::uint64_t sum = 0;
    for (const auto& v : bins) sum += v[b];
    top = std::max(top, sum);
  }
  const double w = 720, h = 220, left = 48, bottom = 28, plot_w = w - left - 8,
               plot_h = h - bottom - 8;
  const double bw = plot_w / static_cast<double>(nb);
  const std::string unit = step < 60000     ? fmt::format("{} s", step / 1000)
                           : step < 3600000 ? fmt::format("{} min", step / 60000)
                                            : fmt::format("{} h", step / 3600000);
  const std::string label = fmt::format(
      "Hits over time for {}, in {} bins from {} UTC: human opens and machine "
      "fetches stacked; highest bin {} hits",
      c.id, unit, utc(lo, true), top);
  o += fmt::format(
      "<svg class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" aria-labelledby=\"t{}a\">"
      "<title id=\"t{}a\">{}</title>",
      w, h, n, n, esc(label));
  for (int g = 0; g <= 4; ++g) {
    const double y = 8 + plot_h - plot_h * g / 4.0;
    o += fmt::format(
        "<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"grid\"/>"
        "<text x=\"{}\" y=\"{:.1f}\" class=\"axis\" text-anchor=\"end\">{}</text>",
        left, w - 8, y, y, left - 4, y + 4,
        static_cast<std::uint64_t>(std::llround(static_cast<double>(top) * g / 4.0)));
  }
  for (std::size_t b = 0; b < nb; ++b) {
    double y = 8 + plot_h;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const std::uint64_t v = bins[i][b];
      if (!v) continue;
      const double bh = plot_h * static_cast<double>(v) / static_cast<double>(top);
      y -= bh;
      o += fmt::format(
          "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"{}\">"
          "<title>{} UTC: {} {}</title></rect>",
          left + bw * static_cast<double>(b), y, std::max(bw - 0.5, 0.5), bh, s[i].colour,
          utc(lo + step * static_cast<std::int64_t>(b), true), v, esc(s[i].name));
    }
  }
  o += fmt::format("<text x=\"{}\" y=\"{}\" class=\"axis\">{} UTC</text>", left, h - 8,
                   utc(lo, step < 60000));
  o += fmt::format("<text x=\"{}\" y=\"{}\" class=\"axis\" text-anchor=\"end\">{} UTC</text>",
                   w - 8, h - 8, utc(lo + step * static_cast<std::int64_t>(nb), step < 60000));
  o += "</svg>";
}

// The share of each machine kind among machine hits, one 100% bar.
void machine_share(std::string& o, const opens_report& r, const opens_campaign& c,
                   const std::vector<series>& s, std::size_t n) {
  std::uint64_t total = 0;
  for (std::size_t i = 1; i < s.size(); ++i) total += c.hits[s[i].clients[0]];
  if (total == 0) {
    o += "<p class=\"empty\">No machine hits.</p>";
    return;
  }
  std::string label = "Machine hits by kind:";
  for (std::size_t i = 1; i < s.size(); ++i) {
    const auto v = c.hits[s[i].clients[0]];
    if (v) label += fmt::format(" {} {:.1f}%;", s[i].name, 100.0 * share(v, total));
  }
  o += fmt::format(
      "<svg class=\"share\" viewBox=\"0 0 720 36\" role=\"img\" aria-labelledby=\"t{}b\">"
      "<title id=\"t{}b\">{}</title>",
      n, n, esc(label));
  double x = 0;
  for (std::size_t i = 1; i < s.size(); ++i) {
    const auto v = c.hits[s[i].clients[0]];
    if (!v) continue;
    const double bw = 720.0 * share(v, total);
    o += fmt::format(
        "<rect x=\"{:.2f}\" y=\"0\" width=\"{:.2f}\" height=\"36\" fill=\"{}\">"
        "<title>{}: {} hits</title></rect>",
        x, bw, s[i].colour, esc(s[i].name), v);
    if (bw > 90) {
      o += fmt::format("<text x=\"{:.2f}\" y=\"23\" class=\"onbar\">{} {:.0f}%</text>", x + 6,
                       esc(s[i].name), 100.0 * share(v, total));
    }
    x += bw;
  }
  o += "</svg>";
  (void)r;
}

// Time from send to first human open, in fixed buckets.
void time_to_open(std::string& o, const opens_campaign& c, std::size_t n) {
  if (c.time_to_open.empty()) {
    o += "<p class=\"empty\">No human opens yet.</p>";
    return;
  }
  static constexpr std::array<std::pair<double, const char*>, 8> buckets = {
      {{60, "< 1 min"},
       {600, "1-10 min"},
       {3600, "10-60 min"},
       {6 * 3600, "1-6 h"},
       {86400, "6-24 h"},
       {3 * 86400, "1-3 days"},
       {7 * 86400, "3-7 days"},
       {1e300, "> 7 days"}}};
  std::array<std::uint64_t, buckets.size()> count{};
  for (const double t : c.time_to_open) {
    std::size_t b = 0;
    while (b + 1 < buckets.size() && t >= buckets[b].first) ++b;
    ++count[b];
  }
  const std::uint64_t top =
      std::max<std::uint64_t>(1, *std::max_element(count.begin(), count.end()));
  std::string label = "Time from send to first open:";
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    label += fmt::format(" {} {};", buckets[b].second, count[b]);
  }
  const double w = 720, row = 24;
  o += fmt::format(
      "<svg class=\"tto\" viewBox=\"0 0 {} {}\" role=\"img\" aria-labelledby=\"t{}c\">"
      "<title id=\"t{}c\">{}</title>",
      w, row * buckets.size(), n, n, esc(label));
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    const double y = row * static_cast<double>(b);
    const double bw = (w - 160) * static_cast<double>(count[b]) / static_cast<double>(top);
    o += fmt::format(
        "<text x=\"90\" y=\"{:.0f}\" class=\"axis\" text-anchor=\"end\">{}</text>"
        "<rect x=\"96\" y=\"{:.0f}\" width=\"{:.2f}\" height=\"{:.0f}\" fill=\"#1a7f37\"/>"
        "<text x=\"{:.2f}\" y=\"{:.0f}\" class=\"axis\">{}</text>",
        y + 16, buckets[b].second, y + 4, bw, row - 8, 100 + bw, y + 16, count[b]);
  }
  o += "</svg>";
}

constexpr const char* css = R"css(
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1f2328; background: #ffffff; }
main { max-width: 980px; margin: 0 auto; padding: 16px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.3rem; margin: 28px 0 8px; border-top: 1px solid #d0d7de; padding-top: 16px; }
h3 { font-size: 1rem; margin: 16px 0 6px; }
p.meta { color: #59636e; margin: 0 0 8px; }
.numbers { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; padding: 0; list-style: none; }
.numbers li { flex: 1 1 130px; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 10px; }
.numbers .value { display: block; font-size: 1.5rem; font-weight: 600; }
.numbers .label { color: #59636e; font-size: .9rem; }
svg { width: 100%; height: auto; display: block; }
svg .axis { font-size: 12px; fill: #424a53; }
svg .onbar { font-size: 13px; fill: #ffffff; font-weight: 600; }
svg .grid { stroke: #d0d7de; stroke-width: 1; }
.legend { list-style: none; padding: 0; margin: 6px 0; display: flex; flex-wrap: wrap; gap: 4px 16px; }
.swatch { display: inline-block; width: 12px; height: 12px; margin-right: 6px; vertical-align: -1px;
          border-radius: 2px; }
table { border-collapse: collapse; margin: 6px 0; font-size: .95rem; }
th, td { text-align: left; padding: 3px 12px 3px 0; border-bottom: 1px solid #d0d7de; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.empty { color: #59636e; font-style: italic; }
footer { color: #59636e; font-size: .85rem; margin-top: 32px; }
)css";

}  // namespace

std::string opens_html(const opens_report& r) {
  const std::vector<series> s = make_series(r);
  std::string o;
  o += "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
       "<title>Email opens report</title><style>";
  o += css;
  o += "</style></head><body><main>\n<h1>Email opens</h1>\n";
  o += fmt::format(
      "<p class=\"meta\">Human opens are mail clients, browsers and the Gmail and Yahoo image "
      "proxies; machine opens are fetches no person caused (Apple Mail Privacy Protection, "
      "Gmail's prefetch, bots, security scanners within {} s of sending). Rules version "
      "<span data-key=\"rules_version\">{}</span>.</p>\n",
      number(r.scanner_window), esc(r.rules_version));
  std::size_t n = 0;
  for (const auto& c : r.campaigns) {
    ++n;
    o += fmt::format("<section class=\"campaign\" data-campaign=\"{}\">\n<h2>{}</h2>\n", esc(c.id),
                     esc(c.id));
    o += fmt::format("<p class=\"meta\">Sent {} UTC", utc(c.first_sent_ms));
    if (c.last_sent_ms - c.first_sent_ms >= 60000) {
      o += fmt::format(" to {} UTC", utc(c.last_sent_ms));
    }
    o += "</p>\n<ul class=\"numbers\">";
    const auto item = [&o](const char* key, const std::string& value, const std::string& shown,
                           const char* label) {
      o += fmt::format(
          "<li><span class=\"value\" data-key=\"{}\" data-value=\"{}\">{}</span>"
          "<span class=\"label\">{}</span></li>",
          key, value, shown, label);
    };
    item("open_rate", number(c.open_rate()), fmt::format("{:.1f}%", 100.0 * c.open_rate()),
         "open rate (human opens / sent)");
    item("sent", std::to_string(c.sent), std::to_string(c.sent), "messages sent");
    item("opened", std::to_string(c.opened), std::to_string(c.opened), "opened by a person");
    item("machine_only", std::to_string(c.machine_only), std::to_string(c.machine_only),
         "machine opens only");
    item("not_opened", std::to_string(c.not_opened), std::to_string(c.not_opened), "no hit at all");
    item("median_time_to_open",
         c.median_time_to_open ? number(*c.median_time_to_open) : std::string("null"),
         c.median_time_to_open ? duration(*c.median_time_to_open) : std::string("none"),
         "median time to first open");
    o += "</ul>\n<h3>Opens over time</h3>\n";
    legend(o, s);
    timeline(o, r, c, s, n);
    o += "<h3>Machine opens by kind</h3>\n";
    machine_share(o, r, c, s, n);
    o += "<table><thead><tr><th scope=\"col\">client</th><th scope=\"col\">kind</th>"
         "<th scope=\"col\">hits</th></tr></thead><tbody>";
    for (std::size_t k = 0; k < r.clients.size(); ++k) {
      if (!c.hits[k]) continue;
      o += fmt::format(
          "<tr><td>{}</td><td>{}</td><td class=\"n\" data-{}-client=\"{}\">{}</td></tr>",
          esc(r.clients[k].client), r.clients[k].human ? "human" : "machine",
          r.clients[k].human ? "human" : "machine", esc(r.clients[k].client), c.hits[k]);
    }
    o += fmt::format(
        "<tr><td>refused (not 2xx/3xx)</td><td>not an open</td><td class=\"n\" "
        "data-key=\"failed_hits\">{}</td></tr>",
        c.failed_hits);
    if (r.verified) {
      o += fmt::format(
          "<tr><td>signature did not verify</td><td>not an open</td><td class=\"n\" "
          "data-key=\"unverified_hits\">{}</td></tr>",
          c.unverified_hits);
    }
    o += "</tbody></table>\n";
    o += "<h3>Time from send to first open</h3>\n";
    time_to_open(o, c, n);
    o += "</section>\n";
  }
  if (r.any_unknown()) {
    std::uint64_t hits = 0;
    for (const auto v : r.unknown.hits) hits += v;
    o += fmt::format(
        "<section class=\"unknown\"><h2>Hits of no campaign</h2><p><span "
        "data-key=\"unknown_hits\">{}</span> hits (and <span data-key=\"unknown_failed\">{}</span> "
        "refused) carry an event id in no manifest ({} distinct ids) or none ({}).</p></section>\n",
        hits, r.unknown.failed_hits, r.unknown_events, r.unknown_without_id);
  }
  o += "<footer>Made by <code>pixel opens</code> from CloudFront logs and campaign "
       "manifests.</footer>\n";
  o += "</main></body></html>\n";
  return o;
}

}  // namespace pixel::cli
