// The on-disk spool: SQLite in WAL mode, group commit, locking, and every bad condition a
// disk can offer (full, read-only, corrupt). SQLite's own shell reads the database as the
// independent judge of what is on disk.
// SPDX-License-Identifier: MIT
#include "tracker/store/spool.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "spawn.hpp"
#include "spool_disk.hpp"

namespace {
using namespace std::chrono_literals;
using pixel::errc;
using pixel::detail::spool;
using pixel::detail::spool_config;
using pixel::detail::spool_recovery;
using pixel::detail::spool_row;
namespace fs = std::filesystem;
using pixel_test::eventually;
using pixel_test::fill_disk;
using pixel_test::tmpfs_mount;

spool_row row(int n, std::size_t url_size = 0) {
  spool_row r;
  r.id = "id" + std::to_string(n);
  r.query = "n=" + std::to_string(n);
  if (url_size > r.query.size()) r.query.append(url_size - r.query.size(), 'x');
  r.user_agent = n % 2 ? "agent/" + std::to_string(n) : "";
  r.attempts = static_cast<std::uint32_t>(n % 3);
  r.budget_used = static_cast<std::uint32_t>(n % 2);
  r.created_ms = 1'700'000'000'000 + n;
  r.not_before_ms = 1'700'000'001'000 + n;
  return r;
}

spool_config config_for(const fs::path& dir) {
  spool_config c;
  c.dir = dir.string();
  return c;
}

std::unique_ptr<spool> open_ok(const spool_config& c, spool_recovery& found) {
  auto s = spool::open(c, found);
  if (!s) ADD_FAILURE() << "open " << c.dir << ": " << s.error().message();
  return s ? std::move(*s) : nullptr;
}

// SQLite's shell on the database: an oracle that shares no code with the spool.
std::string sqlite_shell(const fs::path& db, const std::string& sql, const fs::path& log) {
  return pixel_test::run_checked({"sqlite3", "-batch", "-noheader", db.string(), sql}, log);
}

TEST(Spool, CreatesTheDirectoryAWalDatabaseAndItsSchema) {
  pixel_test::temp_dir tmp("pixel-spool");
  const fs::path dir = tmp / "a/b/spool";
  spool_recovery found;
  {
    auto s = open_ok(config_for(dir), found);
    ASSERT_TRUE(s);
    EXPECT_TRUE(found.rows.empty());
    EXPECT_TRUE(found.moved_aside.empty());
    ASSERT_TRUE(s->insert_durable(row(1)));
    // Committed means readable by another process now, while the spool is open.
    EXPECT_EQ(sqlite_shell(dir / "events.db", "SELECT eid, query FROM events", tmp / "log"),
              "id1|n=1\n");
  }
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_TRUE(fs::exists(dir / "spool.lock"));
  EXPECT_EQ(
      sqlite_shell(dir / "events.db", "PRAGMA journal_mode; PRAGMA user_version;", tmp / "log"),
      "wal\n2\n");
  EXPECT_EQ(sqlite_shell(dir / "events.db",
                         "SELECT key, eid, user_agent, attempts, budget_used, created_ms, "
                         "not_before_ms FROM events",
                         tmp / "log"),
            "1|id1|agent/1|1|1|1700000000001|1700000001001\n");
}

TEST(Spool, RowsComeBackOnReopenWithEveryFieldAndKeysContinue) {
  pixel_test::temp_dir tmp("pixel-spool");
  spool_recovery found;
  {
    auto s = open_ok(config_for(tmp.path()), found);
    ASSERT_TRUE(s);
    for (int n = 1; n <= 5; ++n) ASSERT_TRUE(s->insert(row(n)));
    s->remove(2);  // never written
    ASSERT_TRUE(s->commit(false));
    s->update(3, 7, 5, 42);
    s->remove(4);
    ASSERT_TRUE(s->commit(false));
  }
  auto s = open_ok(config_for(tmp.path()), found);
  ASSERT_TRUE(s);
  ASSERT_EQ(found.rows.size(), 3u);
  const std::uint64_t keys[] = {1, 3, 5};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& got = found.rows[i];
    const auto want = row(static_cast<int>(keys[i]));
    EXPECT_EQ(got.key, keys[i]);
    EXPECT_EQ(got.id, want.id);
    EXPECT_EQ(got.query, want.query);
    EXPECT_EQ(got.user_agent, want.user_agent);
    EXPECT_EQ(got.created_ms, want.created_ms);
    if (keys[i] == 3) {
      EXPECT_EQ(got.attempts, 7u);
      EXPECT_EQ(got.budget_used, 5u);
      EXPECT_EQ(got.not_before_ms, 42);
    } else {
      EXPECT_EQ(got.attempts, want.attempts);
      EXPECT_EQ(got.budget_used, want.budget_used);
      EXPECT_EQ(got.not_before_ms, want.not_before_ms);
    }
  }
  EXPECT_EQ(s->next_key(), 6u);  // after the largest key found, even one removed since
  auto next = s->insert(row(9));
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, 6u);
  auto given = row(10);
  given.key = 40;  // a key the caller chose
  auto chosen = s->insert(given);
  ASSERT_TRUE(chosen);
  EXPECT_EQ(*chosen, 40u);
  EXPECT_EQ(s->next_key(), 41u);
  s->remove(40);
  ASSERT_TRUE(s->commit(false));
  auto rows = s->read_all();
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->size(), 4u);
}

