// email-campaign: personalised MIME messages with a unique open-tracking pixel each.
// SPDX-License-Identifier: MIT
//
//   email-campaign --template newsletter.html --recipients people.csv --campaign spring
//       --endpoint https://d111111abcdef8.cloudfront.net --out out/
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>

#include "campaign.hpp"
#include "manifest.hpp"

namespace {
constexpr const char* usage =
    "usage: email-campaign --template FILE --recipients CSV --campaign ID --endpoint URL\n"
    "                      --out DIR [options]\n"
    "\n"
    "  --template FILE        HTML template; {{column}} merge fields, {{pixel}} (optional)\n"
    "  --recipients CSV       RFC 4180 CSV with a header row: email required, userid\n"
    "                         optional, every column a merge field ('-' reads stdin)\n"
    "  --campaign ID          the campaign parameter of every pixel\n"
    "  --endpoint URL         pixel endpoint, e.g. https://d111111abcdef8.cloudfront.net\n"
    "  --out DIR              one file per recipient plus manifest.csv and manifest.jsonl\n"
    "  --format eml|html      complete MIME messages (default) or HTML files\n"
    "  --from ADDRESS         sender, 'addr' or 'Name <addr>' (default newsletter@example.com)\n"
    "  --subject TEXT         subject with merge fields (default: the template's <title>)\n"
    "  --text-template FILE   text/plain part (default: derived from the HTML)\n"
    "  --thirdpartyname NAME  (default: the sender's domain)\n"
    "  --consent-column COL   each recipient's tracking mode: off (no pixel), aggregate\n"
    "                         (no identity), pseudonymous, identified (docs/privacy.md)\n"
    "  --default-mode MODE    the mode of an empty consent value (default: off with\n"
    "                         --consent-column, else identified)\n"
    "  --pseudonym-key FILE   key of pseudonymous mode (>= 16 bytes; one trailing newline\n"
    "                         ignored): userid = base64url(HMAC-SHA256(key, userid)[:16])\n"
    "  --optout-url URL       fills {{tracking_optout}} in every message; {{column}} merge\n"
    "                         fields in URL are percent-encoded\n"
    "  --hash-ids KEY         deprecated (ps shows KEY): userid = HMAC-SHA256(KEY, userid),\n"
    "                         hex, in identified messages; use --pseudonym-key\n"
    "  --sign-key KID:FILE    sign every pixel URL (valid 30 days) with the base64 key in\n"
    "                         FILE, named KID; the edge then refuses forged opens\n"
    "  --name-column COL      display name in To (default: name, else first_name last_name)\n"
    "  --encoding qp|base64   transfer encoding of both parts (default qp)\n"
    "  --allow-http           allow an http:// endpoint that is not loopback\n"
    "  --sent-at TIME         the manifest's sent time: epoch seconds or ISO 8601\n"
    "                         (default: when each message is written)\n"
    "  --dry-run              render and check every message; write only manifest.csv\n"
    "  --simulate-opens RATE  fetch the pixel of a random RATE fraction of recipients\n"
    "  --reopen-rate R        fraction of those who open twice (default 0)\n"
    "  --user-agent UA        User-Agent of simulated opens (default: mail clients')\n"
    "  --seed N               deterministic event ids and opens (tests only)\n"
    "  --now-ms MS            fixed Date and event-id time (tests only)\n";

bool parse_double(const char* s, double& out) {
  char* end = nullptr;
  out = std::strtod(s, &end);
  return end != s && *end == '\0';
}
bool parse_u64(const char* s, std::uint64_t& out) {
  if (*s < '0' || *s > '9') return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtoull(s, &end, 10);
  return errno == 0 && *end == '\0';
}
// KID:FILE, FILE holding the base64 key: the signer, or an error that never shows the key.
std::string read_signer(const char* spec, std::shared_ptr<const pixel::url_signer>& out) {
  const char* colon = std::strchr(spec, ':');
  if (colon == nullptr || colon[1] == '\0') return "--sign-key: expected KID:FILE";
  const std::string kid(spec, colon), path(colon + 1);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "--sign-key: cannot read key file " + path;
  if ((st.st_mode & 077) != 0) {
    std::fprintf(stderr, "email-campaign: warning: key file %s is accessible to other users\n",
                 path.c_str());
  }
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto key = pixel::decode_signing_key(text);
  if (!key) return "--sign-key " + path + ": " + key.error().message();
  auto signer = pixel::make_url_signer(kid, *key);
  if (!signer) return "--sign-key: " + signer.error().message();
  out = std::move(*signer);
  return {};
}
// FILE's bytes less one trailing newline; an error that never shows the key.
std::string read_pseudonym_key(const char* path, std::optional<std::string>& out) {
  struct stat st {};
  if (::stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
    return std::string("--pseudonym-key: cannot read key file ") + path;
  }
  if ((st.st_mode & 077) != 0) {
    std::fprintf(stderr, "email-campaign: warning: key file %s is accessible to other users\n",
                 path);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::string("--pseudonym-key: cannot read key file ") + path;
  std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!key.empty() && key.back() == '\n') key.pop_back();
  if (auto ok = pixel::validate_pseudonym_key(key); !ok) {
    return std::string("--pseudonym-key ") + path + ": " + ok.error().message();
  }
  out = std::move(key);
  return {};
}

// SIGINT, SIGTERM: the first stops the campaign (no row read after it, a short wait for the
// simulated opens, a summary, exit 128 + the signal); a second ends the process at once,
// with the same status.
volatile std::sig_atomic_t stop_signal = 0;
extern "C" void on_stop_signal(int sig) {
  if (stop_signal != 0) {
    static const char again[] = "\nemail-campaign: signal again: exiting without waiting\n";
    const ssize_t ignored = ::write(STDERR_FILENO, again, sizeof again - 1);
    (void)ignored;
    ::_exit(128 + stop_signal);  // the first signal's status: the second says "now"
  }
  stop_signal = sig;
}
void handle_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a read of the recipients returns at the signal
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}
}  // namespace

