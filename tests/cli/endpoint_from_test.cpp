// --endpoint-from: `pixel url`, `img` and `send` take the endpoint from the outputs file
// that `cdk deploy --outputs-file` writes (deploy/).
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "pixel/html.hpp"
#include "run_process.hpp"
#include "test_server.hpp"

namespace {

namespace fs = std::filesystem;
using pixel_test::process_result;

process_result pixel_cli(std::vector<std::string> args) {
  return pixel_test::run_process(PIXEL_CLI_PATH, args);
}

constexpr const char* kPixelUrl = "https://d111111abcdef8.cloudfront.net/1x1.png";

class EndpointFrom : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("pixel-endpoint-from-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  std::string outputs(const std::string& url) {
    return write("outputs.json", R"({"PixelTrackingStack": {"DataBucketName": "b", "PixelUrl": ")" +
                                     url + R"(", "StreamName": "s"}})");
  }

  fs::path dir_;
};

void expect_invalid_input(const process_result& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("pixel: --endpoint-from ", 0), 0u) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST_F(EndpointFrom, UrlIsTheSameAsWithEndpoint) {
  const std::string file = outputs(kPixelUrl);
  auto from = pixel_cli({"url", "--endpoint-from", file, "--no-event-id", "--no-timestamp", "a=b"});
  ASSERT_EQ(from.exit_code, 0) << from.err;
  EXPECT_EQ(from.out, std::string(kPixelUrl) + "?a=b\n");
  auto direct =
      pixel_cli({"url", "--endpoint", kPixelUrl, "--no-event-id", "--no-timestamp", "a=b"});
  EXPECT_EQ(from.out, direct.out);
}

TEST_F(EndpointFrom, ImgUsesIt) {
  auto r = pixel_cli({"img", "--endpoint-from", outputs(kPixelUrl), "--no-event-id",
                      "--no-timestamp", "u=1", "v=2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, pixel::img_tag(std::string(kPixelUrl) + "?u=1&v=2").value() + "\n");
}

TEST_F(EndpointFrom, SendDeliversToIt) {
  pixel::test::http_server server;
  auto r = pixel_cli({"send", "--endpoint-from", outputs(server.url()), "userid=aws_user"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(server.wait_for_requests(1, std::chrono::seconds(10)));
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].path, "/1x1.png");
  EXPECT_EQ(reqs[0].param("userid"), "aws_user");
}

// The stack's StreamRecordsPerSecond is send's default --max-rate; --max-rate overrides it.
TEST_F(EndpointFrom, SendPacesToTheStreamCapacity) {
  pixel::test::http_server server;
  const std::string file = write("paced.json", R"({"S": {"PixelUrl": ")" + server.url() +
                                                   R"(", "StreamRecordsPerSecond": "1000"}})");
  auto r = pixel_cli({"send", "--endpoint-from", file, "userid=a"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("pixel: paced to 1000 events/s (StreamRecordsPerSecond of " + file + ")"),
            std::string::npos)
      << r.err;
  r = pixel_cli({"send", "--endpoint-from", file, "--max-rate", "0", "userid=b"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("paced to"), std::string::npos) << r.err;
  ASSERT_TRUE(server.wait_for_requests(2, std::chrono::seconds(10)));
  for (const char* bad : {R"("fast")", R"("-5")", R"("")"}) {
    expect_invalid_input(
        pixel_cli({"send", "--endpoint-from",
                   write("bad.json", R"({"S": {"PixelUrl": ")" + server.url() +
                                         R"(", "StreamRecordsPerSecond": )" + bad + "}}"),
                   "userid=c"}),
        "StreamRecordsPerSecond of 'S' is not a positive number");
  }
}

TEST_F(EndpointFrom, BadFilesAreTypedErrors) {
  const std::string missing = (dir_ / "nope.json").string();
  for (const char* cmd : {"url", "img", "send"}) {
    SCOPED_TRACE(cmd);
    expect_invalid_input(pixel_cli({cmd, "--endpoint-from", missing, "a=b"}),
                         "cannot open the file");
    expect_invalid_input(
        pixel_cli({cmd, "--endpoint-from", write("g.json", "{\"S\": {\"PixelUrl\""), "a=b"}),
        "not a cdk outputs file");
    expect_invalid_input(pixel_cli({cmd, "--endpoint-from", write("a.json", "[1]"), "a=b"}),
                         "not a cdk outputs file");
    expect_invalid_input(pixel_cli({cmd, "--endpoint-from", write("s.json", R"({"S": 3})"), "a=b"}),
                         "stack 'S' is not an object");
    expect_invalid_input(
        pixel_cli({cmd, "--endpoint-from", write("k.json", R"({"S": {"Other": "x"}})"), "a=b"}),
        "no PixelUrl output");
    expect_invalid_input(
        pixel_cli({cmd, "--endpoint-from", write("t.json", R"({"S": {"PixelUrl": 5}})"), "a=b"}),
        "PixelUrl of 'S' is not a string");
    expect_invalid_input(pixel_cli({cmd, "--endpoint-from",
                                    write("two.json", R"({"A": {"PixelUrl": "https://a/1x1.png"},
                                         "B": {"PixelUrl": "https://b/1x1.png"}})"),
                                    "a=b"}),
                         "PixelUrl in both 'A' and 'B'");
  }
  // A PixelUrl that is not an endpoint gets the endpoint's own error.
  auto r = pixel_cli({"url", "--endpoint-from", outputs("https://h/1x1.png?x=1"), "a=b"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("query"), std::string::npos) << r.err;
}

TEST_F(EndpointFrom, UsageErrors) {
  const std::string file = outputs(kPixelUrl);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"url", "--endpoint", kPixelUrl, "--endpoint-from", file},
           {"send", "--endpoint", kPixelUrl, "--endpoint-from", file, "a=b"},
           {"img", "--url", kPixelUrl, "--endpoint-from", file},
           {"send", "a=b"},  // neither
           {"url"},
           {"url", "--endpoint-from"},  // no file name
       }) {
    auto r = pixel_cli(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.err;
    EXPECT_EQ(r.out, "");
  }
}

}  // namespace