TEST(Spool, SettledBeforeItsCommitAnEventIsNeverWritten) {
  pixel_test::temp_dir tmp("pixel-spool");
  auto c = config_for(tmp.path());
  c.commit_interval = std::chrono::hours(1);  // only an explicit commit writes
  spool_recovery found;
  auto s = open_ok(c, found);
  ASSERT_TRUE(s);
  auto k = s->insert(row(1));
  ASSERT_TRUE(k);
  s->update(*k, 2, 2, 99);  // changes the staged row itself
  auto k2 = s->insert(row(2));
  ASSERT_TRUE(k2);
  s->remove(*k2);
  ASSERT_TRUE(s->commit(false));
  auto rows = s->read_all();
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].attempts, 2u);
  EXPECT_EQ((*rows)[0].not_before_ms, 99);
  const auto st = s->stats();
  EXPECT_EQ(st.rows_written, 1u);
  EXPECT_EQ(st.inserts_cancelled, 1u);
  EXPECT_EQ(st.commits, 1u);
}

TEST(Spool, TheWriterCommitsWithinTheIntervalWithoutBeingAsked) {
  pixel_test::temp_dir tmp("pixel-spool");
  spool_recovery found;
  auto s = open_ok(config_for(tmp.path()), found);  // 10 ms interval
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->insert(row(1)));
  ASSERT_TRUE(eventually([&] { return s->stats().rows_written == 1; }));
  EXPECT_EQ(sqlite_shell(tmp / "events.db", "SELECT count(*) FROM events", tmp / "log"), "1\n");
  EXPECT_EQ(s->stats().durable_commits, 0u);  // synchronous=NORMAL for batched writes
}

TEST(Spool, AFullBatchIsCommittedAtOnce) {
  pixel_test::temp_dir tmp("pixel-spool");
  auto c = config_for(tmp.path());
  c.commit_interval = std::chrono::hours(1);
  c.commit_batch = 100;
  spool_recovery found;
  auto s = open_ok(c, found);
  ASSERT_TRUE(s);
  for (int n = 0; n < 100; ++n) ASSERT_TRUE(s->insert(row(n)));
  ASSERT_TRUE(eventually([&] { return s->stats().commits == 1; }));
  for (int n = 100; n < 150; ++n) ASSERT_TRUE(s->insert(row(n)));
  // The first 100 in one transaction; the other 50 wait for the (hour-long) interval.
  EXPECT_EQ(s->stats().rows_written, 100u);
  auto rows = s->read_all();
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->size(), 100u);
}

TEST(Spool, ConcurrentDurableInsertsShareCommits) {
  pixel_test::temp_dir tmp("pixel-spool");
  spool_recovery found;
  auto s = open_ok(config_for(tmp.path()), found);
  ASSERT_TRUE(s);
  constexpr int k_threads = 16, k_each = 100;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < k_each; ++i) {
        if (!s->insert_durable(row(t * k_each + i))) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  const auto st = s->stats();
  EXPECT_EQ(st.rows_written, std::uint64_t{k_threads * k_each});
  // Sixteen callers, one fsync at a time: most of them wait for a shared one.
  EXPECT_LT(st.durable_commits, std::uint64_t{k_threads * k_each});
  EXPECT_EQ(sqlite_shell(tmp / "events.db", "SELECT count(DISTINCT key) FROM events", tmp / "log"),
            std::to_string(k_threads * k_each) + "\n");
}

