// Reading logs: `pixel logs` (--stats, and JSON Lines to /dev/null) against mawk printing
// one column of the same file, in the same run, and `pixel opens` against `pixel logs
// --stats`. Prints records/s, MB/s and the ratios.
// Usage: bench_log [FOUR_FIELD_RECORDS [WIDE_RECORDS]] (default 525600 and 100000).
// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "pixel/log.hpp"

namespace {

namespace fs = std::filesystem;
namespace log = pixel::log;

// Runs argv with stdout to /dev/null; the least CPU time (user + system) of `runs`, in
// seconds. CPU time rather than wall time: the figure is for one core, and it does not
// count the time another process held the core.
double run(const std::vector<std::string>& argv, int runs) {
  double best = 1e9;
  for (int i = 0; i < runs; ++i) {
    const pid_t pid = fork();
    if (pid == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      dup2(null, 1);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    int status = 0;
    rusage ru{};
    wait4(pid, &status, 0, &ru);
    const double s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "bench_log: %s exited with status %d\n", argv[0].c_str(), status);
      std::exit(1);
    }
    if (s < best) best = s;
  }
  return best;
}

// A record of `fields` with plausible values: the user agent and the query as a browser
// and the tracker send them, log-escaped as CloudFront writes them.
std::string make_record(const log::field_list& fields, std::mt19937_64& rng, std::uint64_t n) {
  static const char* agents[] = {
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/124.0.0.0 Safari/537.36",
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
      "like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
      "pixel-cpp/0.1.0"};
  const std::string ua = agents[rng() % 3];
  char q[256];
  std::snprintf(q, sizeof q,
                "userid=user-%08llx&thirdpartyname=example.hightrafficwebsite.com&campaign=spring%%"
                "20sale&page=%%2Fproducts%%2Fshoes&eid=01J%023llu&ts=%llu",
                static_cast<unsigned long long>(rng() & 0xFFFFFFFF),
                static_cast<unsigned long long>(n), 1718787248530ULL + n);
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) line += '\t';
    const log::field f = fields[i];
    switch (f) {
      case log::field::timestamp:
        line += std::to_string(1718787248 + n / 1000) + "." + std::to_string(100 + n % 900);
        break;
      case log::field::c_ip:
      case log::field::s_ip:
        line += "203.0.113." + std::to_string(n % 250);
        break;
      case log::field::cs_user_agent:
        line += log::log_escape(ua);
        break;
      case log::field::cs_uri_query:
        line += log::log_escape(q);
        break;
      case log::field::cs_uri_stem:
        line += "/1x1.png%3F" + log::log_escape(q);
        break;
      case log::field::sc_status:
        line += "200";
        break;
      case log::field::x_forwarded_for:
        line += "";  // CloudFront leaves some values empty
        break;
      case log::field::sc_content_type:
        line += "image/png;%20charset=binary";
        break;
      default: {
        const log::field_type t = log::type_of(f);
        if (t == log::field_type::integer) {
          line += std::to_string(rng() % 5000);
        } else if (t == log::field_type::decimal) {
          line += "0.0" + std::to_string(rng() % 90 + 10);
        } else if (rng() % 4 == 0) {
          line += '-';
        } else {
          line += log::log_escape(std::string(log::field_name(f)) + " value");
        }
      }
    }
  }
  line += '\n';
  return line;
}

struct dataset {
  std::string name;
  log::field_list fields;
  std::uint64_t records;
};