int main(int argc, char** argv) {
  email_campaign::options o;
  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "email-campaign: %s\n%s", message.c_str(), usage);
    return 2;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage, stdout);
      return 0;
    }
    if (arg == "--allow-http") {
      o.allow_http = true;
      continue;
    }
    if (arg == "--dry-run") {
      o.dry_run = true;
      continue;
    }
    if (i + 1 >= argc) return fail(std::string(arg) + " needs a value");
    const char* v = argv[++i];
    if (arg == "--template") {
      o.template_path = v;
    } else if (arg == "--recipients") {
      o.recipients_path = v;
    } else if (arg == "--campaign") {
      o.campaign = v;
    } else if (arg == "--endpoint") {
      o.endpoint = v;
    } else if (arg == "--out") {
      o.out_dir = v;
    } else if (arg == "--format") {
      if (std::strcmp(v, "eml") == 0) {
        o.format = email_campaign::output_format::eml;
      } else if (std::strcmp(v, "html") == 0) {
        o.format = email_campaign::output_format::html;
      } else {
        return fail("--format must be eml or html");
      }
    } else if (arg == "--from") {
      o.from = v;
    } else if (arg == "--subject") {
      o.subject = v;
    } else if (arg == "--text-template") {
      o.text_template_path = v;
    } else if (arg == "--thirdpartyname") {
      o.thirdpartyname = v;
    } else if (arg == "--hash-ids") {
      if (*v == '\0') return fail("--hash-ids needs a non-empty key");
      o.hash_key = v;
    } else if (arg == "--consent-column") {
      if (*v == '\0') return fail("--consent-column needs a column name");
      o.consent_column = v;
    } else if (arg == "--default-mode") {
      o.default_mode = pixel::parse_tracking_mode(v);
      if (!o.default_mode) {
        return fail("--default-mode must be off, aggregate, pseudonymous or identified");
      }
    } else if (arg == "--pseudonym-key") {
      if (auto problem = read_pseudonym_key(v, o.pseudonym_key); !problem.empty()) {
        return fail(problem);
      }
    } else if (arg == "--optout-url") {
      o.optout_url = v;
    } else if (arg == "--sign-key") {
      if (auto problem = read_signer(v, o.signer); !problem.empty()) return fail(problem);
    } else if (arg == "--name-column") {
      o.name_column = v;
    } else if (arg == "--encoding") {
      if (std::strcmp(v, "qp") == 0) {
        o.encoding = email_campaign::transfer_encoding::quoted_printable;
      } else if (std::strcmp(v, "base64") == 0) {
        o.encoding = email_campaign::transfer_encoding::base64;
      } else {
        return fail("--encoding must be qp or base64");
      }
    } else if (arg == "--simulate-opens") {
      double r;
      if (!parse_double(v, r) || !(r >= 0.0 && r <= 1.0)) {
        return fail("--simulate-opens needs a rate between 0 and 1");
      }
      o.open_rate = r;
    } else if (arg == "--reopen-rate") {
      double r;
      if (!parse_double(v, r) || !(r >= 0.0 && r <= 1.0)) {
        return fail("--reopen-rate needs a rate between 0 and 1");
      }
      o.reopen_rate = r;
    } else if (arg == "--sent-at") {
      o.sent_at_ms = email_campaign::parse_sent_at(v);
      if (!o.sent_at_ms) return fail("--sent-at needs epoch seconds or an ISO 8601 time");
    } else if (arg == "--user-agent") {
      o.user_agent = v;
    } else if (arg == "--seed") {
      std::uint64_t n;
      if (!parse_u64(v, n)) return fail("--seed needs a non-negative integer");
      o.seed = n;
    } else if (arg == "--now-ms") {
      std::uint64_t n;
      if (!parse_u64(v, n)) return fail("--now-ms needs a non-negative integer");
      o.now_ms = n;
    } else {
      return fail("unknown option " + std::string(arg));
    }
  }
  if (o.template_path.empty() || o.recipients_path.empty() || o.campaign.empty() ||
      o.endpoint.empty() || o.out_dir.empty()) {
    return fail("--template, --recipients, --campaign, --endpoint and --out are required");
  }
  if (o.hash_key) {
    std::fputs(
        "email-campaign: warning: --hash-ids is deprecated (its key shows in ps): use "
        "--pseudonym-key FILE\n",
        stderr);
  }
  o.progress = ::isatty(STDERR_FILENO) != 0;
  o.stop = &stop_signal;
  handle_stop_signals();
  email_campaign::summary s;
  return email_campaign::run(o, stderr, s);
}