TEST(Spool, ASecondOpenInTheSameProcessIsRefused) {
  pixel_test::temp_dir tmp("pixel-spool");
  spool_recovery found;
  auto first = open_ok(config_for(tmp.path()), found);
  ASSERT_TRUE(first);
  auto second = spool::open(config_for(tmp.path()), found);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.code(), errc::spool_locked);
  EXPECT_NE(second.error().message().find("process " + std::to_string(::getpid())),
            std::string::npos)
      << second.error().message();
  first.reset();
  EXPECT_TRUE(spool::open(config_for(tmp.path()), found));
}

TEST(Spool, AnotherProcessHoldingTheSpoolLocksItUntilItDies) {
  pixel_test::temp_dir tmp("pixel-spool");
  const fs::path dir = tmp / "spool";
  pixel_test::child_process holder({PIXEL_SPOOL_CHILD, "hold", dir.string()}, tmp / "child.log");
  ASSERT_TRUE(eventually([&] { return pixel_test::read_file(tmp / "child.log") == "locked\n"; }))
      << pixel_test::read_file(tmp / "child.log");
  spool_recovery found;
  auto refused = spool::open(config_for(dir), found);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.code(), errc::spool_locked);
  EXPECT_NE(refused.error().message().find("process " + std::to_string(holder.pid())),
            std::string::npos)
      << refused.error().message();
  EXPECT_EQ(holder.stop(SIGKILL, 10s), 128 + SIGKILL);
  // A killed holder leaves no stale lock.
  EXPECT_TRUE(open_ok(config_for(dir), found));
}

TEST(Spool, AFullDiskIsATypedErrorAndNothingStagedIsLost) {
  tmpfs_mount disk("1m");
  const fs::path dir = disk.path() / "spool";
  auto c = config_for(dir);
  c.commit_interval = std::chrono::hours(1);
  spool_recovery found;
  auto s = open_ok(c, found);
  ASSERT_TRUE(s);
  auto first = s->insert_durable(row(0));
  ASSERT_TRUE(first);
  ASSERT_TRUE(s->insert_durable(row(1)));
  const fs::path filler = fill_disk(disk.path());
  // Durable inserts hear the failure each; the disk is full, nothing crashes or hangs.
  std::set<std::string> want = {"id1"};
  int n = 2;
  pixel::result<std::uint64_t> r = std::uint64_t{0};
  for (; n < 2000; ++n) {
    r = s->insert_durable(row(n, 4000));
    if (!r) break;
    want.insert(row(n).id);
  }
  ASSERT_FALSE(r) << "the spool never filled the disk";
  EXPECT_EQ(r.code(), errc::spool_full) << r.error().message();
  // A batched insert is refused while the last commit failed.
  auto b = s->insert(row(5000));
  ASSERT_FALSE(b);
  EXPECT_EQ(b.code(), errc::spool_full);
  // A removal staged now waits for the disk.
  s->remove(*first);
  EXPECT_EQ(s->commit(false).code(), errc::spool_full);
  fs::remove(filler);
  ASSERT_TRUE(s->commit(false));
  ASSERT_TRUE(s->insert(row(6000)));
  want.insert("id6000");
  ASSERT_TRUE(s->commit(true));
  auto rows = s->read_all();
  ASSERT_TRUE(rows);
  std::set<std::string> ids;
  for (const auto& x : *rows) ids.insert(x.id);
  // What was committed before the disk filled, minus the removal that waited, plus the
  // insert after; never the refused ones.
  EXPECT_EQ(ids, want);
}

TEST(Spool, OpeningOnAFullDiskIsATypedError) {
  tmpfs_mount disk("256k");
  fill_disk(disk.path());
  spool_recovery found;
  auto s = spool::open(config_for(disk.path() / "spool"), found);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.code(), errc::spool_full) << s.error().message();
}

TEST(Spool, AReadOnlyDirectoryIsATypedError) {
  tmpfs_mount disk("4m");
  spool_recovery found;
  {
    auto s = open_ok(config_for(disk.path() / "spool"), found);
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->insert_durable(row(1)));
  }
  disk.remount_read_only();
  auto existing = spool::open(config_for(disk.path() / "spool"), found);
  ASSERT_FALSE(existing);
  EXPECT_EQ(existing.code(), errc::spool_readonly) << existing.error().message();
  auto missing = spool::open(config_for(disk.path() / "other"), found);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.code(), errc::spool_readonly) << missing.error().message();
}