// `pixel opens` over the same file with a manifest of every event id in it (one message per
// record, sent 30 s before its hit): its speed as a ratio of `pixel logs --stats`'s.
void opens_rows(const dataset& set, const fs::path& dir, const fs::path& file,
                const std::string& list, double stats, int runs) {
  const fs::path manifest = dir / "manifest.jsonl";
  {
    std::FILE* f = std::fopen(manifest.c_str(), "wb");
    for (std::uint64_t n = 0; n < set.records; ++n) {
      std::fprintf(f,
                   "{\"campaign\": \"spring sale\", \"eid\": \"01J%023llu\", \"recipient\": "
                   "\"user-%llu\", \"sent\": %llu}\n",
                   static_cast<unsigned long long>(n), static_cast<unsigned long long>(n),
                   static_cast<unsigned long long>(1718787248 + n / 1000 - 30));
    }
    std::fclose(f);
  }
  const std::vector<std::string> base = {PIXEL_BIN,         "opens",    "--manifest",
                                         manifest.string(), "--fields", list};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> v = base;
    v.insert(v.end(), extra.begin(), extra.end());
    v.push_back(file.string());
    return v;
  };
  const double summary = run(with({"--summary"}), runs);
  const double messages = run(with({}), runs);
  std::printf("%-10s %-22s %9.3f %12.0f %9s %9.2fx of --stats (target >= 0.5x)\n", set.name.c_str(),
              "pixel opens --summary", summary, static_cast<double>(set.records) / summary, "",
              stats / summary);
  std::printf("%-10s %-22s %9.3f %12.0f %9s %9.2fx of --stats\n", set.name.c_str(), "pixel opens",
              messages, static_cast<double>(set.records) / messages, "", stats / messages);
  fs::remove(manifest);
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t four = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 525600;
  const std::uint64_t wide = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 100000;
  const int runs = four < 10000 ? 1 : 5;
  std::vector<log::field> first44;
  for (std::size_t i = 0; i < 44; ++i) first44.push_back(static_cast<log::field>(i));
  const std::vector<dataset> sets = {
      {"4 fields",
       {log::field::timestamp, log::field::c_ip, log::field::cs_user_agent,
        log::field::cs_uri_query},
       four},
      {"44 fields", log::field_list(first44), wide},
  };
  const fs::path dir = fs::temp_directory_path() / ("pixel-bench-log-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::printf("%-10s %-22s %9s %12s %9s %10s\n", "file", "reader", "cpu s", "records/s", "MB/s",
              "vs mawk");
  for (const auto& set : sets) {
    const fs::path file = dir / "records.log";
    std::mt19937_64 rng(42);
    {
      std::FILE* f = std::fopen(file.c_str(), "wb");
      std::string chunk;
      for (std::uint64_t n = 0; n < set.records; ++n) {
        chunk += make_record(set.fields, rng, n);
        if (chunk.size() > (1 << 20)) {
          std::fwrite(chunk.data(), 1, chunk.size(), f);
          chunk.clear();
        }
      }
      std::fwrite(chunk.data(), 1, chunk.size(), f);
      std::fclose(f);
    }
    const double mb = static_cast<double>(fs::file_size(file)) / 1e6;
    const std::string list = set.fields.to_string();
    const double awk = run({MAWK_BIN, "-F\t", "{print $4}", file.string()}, runs);
    const double stats = run({PIXEL_BIN, "logs", "--stats", "--fields", list, file.string()}, runs);
    const double jsonl = run({PIXEL_BIN, "logs", "--fields", list, file.string()}, runs);
    const auto row = [&](const char* what, double s, double baseline) {
      std::printf("%-10s %-22s %9.3f %12.0f %9.1f %9.2fx\n", set.name.c_str(), what, s,
                  static_cast<double>(set.records) / s, mb / s, baseline / s);
    };
    row("mawk '{print $4}'", awk, awk);
    row("pixel logs --stats", stats, awk);
    row("pixel logs (JSON Lines)", jsonl, awk);
    if (set.fields.contains(log::field::cs_user_agent) && set.records == four) {
      opens_rows(set, dir, file, list, stats, runs);
    }
    fs::remove(file);
  }
  fs::remove_all(dir);
  std::printf("(%d run(s) each, least CPU time; ratio = mawk seconds / reader seconds)\n", runs);
  return 0;
}
