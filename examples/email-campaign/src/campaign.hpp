// email-campaign: one personalised message per recipient, each with its own pixel.
// SPDX-License-Identifier: MIT
#ifndef EMAIL_CAMPAIGN_CAMPAIGN_HPP
#define EMAIL_CAMPAIGN_CAMPAIGN_HPP

#include <array>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "pixel/consent.hpp"
#include "pixel/url.hpp"

namespace email_campaign {

enum class output_format { eml, html };
enum class transfer_encoding { quoted_printable, base64 };

struct options {
  std::string template_path;
  std::string recipients_path;  // "-" reads standard input
  std::string campaign;
  std::string endpoint;  // https://host[/path] (http:// for loopback hosts)
  std::string out_dir;
  output_format format = output_format::eml;
  std::string from = "newsletter@example.com";  // "addr" or "Display Name <addr>"
  std::optional<std::string> subject;           // default: the template's <title>
  std::string text_template_path;               // default: text derived from the HTML
  std::string thirdpartyname;                   // default: the sender's domain
  std::optional<std::string> hash_key;          // --hash-ids KEY (deprecated)
  // Tracking that follows consent (docs/privacy.md). Each recipient's mode is the value of
  // `consent_column` (off, aggregate, pseudonymous, identified); an empty value, or no
  // consent column, is `default_mode`: off when a consent column is given, else identified.
  std::string consent_column;
  std::optional<pixel::tracking_mode> default_mode;
  std::optional<std::string> pseudonym_key;  // --pseudonym-key FILE's bytes (>= 16)
  // --optout-url: a URL with {{column}} merge fields (values percent-encoded), the value of
  // {{tracking_optout}} in every message.
  std::string optout_url;
  std::string name_column;  // default: name, else first_name last_name
  transfer_encoding encoding = transfer_encoding::quoted_printable;
  bool allow_http = false;
  // --sign-key KID:FILE: every pixel URL signed (kid, exp, sig; valid 30 days from now_ms).
  std::shared_ptr<const pixel::url_signer> signer;

  std::optional<double> open_rate;  // --simulate-opens RATE
  double reopen_rate = 0.0;         // fraction of openers whose client fetches again
  std::string user_agent;           // for simulated opens; default: a mail client's

  // Deterministic output for tests: event ids from this seed, Date from `now_ms`.
  std::optional<std::uint64_t> seed;
  std::optional<std::uint64_t> now_ms;
  // The `sent` time of every message in manifest.jsonl (epoch ms); default: when written.
  std::optional<std::uint64_t> sent_at_ms;

  bool dry_run = false;   // render and check every message, write only manifest.csv
  bool progress = false;  // redraw a progress line on stderr (only when it is a TTY)

  // Set to a signal's number (SIGINT, SIGTERM) by the caller's handler: no row is read after
  // it, simulated opens get `stop_grace` more to be delivered, and run() returns 128 + the
  // signal after a summary that counts what was delivered and what is left.
  const volatile std::sig_atomic_t* stop = nullptr;
  std::chrono::milliseconds stop_grace{2'000};
};

struct summary {
  std::uint64_t generated = 0;
  std::array<std::uint64_t, 4> per_mode{};  // messages generated, by pixel::tracking_mode
  std::uint64_t malformed = 0;              // rows reported and skipped
  std::uint64_t bytes = 0;                  // written to the output files
  std::uint64_t oversized = 0;              // HTML over Gmail's clip
  std::uint64_t pixel_after_clip = 0;       // pixel past Gmail's clip
  std::uint64_t openers = 0;                // recipients whose pixel fired
  std::uint64_t pixels_fired = 0;           // opens and re-opens
  std::uint64_t delivered = 0, failed = 0, dropped = 0;
  std::uint64_t left = 0;  // opens undelivered when a signal stopped the run
  int stopped_by = 0;      // the signal that stopped the run, or 0
  double seconds = 0;      // wall-clock time of the generation
  double cpu_seconds = 0;  // user + system CPU time of the process over the same span
};

// Runs the whole campaign, writing diagnostics (one line each) to `log`. Returns the exit
// status: 0 when every row became a message (and every simulated open was delivered),
// 1 when some rows were malformed or opens were lost, 2 when nothing could be done
// (bad options, unreadable files, missing email column), 128 + the signal when
// options::stop stopped it.
int run(const options& opts, std::FILE* log, summary& result);

}  // namespace email_campaign

#endif  // EMAIL_CAMPAIGN_CAMPAIGN_HPP