// A spool with `rows` committed events, closed (its WAL checkpointed into events.db).
void make_spool(const fs::path& dir, int rows) {
  spool_recovery found;
  auto s = open_ok(config_for(dir), found);
  ASSERT_TRUE(s);
  for (int n = 0; n < rows; ++n) ASSERT_TRUE(s->insert(row(n, 300)));
  ASSERT_TRUE(s->commit(true));
}

void overwrite(const fs::path& file, std::size_t offset, std::size_t count, char byte) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  const std::string junk(count, byte);
  f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  ASSERT_TRUE(f.good());
}

TEST(Spool, GarbageOverTheHeaderIsCorruptAndCanBeMovedAside) {
  pixel_test::temp_dir tmp("pixel-spool");
  make_spool(tmp.path(), 50);
  overwrite(tmp / "events.db", 0, 100, '\x5a');
  spool_recovery found;
  auto refused = spool::open(config_for(tmp.path()), found);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.code(), errc::spool_corrupt) << refused.error().message();
  EXPECT_TRUE(found.rows.empty());

  auto c = config_for(tmp.path());
  c.recreate_if_corrupt = true;
  auto fresh = open_ok(c, found);
  ASSERT_TRUE(fresh);
  EXPECT_TRUE(found.rows.empty());
  ASSERT_FALSE(found.moved_aside.empty());
  EXPECT_EQ(found.moved_aside.rfind((tmp / "events.db.corrupt-").string(), 0), 0u)
      << found.moved_aside;
  EXPECT_EQ(pixel_test::read_file(found.moved_aside).substr(0, 4), "ZZZZ");
  ASSERT_TRUE(fresh->insert_durable(row(1)));
  EXPECT_EQ(sqlite_shell(tmp / "events.db", "SELECT eid FROM events", tmp / "log"), "id1\n");
}

TEST(Spool, GarbageInsideTheDatabaseIsCorrupt) {
  pixel_test::temp_dir tmp("pixel-spool");
  make_spool(tmp.path(), 200);
  const auto size = fs::file_size(tmp / "events.db");
  ASSERT_GT(size, 8 * 4096u);
  overwrite(tmp / "events.db", 4096 * 2, 4096 * 3, '\x01');  // pages 3-5: b-tree pages
  spool_recovery found;
  auto s = spool::open(config_for(tmp.path()), found);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.code(), errc::spool_corrupt) << s.error().message();
}

TEST(Spool, ATruncatedDatabaseIsCorrupt) {
  pixel_test::temp_dir tmp("pixel-spool");
  make_spool(tmp.path(), 200);
  const auto size = fs::file_size(tmp / "events.db");
  fs::resize_file(tmp / "events.db", size / 2);
  spool_recovery found;
  auto s = spool::open(config_for(tmp.path()), found);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.code(), errc::spool_corrupt) << s.error().message();
  auto c = config_for(tmp.path());
  c.recreate_if_corrupt = true;
  auto fresh = open_ok(c, found);
  ASSERT_TRUE(fresh);
  EXPECT_FALSE(found.moved_aside.empty());
  EXPECT_EQ(fs::file_size(found.moved_aside), size / 2);
}

TEST(Spool, AnotherDatabaseOrANewerSchemaIsRefusedAndNeverMovedAside) {
  pixel_test::temp_dir tmp("pixel-spool");
  const fs::path foreign = tmp / "foreign";
  fs::create_directories(foreign);
  sqlite_shell(foreign / "events.db", "CREATE TABLE t(x); INSERT INTO t VALUES(1);", tmp / "log");
  auto c = config_for(foreign);
  c.recreate_if_corrupt = true;
  spool_recovery found;
  auto s = spool::open(c, found);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.code(), errc::spool_corrupt);
  EXPECT_NE(s.error().message().find("not a pixel spool"), std::string::npos);
  EXPECT_EQ(sqlite_shell(foreign / "events.db", "SELECT x FROM t", tmp / "log"), "1\n");

  const fs::path newer = tmp / "newer";
  make_spool(newer, 3);
  sqlite_shell(newer / "events.db", "PRAGMA user_version=3", tmp / "log");
  c = config_for(newer);
  c.recreate_if_corrupt = true;
  s = spool::open(c, found);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.code(), errc::spool_corrupt);
  EXPECT_NE(s.error().message().find("schema version 3"), std::string::npos) << s.error().message();
  EXPECT_EQ(sqlite_shell(newer / "events.db", "SELECT count(*) FROM events", tmp / "log"), "3\n");
}

