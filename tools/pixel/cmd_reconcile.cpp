// pixel reconcile: receipts (what the SDK says happened to each event) against the log
// records (what reached CloudFront's logs).
// SPDX-License-Identifier: MIT
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "pixel/log.hpp"

namespace pixel::cli {
namespace {

// Exit statuses: 0 nothing missing; 3 nothing missing, but some input lines were skipped;
// 4 some delivered event is missing from the logs; 1 an input could not be read.
constexpr int exit_partial = 3;
constexpr int exit_missing = 4;

struct reconcile_args {
  std::vector<std::string> receipts;
  double grace_s = 300;
  std::string fields = log::default_fields().to_string();
  std::string fields_order = "canonical";
  std::string input = "realtime";
  std::string event_id_key = "eid";
  std::vector<std::string> paths;
};

// One receipt: an event's outcome as the SDK settled it.
struct receipt {
  std::string eid;
  std::string outcome;
  std::int64_t at_ms = 0;
  std::uint32_t records = 0;  // log records of it answered 2xx/3xx (or without a status)
};

class receipt_book {
 public:
  // Reads one receipts file; malformed lines are reported and counted.
  result<void> read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return error(errc::invalid_argument, "cannot read receipts file " + path);
    std::string line;
    std::uint64_t number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (line.empty()) continue;
      if (auto why = add(line); !why.empty()) {
        ++malformed_;
        fmt::print(stderr, "pixel: {}:{}: {}\n", path, number, why);
      }
    }
    if (in.bad()) return error(errc::invalid_argument, "cannot read receipts file " + path);
    return {};
  }

  receipt* find(const std::string& eid) {
    auto it = index_.find(eid);
    return it == index_.end() ? nullptr : &all_[it->second];
  }
  std::vector<receipt>& all() { return all_; }
  std::uint64_t malformed() const { return malformed_; }

 private:
  // Empty when the line was taken; otherwise why not.
  std::string add(const std::string& line) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return "not a JSON object";
    const auto eid = j.find("eid");
    const auto outcome = j.find("outcome");
    const auto at = j.find("at");
    if (eid == j.end() || !eid->is_string() || eid->get_ref<const std::string&>().empty()) {
      return "no \"eid\" string";
    }
    if (outcome == j.end() || !outcome->is_string()) return "no \"outcome\" string";
    const auto& o = outcome->get_ref<const std::string&>();
    if (o != "delivered" && o != "failed" && o != "expired" && o != "dropped") {
      return "unknown outcome \"" + o + "\"";
    }
    if (at == j.end() || !at->is_number() || !std::isfinite(at->get<double>())) {
      return "no \"at\" number";
    }
    receipt r;
    r.eid = eid->get<std::string>();
    r.outcome = o;
    r.at_ms = static_cast<std::int64_t>(std::llround(at->get<double>() * 1000.0));
    if (index_.count(r.eid) != 0) return "event " + r.eid + " has a receipt already";
    index_.emplace(r.eid, all_.size());
    all_.push_back(std::move(r));
    return {};
  }

  std::vector<receipt> all_;
  std::unordered_map<std::string, std::size_t> index_;
  std::uint64_t malformed_ = 0;
};

void print_json(const nlohmann::ordered_json& j) {
  const std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fputc('\n', stdout);
}

