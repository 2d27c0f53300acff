// --simulate-opens fetches exactly the pixel URL of the messages it picks, through the
// tracker, against a loopback HTTP server started here.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <csv.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "campaign.hpp"
#include "csv_reader.hpp"
#include "test_server.hpp"

namespace ec = email_campaign;
namespace fs = std::filesystem;

namespace {
std::vector<std::vector<std::string>> read_manifest(const fs::path& p) {
  std::vector<std::vector<std::string>> rows;
  ec::csv_reader reader(
      [&](const ec::csv_row& row) {
        rows.emplace_back(row.fields->begin(),
                          row.fields->begin() + static_cast<std::ptrdiff_t>(row.count));
      },
      [&](std::size_t line, const std::string& m) { ADD_FAILURE() << line << ": " << m; });
  std::FILE* f = std::fopen(p.string().c_str(), "rb");
  EXPECT_NE(f, nullptr);
  if (f != nullptr) {
    reader.read(f);
    std::fclose(f);
  }
  return rows;
}
}  // namespace

TEST(SimulateOpens, FiresTheMessagesOwnUrls) {
  pixel::test::http_server server;
  const fs::path source = EMAIL_CAMPAIGN_SOURCE_DIR;
  const fs::path work =
      fs::temp_directory_path() / ("email-campaign-opens-" + std::to_string(::getpid()));
  fs::remove_all(work);
  fs::create_directories(work);
  {
    std::ofstream csv(work / "r.csv", std::ios::binary);
    csv << "email,name\r\n";
    for (int i = 0; i < 400; ++i) {
      csv << "user" << i << "@example.com,\"Name " << i << ", \xE5\xB1\xB1\"\r\n";
    }
  }
  ec::options o;
  o.template_path = (source / "templates/newsletter.html").string();
  o.recipients_path = (work / "r.csv").string();
  o.campaign = "opens test";
  o.endpoint = server.base_url();
  o.out_dir = (work / "out").string();
  o.open_rate = 0.5;
  o.reopen_rate = 0.25;
  o.seed = 7;
  ec::summary s;
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  ASSERT_EQ(ec::run(o, log, s), 0);
  std::fclose(log);

  EXPECT_EQ(s.generated, 400u);
  EXPECT_GT(s.openers, 100u);  // 400 draws at 0.5: far from both ends
  EXPECT_LT(s.openers, 300u);
  EXPECT_GT(s.pixels_fired, s.openers);  // some re-opens
  EXPECT_EQ(s.delivered, s.pixels_fired);
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(s.dropped, 0u);

  // Every open is a GET of the URL in the message, as many times as the manifest says.
  std::map<std::string, std::size_t> expected;  // query -> opens
  const auto manifest = read_manifest(work / "out/manifest.csv");
  ASSERT_EQ(manifest.size(), 401u);
  std::uint64_t fired = 0;
  for (std::size_t i = 1; i < manifest.size(); ++i) {
    const std::string& url = manifest[i][4];
    const std::size_t opens = std::stoul(manifest[i][5]);
    fired += opens;
    if (opens > 0) expected[url.substr(url.find('?') + 1)] = opens;
  }
  EXPECT_EQ(fired, s.pixels_fired);
  ASSERT_TRUE(server.wait_for_requests(fired, std::chrono::seconds(60)));
  std::map<std::string, std::size_t> got;
  for (const auto& r : server.requests()) {
    EXPECT_EQ(r.path, "/1x1.png");
    EXPECT_FALSE(r.user_agent.empty());
    ++got[r.query];
  }
  EXPECT_EQ(got, expected);
  fs::remove_all(work);
}