// A spool of schema 1 (full URLs) from an earlier version: upgraded at open to schema 2,
// each row keeping the query of its URL.
TEST(Spool, ASchemaOneSpoolIsUpgradedToQueries) {
  pixel_test::temp_dir tmp("pixel-spool");
  fs::create_directories(tmp / "old");
  sqlite_shell(tmp / "old" / "events.db",
               "PRAGMA journal_mode=WAL; PRAGMA application_id=1347963953; "
               "PRAGMA user_version=1; CREATE TABLE events(key INTEGER PRIMARY KEY, eid TEXT "
               "NOT NULL, url TEXT NOT NULL, user_agent TEXT NOT NULL, attempts INTEGER NOT "
               "NULL, budget_used INTEGER NOT NULL, created_ms INTEGER NOT NULL, not_before_ms "
               "INTEGER NOT NULL); INSERT INTO events VALUES(4, 'id4', "
               "'https://old.example/1x1.png?a=1&eid=id4', '', 2, 2, 5, 6), (7, 'id7', "
               "'https://old.example/1x1.png', 'ua', 0, 0, 8, 9);",
               tmp / "log");
  spool_recovery found;
  auto s = open_ok(config_for(tmp / "old"), found);
  ASSERT_TRUE(s);
  ASSERT_EQ(found.rows.size(), 2u);
  EXPECT_EQ(found.rows[0].key, 4u);
  EXPECT_EQ(found.rows[0].query, "a=1&eid=id4");
  EXPECT_EQ(found.rows[0].attempts, 2u);
  EXPECT_EQ(found.rows[1].query, "");
  EXPECT_EQ(found.rows[1].user_agent, "ua");
  EXPECT_EQ(sqlite_shell(tmp / "old" / "events.db", "PRAGMA user_version", tmp / "log"), "2\n");
}

TEST(Spool, BadConfigurationIsInvalidArgument) {
  spool_recovery found;
  EXPECT_EQ(spool::open(spool_config{}, found).code(), errc::invalid_argument);
  pixel_test::temp_dir tmp("pixel-spool");
  auto c = config_for(tmp.path());
  c.commit_batch = 0;
  EXPECT_EQ(spool::open(c, found).code(), errc::invalid_argument);
  const fs::path file = tmp / "file";
  pixel_test::write_file(file, "x");
  EXPECT_EQ(spool::open(config_for(file), found).code(), errc::spool_io);
}

}  // namespace

// The database overwritten, replaced or removed under an open spool: the next commit fails
// with spool_corrupt, and so does every insert after it.
TEST(Spool, AFileOverwrittenReplacedOrRemovedWhileOpenFailsTheNextCommit) {
  for (const char* how : {"overwritten", "replaced by another file", "removed"}) {
    SCOPED_TRACE(how);
    pixel_test::temp_dir tmp("pixel-spool");
    spool_recovery found;
    auto s = open_ok(config_for(tmp.path()), found);
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->insert_durable(row(1)));
    const fs::path db = tmp / "events.db";
    if (std::string(how) == "overwritten") {
      std::ofstream(db, std::ios::binary | std::ios::trunc) << std::string(8192, 'x');
    } else if (std::string(how) == "removed") {
      fs::remove(db);
    } else {
      fs::copy_file(db, tmp / "copy.db");
      fs::rename(tmp / "copy.db", db);
    }
    ASSERT_TRUE(s->insert(row(2)));  // staged; the commit finds out
    const auto committed = s->commit(false);
    ASSERT_FALSE(committed);
    EXPECT_EQ(committed.code(), errc::spool_corrupt);
    EXPECT_NE(committed.error().message().find(std::string("was ") + how + " while in use"),
              std::string::npos)
        << committed.error().message();
    const auto refused = s->insert(row(3));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.code(), errc::spool_corrupt);
    EXPECT_EQ(s->insert_durable(row(4)).code(), errc::spool_corrupt);
  }
}