int run_reconcile(const reconcile_args& a) {
  if (!(a.grace_s >= 0) || !std::isfinite(a.grace_s)) {
    return fail("--grace: expected seconds >= 0");
  }
  receipt_book book;
  for (const auto& path : a.receipts) {
    if (auto ok = book.read(path); !ok) return fail(ok.error().message());
  }

  const auto order =
      a.fields_order == "as-given" ? log::field_order::as_given : log::field_order::canonical;
  auto fields = log::parse_fields(a.fields, order);
  if (!fields) {
    return fail(order == log::field_order::canonical ? explain_fields(a.fields, fields.error())
                                                     : "--fields: " + fields.error().message());
  }
  log::reader_options ro;
  ro.fields = std::move(fields).value();
  ro.input = a.input == "standard" ? log::input_kind::standard : log::input_kind::realtime;
  ro.event_id_key = a.event_id_key;
  ro.on_problem = [](const log::problem& p) {
    if (p.line == 0) {
      fmt::print(stderr, "pixel: {}: {}\n", p.file, p.message);
    } else {
      fmt::print(stderr, "pixel: {}:{}: {}\n", p.file, p.line, p.message);
    }
  };
  auto reader = log::reader::open(a.paths, std::move(ro));
  if (!reader) return fail(reader.error().message());

  // One pass over the logs: count each receipted event's landed records, and the newest
  // record's time (the logs are complete up to about then).
  std::optional<std::int64_t> newest_ms;
  std::uint64_t unknown = 0;
  std::uint64_t record_count = 0;
  log::record rec;
  while (reader->next(rec)) {
    ++record_count;
    if (rec.timestamp_ms != 0 && (!newest_ms || rec.timestamp_ms > *newest_ms)) {
      newest_ms = rec.timestamp_ms;
    }
    const std::string* eid = rec.param(a.event_id_key);
    receipt* r = eid ? book.find(*eid) : nullptr;
    if (!r) {
      ++unknown;
      continue;
    }
    if (rec.delivered()) ++r->records;
  }

  // Events settled less than --grace before the newest record may still be on their way.
  const auto grace_ms = static_cast<std::int64_t>(std::llround(a.grace_s * 1000.0));
  std::uint64_t delivered = 0, landed = 0, missing = 0, duplicated = 0, logged_failed = 0,
                not_delivered = 0, pending = 0;
  for (const receipt& r : book.all()) {
    if (newest_ms && r.at_ms > *newest_ms - grace_ms) {
      ++pending;
      continue;
    }
    const char* state = nullptr;
    if (r.outcome == "delivered") {
      ++delivered;
      if (r.records == 0) {
        ++missing;
        state = "missing";
      } else {
        ++landed;
        if (r.records > 1) {
          ++duplicated;
          state = "duplicated";
        }
      }
    } else {
      ++not_delivered;
      if (r.records > 0) {
        ++logged_failed;
        state = "logged_not_delivered";
      }
    }
    if (state) {
      print_json(
          {{"eid", r.eid}, {"state", state}, {"outcome", r.outcome}, {"records", r.records}});
    }
  }
  nlohmann::ordered_json summary = {
      {"delivered", delivered},
      {"landed", landed},
      {"missing", missing},
      {"duplicated", duplicated},
      {"logged_not_delivered", logged_failed},
      {"not_delivered", not_delivered},
      {"landed_share", delivered == 0 ? nlohmann::ordered_json(nullptr)
                                      : nlohmann::ordered_json(static_cast<double>(landed) /
                                                               static_cast<double>(delivered))},
      {"pending", pending},
      {"unknown_records", unknown},
      {"records", record_count},
      {"newest_record", newest_ms ? nlohmann::ordered_json(static_cast<double>(*newest_ms) / 1000.0)
                                  : nlohmann::ordered_json(nullptr)},
  };
  print_json(summary);
  std::fflush(stdout);
  if (missing > 0) return exit_missing;
  if (book.malformed() > 0 || reader->malformed() > 0) return exit_partial;
  return exit_ok;
}

}  // namespace

void add_reconcile_command(CLI::App& app, context& ctx) {
  auto a = std::make_shared<reconcile_args>();
  CLI::App* cmd = app.add_subcommand(
      "reconcile", "Match the SDK's receipts with the log records: which events never landed");
  cmd->add_option("--receipts", a->receipts,
                  "A receipts file (tracker_options::receipts_path, pixel send --receipts); "
                  "repeat for several")
      ->required()
      ->allow_extra_args(false)
      ->check(CLI::ExistingFile);
  cmd->add_option("--grace", a->grace_s,
                  "Seconds before the newest record within which events are not judged yet")
      ->capture_default_str();
  cmd->add_option("--fields", a->fields, "The records' real-time log fields, as for pixel logs")
      ->capture_default_str();
  cmd->add_option("--fields-order", a->fields_order, "canonical or as-given, as for pixel logs")
      ->check(CLI::IsMember({"canonical", "as-given"}))
      ->capture_default_str();
  cmd->add_option("--input", a->input, "realtime or standard, for files without a header")
      ->check(CLI::IsMember({"realtime", "standard"}))
      ->capture_default_str();
  cmd->add_option("--event-id-key", a->event_id_key, "Parameter holding the event id")
      ->capture_default_str();
  cmd->add_option("paths", a->paths, "Log files or folders")->required();
  cmd->callback([a, &ctx] { ctx.exit_code = run_reconcile(*a); });
}

}  // namespace pixel::cli
