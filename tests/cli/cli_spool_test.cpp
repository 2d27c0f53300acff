// `pixel send --spool DIR [--durability ...]`: what one run cannot deliver stays in the
// spool, and the next run (or a run with nothing new, to drain it) delivers it.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <vector>

#include "run_process.hpp"
#include "spawn.hpp"
#include "test_server.hpp"

namespace {
using namespace std::chrono_literals;
using pixel_test::process_result;

process_result pixel_cli(std::vector<std::string> args) {
  return pixel_test::run_process(PIXEL_CLI_PATH, args);
}

std::string rows(const std::filesystem::path& dir, const std::filesystem::path& log) {
  return pixel_test::run_checked({"sqlite3", "-batch", "-noheader", (dir / "events.db").string(),
                                  "SELECT count(*) FROM events"},
                                 log);
}

TEST(CliSpool, WhatOneRunCannotDeliverTheNextDelivers) {
  for (const std::string level : {"sync", "batched"}) {
    SCOPED_TRACE(level);
    pixel_test::temp_dir tmp("pixel-cli-spool");
    const auto dir = tmp / "spool";
    pixel::test::refused_port dead;
    auto first = pixel_cli({"send", "--endpoint", dead.url(), "--spool", dir.string(),
                            "--durability", level, "--wait-ms", "300", "userid=a"});
    EXPECT_EQ(first.exit_code, 1) << first.err;
    EXPECT_NE(first.err.find("delivered 0, failed 0, expired 0, dropped 0, recovered 0, kept 1 "
                             "in the spool"),
              std::string::npos)
        << first.err;
    EXPECT_EQ(rows(dir, tmp / "log"), "1\n");

    dead.release();
    pixel::test::http_server server(dead.port());
    // Nothing new: the run only drains the spool.
    auto drain = pixel_cli({"send", "--endpoint", server.url(), "--spool", dir.string()});
    EXPECT_EQ(drain.exit_code, 0) << drain.err;
    EXPECT_NE(drain.err.find("delivered 1, failed 0, expired 0, dropped 0, recovered 1, kept 0"),
              std::string::npos)
        << drain.err;
    ASSERT_EQ(server.request_count(), 1u);
    EXPECT_EQ(server.requests()[0].param("userid"), "a");
    EXPECT_EQ(rows(dir, tmp / "log"), "0\n");
  }
}

TEST(CliSpool, ASpoolInUseAndBadFlagsAreErrors) {
  pixel_test::temp_dir tmp("pixel-cli-spool");
  const auto dir = tmp / "spool";
  pixel_test::child_process holder({PIXEL_SPOOL_CHILD, "hold", dir.string()}, tmp / "hold.log");
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (pixel_test::read_file(tmp / "hold.log") != "locked\n" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_EQ(pixel_test::read_file(tmp / "hold.log"), "locked\n");
  auto locked = pixel_cli(
      {"send", "--endpoint", "http://127.0.0.1:9/1x1.png", "--spool", dir.string(), "userid=a"});
  EXPECT_EQ(locked.exit_code, 1);
  EXPECT_EQ(locked.err, "pixel: the spool " + dir.string() +
                            " is in use by another tracker (process " +
                            std::to_string(holder.pid()) + ")\n");
  auto no_spool = pixel_cli(
      {"send", "--endpoint", "http://127.0.0.1:9/1x1.png", "--durability", "sync", "userid=a"});
  EXPECT_EQ(no_spool.exit_code, 2) << no_spool.err;
  auto bad = pixel_cli({"send", "--endpoint", "http://127.0.0.1:9/1x1.png", "--spool", dir.string(),
                        "--durability", "memory", "userid=a"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
}

}  // namespace
