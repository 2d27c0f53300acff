// SPDX-License-Identifier: MIT
#include "tracker/store/spool.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "tracker/fork.hpp"
#include "tracker/store/file_lock.hpp"

namespace pixel::detail {

namespace {
namespace fs = std::filesystem;

// 1: the events' full URLs; 2: their queries (migrated at open).
constexpr int k_schema_version = 2;
constexpr int k_application_id = 0x50584c31;  // "PXL1": a pixel spool, not another database
constexpr const char* k_db_name = "events.db";
constexpr const char* k_lock_name = "spool.lock";
// After a failed background commit (disk full), the writer tries again this often.
constexpr std::chrono::milliseconds k_retry_after_failure{100};

constexpr const char* k_schema =
    "CREATE TABLE events("
    " key INTEGER PRIMARY KEY,"
    " eid TEXT NOT NULL,"
    " query TEXT NOT NULL,"
    " user_agent TEXT NOT NULL,"
    " attempts INTEGER NOT NULL,"
    " budget_used INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " not_before_ms INTEGER NOT NULL);";

errc errc_from_errno(int e) noexcept {
  switch (e) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return errc::spool_full;
    case EROFS:
    case EACCES:
    case EPERM:
      return errc::spool_readonly;
    default:
      return errc::spool_io;
  }
}

errc errc_from_sqlite(sqlite3* db, int rc) noexcept {
  const int sys = db != nullptr ? sqlite3_system_errno(db) : 0;
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return errc::spool_full;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return errc::spool_readonly;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
      return errc::spool_corrupt;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return errc::spool_locked;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
      return sys != 0 ? errc_from_errno(sys) : errc::spool_io;
    default:
      return errc::spool_io;
  }
}

error sqlite_error(sqlite3* db, int rc, const std::string& what) {
  std::string message = what + ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (db != nullptr && sqlite3_system_errno(db) != 0 && (rc & 0xff) != SQLITE_CORRUPT) {
    message += std::string(" (") + std::strerror(sqlite3_system_errno(db)) + ")";
  }
  return error(errc_from_sqlite(db, rc), std::move(message));
}

result<void> exec(sqlite3* db, const char* sql, const std::string& what) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db, rc, what);
  return {};
}

// The single text or integer a statement like "PRAGMA x" gives.
result<std::string> query_text(sqlite3* db, const char* sql, const std::string& what) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db, rc, what);
  std::string out;
  rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    if (text != nullptr) out.assign(reinterpret_cast<const char*>(text));
    rc = sqlite3_step(stmt);
  }
  const bool ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
  result<std::string> r =
      ok ? result<std::string>(out) : result<std::string>(sqlite_error(db, rc, what));
  sqlite3_finalize(stmt);
  return r;
}

// A lock on dir/spool.lock (tracker/store/file_lock.hpp: flock, where there is one): held for
// the spool's life, released by close() or by the process dying (so a kill -9 never leaves
// a stale lock).
result<int> take_lock(const std::string& dir) {
  const std::string path = dir + "/" + k_lock_name;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int e = errno;
    return error(errc_from_errno(e),
                 "cannot open the spool lock " + path + ": " + std::strerror(e));
  }
  if (const lock_result locked = lock_exclusive(fd); locked != lock_result::taken) {
    const int e = errno;
    std::string holder;
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n > 0) holder.assign(buf, static_cast<std::size_t>(n));
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    ::close(fd);
    if (locked == lock_result::held_elsewhere) {
      return error(errc::spool_locked, "the spool " + dir + " is in use by another tracker" +
                                           (holder.empty() ? "" : " (process " + holder + ")"));
    }
    return error(errc::spool_io, "cannot lock the spool " + path + ": " + std::strerror(e));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int e = errno;
    ::close(fd);
    return error(errc_from_errno(e),
                 "cannot write the spool lock " + path + ": " + std::strerror(e));
  }
  return fd;
}

struct opened {
  sqlite3* db = nullptr;
  std::uint64_t next_key = 1;
};

void close_db(sqlite3* db) noexcept {
  if (db != nullptr) sqlite3_close_v2(db);
}

// Reads every row into `rows`; the largest key + 1 into next_key.
result<void> load_rows(sqlite3* db, std::vector<spool_row>& rows, std::uint64_t& next_key) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db,
                              "SELECT key, eid, query, user_agent, attempts, budget_used, "
                              "created_ms, not_before_ms FROM events ORDER BY key",
                              -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db, rc, "cannot read the spool");
  auto text = [&](int col) {
    const unsigned char* t = sqlite3_column_text(stmt, col);
    return t == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(t),
                                      static_cast<std::size_t>(sqlite3_column_bytes(stmt, col)));
  };
  auto count = [&](int col) {
    const sqlite3_int64 v = sqlite3_column_int64(stmt, col);
    return static_cast<std::uint32_t>(std::clamp<sqlite3_int64>(v, 0, UINT32_MAX));
  };
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    spool_row row;
    row.key = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 0));
    row.id = text(1);
    row.query = text(2);
    row.user_agent = text(3);
    row.attempts = count(4);
    row.budget_used = count(5);
    row.created_ms = sqlite3_column_int64(stmt, 6);
    row.not_before_ms = sqlite3_column_int64(stmt, 7);
    next_key = std::max(next_key, row.key + 1);
    rows.push_back(std::move(row));
  }
  result<void> r;
  if (rc != SQLITE_DONE) r = sqlite_error(db, rc, "cannot read the spool");
  sqlite3_finalize(stmt);
  return r;
}

// Opens (or creates) the database and checks that it is a sound spool of our schema.
result<opened> open_db(const std::string& path, spool_recovery& found) {
  opened o;
  int rc =
      sqlite3_open_v2(path.c_str(), &o.db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    error e = sqlite_error(o.db, rc, "cannot open the spool " + path);
    close_db(o.db);
    return e;
  }
  sqlite3_extended_result_codes(o.db, 1);
  auto fail = [&](error e) -> result<opened> {
    close_db(o.db);
    return e;
  };
  auto mode = query_text(o.db, "PRAGMA journal_mode=WAL", "cannot open the spool " + path);
  if (!mode) return fail(mode.error());
  if (*mode != "wal") {
    return fail(error(errc::spool_readonly, "cannot put the spool " + path +
                                                " in WAL mode (journal mode " + *mode + ")"));
  }
  auto check = query_text(o.db, "PRAGMA quick_check", "cannot check the spool " + path);
  if (!check) return fail(check.error());
  if (*check != "ok") {
    return fail(error(errc::spool_corrupt, "the spool " + path + " is corrupt: " + *check));
  }
  auto app = query_text(o.db, "PRAGMA application_id", "cannot read the spool " + path);
  if (!app) return fail(app.error());
  auto version = query_text(o.db, "PRAGMA user_version", "cannot read the spool " + path);
  if (!version) return fail(version.error());
  auto tables =
      query_text(o.db, "SELECT count(*) FROM sqlite_schema", "cannot read the spool " + path);
  if (!tables) return fail(tables.error());
  if (*tables == "0") {
    if (auto r = exec(o.db, "BEGIN IMMEDIATE", "cannot create the spool " + path); !r) {
      return fail(r.error());
    }
    const std::string create =
        std::string(k_schema) + "PRAGMA application_id=" + std::to_string(k_application_id) +
        ";PRAGMA user_version=" + std::to_string(k_schema_version) + ";COMMIT;";
    if (auto r = exec(o.db, create.c_str(), "cannot create the spool " + path); !r) {
      sqlite3_exec(o.db, "ROLLBACK", nullptr, nullptr, nullptr);
      return fail(r.error());
    }
  } else if (*app != std::to_string(k_application_id)) {
    return fail(error(errc::spool_corrupt,
                      path + " is a SQLite database but not a pixel spool; refusing to use it"));
  } else if (*version == "1") {
    // Schema 1 kept each event's full URL: keep its query only.
    const char* migrate =
        "BEGIN IMMEDIATE;"
        "ALTER TABLE events RENAME COLUMN url TO query;"
        "UPDATE events SET query = CASE WHEN instr(query, '?') > 0"
        " THEN substr(query, instr(query, '?') + 1) ELSE '' END;"
        "PRAGMA user_version=2;"
        "COMMIT;";
    if (auto r = exec(o.db, migrate, "cannot upgrade the spool " + path); !r) {
      sqlite3_exec(o.db, "ROLLBACK", nullptr, nullptr, nullptr);
      return fail(r.error());
    }
  } else if (*version != std::to_string(k_schema_version)) {
    return fail(error(errc::spool_corrupt, "the spool " + path + " has schema version " + *version +
                                               "; this version of pixel reads " +
                                               std::to_string(k_schema_version)));
  }
  if (auto r = load_rows(o.db, found.rows, o.next_key); !r) {
    found.rows.clear();
    return fail(r.error());
  }
  // The header (and the application id) into the database file itself, not only the WAL:
  // each commit checks it there (spool::check_file).
  if (auto r = query_text(o.db, "PRAGMA wal_checkpoint(PASSIVE)", "cannot checkpoint " + path);
      !r) {
    return fail(r.error());
  }
  return o;
}

// Renames a damaged database (and its WAL) out of the way; returns the new name.
result<std::string> move_aside(const std::string& path) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  const std::string target = path + ".corrupt-" + std::to_string(ms);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    const fs::path from = path + suffix;
    if (!fs::exists(from, ec)) continue;
    fs::rename(from, target + suffix, ec);
    if (ec) {
      return error(errc_from_errno(ec.value()),
                   "cannot move the corrupt spool " + from.string() + " aside: " + ec.message());
    }
  }
  return target;
}
}  // namespace

result<std::unique_ptr<spool>> spool::open(const spool_config& config, spool_recovery& found) {
  found = spool_recovery();
  if (config.dir.empty()) return error(errc::invalid_argument, "the spool directory is empty");
  if (config.commit_interval.count() <= 0 || config.commit_batch == 0) {
    return error(errc::invalid_argument, "spool commit interval and batch must be positive");
  }
  std::error_code ec;
  fs::create_directories(config.dir, ec);
  if (ec) {
    return error(errc_from_errno(ec.value()),
                 "cannot create the spool directory " + config.dir + ": " + ec.message());
  }
  if (!fs::is_directory(config.dir, ec)) {
    return error(errc::spool_io, "the spool path " + config.dir + " is not a directory");
  }
  auto lock = take_lock(config.dir);
  if (!lock) return lock.error();
  const int lock_fd = *lock;
  const std::string path = config.dir + "/" + k_db_name;
  auto db = open_db(path, found);
  if (!db && db.code() == errc::spool_corrupt && config.recreate_if_corrupt &&
      db.error().message().find("not a pixel spool") == std::string::npos &&
      db.error().message().find("schema version") == std::string::npos) {
    auto moved = move_aside(path);
    if (!moved) {
      ::close(lock_fd);
      return moved.error();
    }
    db = open_db(path, found);
    found.moved_aside = *moved;
  }
  if (!db) {
    ::close(lock_fd);
    return db.error();
  }
  std::unique_ptr<spool> s(new spool(config, lock_fd, db->db, path, db->next_key));
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int e = errno;
    return error(errc_from_errno(e), "cannot stat the spool " + path + ": " + std::strerror(e));
  }
  s->file_dev_ = static_cast<std::uint64_t>(st.st_dev);
  s->file_ino_ = static_cast<std::uint64_t>(st.st_ino);
  if (auto r = s->prepare(); !r) return r.error();
  try {
    s->writer_ = std::thread([p = s.get()] { p->run_writer(); });
  } catch (const std::system_error& e) {
    return error(errc::internal, std::string("cannot start the spool writer: ") + e.what());
  }
  return s;
}

spool::spool(spool_config config, int lock_fd, sqlite3* db, std::string db_path,
             std::uint64_t next_key)
    : config_(std::move(config)),
      lock_fd_(lock_fd),
      db_(db),
      db_path_(std::move(db_path)),
      open_(),
      next_key_(next_key) {
  open_ = new_group();
  close_in_child(lock_fd_);  // a forked child must not keep the spool locked
}

spool::~spool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  writer_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (db_ != nullptr) (void)commit(true);
  sqlite3_finalize(insert_stmt_);
  sqlite3_finalize(update_stmt_);
  sqlite3_finalize(delete_stmt_);
  close_db(db_);
  if (lock_fd_ >= 0) {
    forget_in_child(lock_fd_);
    ::close(lock_fd_);
  }
}

result<void> spool::prepare() {
  const std::pair<const char*, sqlite3_stmt**> statements[] = {
      {"INSERT INTO events(key, eid, query, user_agent, attempts, budget_used, created_ms, "
       "not_before_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
       &insert_stmt_},
      {"UPDATE events SET attempts=?2, budget_used=?3, not_before_ms=?4 WHERE key=?1",
       &update_stmt_},
      {"DELETE FROM events WHERE key=?1", &delete_stmt_},
  };
  for (const auto& [sql, stmt] : statements) {
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(db_, rc, "cannot prepare the spool " + db_path_);
  }
  return {};
}

void spool::note_work(bool wake_writer) {
  const auto& g = *open_;
  if (g.inserts.size() + g.updates.size() + g.removes.size() == 1) {
    open_since_ = std::chrono::steady_clock::now();
    if (wake_writer) writer_cv_.notify_one();
  }
}

std::shared_ptr<spool::group> spool::new_group() const {
  auto g = std::make_shared<group>();
  // Room for a full batch up front: staging stays free of reallocation.
  g->inserts.reserve(config_.commit_batch);
  g->index.reserve(config_.commit_batch);
  return g;
}

spool_row* spool::staged(std::uint64_t key) {
  auto& g = *open_;
  const auto it = g.index.find(key);
  if (it == g.index.end()) return nullptr;
  spool_row& row = g.inserts[it->second];
  return row.key == 0 ? nullptr : &row;
}

result<std::uint64_t> spool::stage(spool_row row, bool durable) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!durable && !failing_) return failing_.error();
  if (row.key == 0) row.key = next_key_;
  next_key_ = std::max(next_key_, row.key + 1);
  const std::uint64_t key = row.key;
  auto g = open_;
  g->index[key] = g->inserts.size();
  g->inserts.push_back(std::move(row));
  ++g->live_inserts;
  note_work(!durable);  // a durable insert is committed by its caller, not the writer
  if (!durable) {
    if (g->live_inserts >= config_.commit_batch) writer_cv_.notify_one();
    return key;
  }
  g->durable = true;
  while (!g->done) {
    if (!committing_) {
      lead(lock, true);
    } else {
      done_cv_.wait(lock);
    }
  }
  if (!g->outcome) return g->outcome.error();
  return key;
}

result<std::uint64_t> spool::insert(spool_row row) {
  return stage(std::move(row), false);
}

result<std::uint64_t> spool::insert_durable(spool_row row) {
  return stage(std::move(row), true);
}

void spool::remove(std::uint64_t key) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (spool_row* row = staged(key)) {
    row->key = 0;  // cancelled: never written
    row->query.clear();
    row->query.shrink_to_fit();
    --open_->live_inserts;
    ++stats_.inserts_cancelled;
    return;
  }
  open_->removes.push_back(key);
  note_work();
}

void spool::update(std::uint64_t key, std::uint32_t attempts, std::uint32_t budget_used,
                   std::int64_t not_before_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (spool_row* row = staged(key)) {
    row->attempts = attempts;
    row->budget_used = budget_used;
    row->not_before_ms = not_before_ms;
    return;
  }
  open_->updates.push_back(update_op{key, attempts, budget_used, not_before_ms});
  note_work();
}

std::uint64_t spool::next_key() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return next_key_;
}

result<void> spool::commit(bool durable) {
  std::unique_lock<std::mutex> lock(mutex_);
  auto g = open_;
  const bool empty = g->inserts.empty() && g->updates.empty() && g->removes.empty();
  if (empty && !committing_) return failing_;
  if (durable) g->durable = true;
  while (!g->done) {
    if (!committing_) {
      lead(lock, durable);
    } else {
      done_cv_.wait(lock);
    }
  }
  return g->outcome;
}

void spool::lead(std::unique_lock<std::mutex>& lock, bool durable) {
  // Allocating and freeing groups happens outside the lock, while writing: staging never
  // waits for it.
  auto g = std::exchange(open_, spare_ ? std::move(spare_) : new_group());
  committing_ = true;
  durable = durable || g->durable;
  lock.unlock();
  std::shared_ptr<group> spare;
  result<void> outcome{};
  {
    // A fork waits for the whole commit: SQLite's locks and the allocator's are never
    // held across it.
    const active_scope committing;
    retired_.reset();
    spare = new_group();
    outcome = write(*g, durable);
  }
  lock.lock();
  spare_ = std::move(spare);
  committing_ = false;
  g->done = true;
  g->outcome = outcome;
  if (outcome) {
    failing_ = {};
    ++stats_.commits;
    if (durable) ++stats_.durable_commits;
    stats_.rows_written += g->live_inserts;
  } else {
    // Nothing of the group reached the disk. Updates and removes wait for the next commit;
    // so do inserts nobody waits for (durable callers hear the error and refuse their event).
    failing_ = outcome;
    auto& next = *open_;
    if (!g->durable) {
      next.live_inserts += g->live_inserts;
      next.inserts.insert(next.inserts.begin(), std::make_move_iterator(g->inserts.begin()),
                          std::make_move_iterator(g->inserts.end()));
      next.index.clear();
      for (std::size_t i = 0; i < next.inserts.size(); ++i) next.index[next.inserts[i].key] = i;
    }
    next.updates.insert(next.updates.begin(), g->updates.begin(), g->updates.end());
    next.removes.insert(next.removes.begin(), g->removes.begin(), g->removes.end());
    if (!next.inserts.empty() || !next.updates.empty() || !next.removes.empty()) {
      open_since_ = std::chrono::steady_clock::now();
    }
  }
  done_cv_.notify_all();
  writer_cv_.notify_all();
  retired_ = std::move(g);  // freed by the next leader, outside the lock
}

result<void> spool::check_file() const {
  auto gone = [&](const std::string& what) {
    return error(errc::spool_corrupt, "the spool " + db_path_ + " " + what +
                                          " while in use: events are no longer kept on disk");
  };
  // The path by stat(2), and the header through SQLite's own descriptor: opening and
  // closing another one would drop SQLite's POSIX locks on the file (close(2) releases
  // every lock the process holds on it).
  struct stat st {};
  if (::stat(db_path_.c_str(), &st) != 0) return gone("was removed");
  if (static_cast<std::uint64_t>(st.st_dev) != file_dev_ ||
      static_cast<std::uint64_t>(st.st_ino) != file_ino_) {
    return gone("was replaced by another file");
  }
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db_, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK ||
      file == nullptr || file->pMethods == nullptr) {
    return error(errc::spool_io, "cannot reach the spool file " + db_path_);
  }
  unsigned char header[100] = {};
  if (file->pMethods->xRead(file, header, sizeof header, 0) != SQLITE_OK) {
    return gone("was truncated");
  }
  // A SQLite database begins with this text; its application id is at byte 68, big-endian.
  const std::uint32_t app = (std::uint32_t{header[68]} << 24) | (std::uint32_t{header[69]} << 16) |
                            (std::uint32_t{header[70]} << 8) | std::uint32_t{header[71]};
  if (std::memcmp(header, "SQLite format 3", 16) != 0 ||
      app != static_cast<std::uint32_t>(k_application_id)) {
    return gone("was overwritten");
  }
  return {};
}

result<void> spool::write(group& g, bool durable) {
  if (auto ok = check_file(); !ok) return ok;
  const int level = durable ? 2 : 1;
  if (synchronous_ != level) {
    if (auto r = exec(db_, durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
                      "cannot configure the spool");
        !r) {
      return r;
    }
    synchronous_ = level;
  }
  if (auto r = exec(db_, "BEGIN IMMEDIATE", "cannot write the spool " + db_path_); !r) return r;
  auto step = [&](sqlite3_stmt* stmt) {
    const int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return rc;
  };
  int rc = SQLITE_DONE;
  for (const auto& row : g.inserts) {
    if (row.key == 0) continue;  // cancelled
    sqlite3_bind_int64(insert_stmt_, 1, static_cast<sqlite3_int64>(row.key));
    sqlite3_bind_text(insert_stmt_, 2, row.id.data(), static_cast<int>(row.id.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(insert_stmt_, 3, row.query.data(), static_cast<int>(row.query.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(insert_stmt_, 4, row.user_agent.data(),
                      static_cast<int>(row.user_agent.size()), SQLITE_STATIC);
    sqlite3_bind_int64(insert_stmt_, 5, row.attempts);
    sqlite3_bind_int64(insert_stmt_, 6, row.budget_used);
    sqlite3_bind_int64(insert_stmt_, 7, row.created_ms);
    sqlite3_bind_int64(insert_stmt_, 8, row.not_before_ms);
    if ((rc = step(insert_stmt_)) != SQLITE_DONE) break;
  }
  if (rc == SQLITE_DONE) {
    for (const auto& u : g.updates) {
      sqlite3_bind_int64(update_stmt_, 1, static_cast<sqlite3_int64>(u.key));
      sqlite3_bind_int64(update_stmt_, 2, u.attempts);
      sqlite3_bind_int64(update_stmt_, 3, u.budget_used);
      sqlite3_bind_int64(update_stmt_, 4, u.not_before_ms);
      if ((rc = step(update_stmt_)) != SQLITE_DONE) break;
    }
  }
  if (rc == SQLITE_DONE) {
    for (const auto key : g.removes) {
      sqlite3_bind_int64(delete_stmt_, 1, static_cast<sqlite3_int64>(key));
      if ((rc = step(delete_stmt_)) != SQLITE_DONE) break;
    }
  }
  if (rc == SQLITE_DONE) rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  if (rc == SQLITE_DONE || rc == SQLITE_OK) return {};
  error e = sqlite_error(db_, rc, "cannot write the spool " + db_path_);
  if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  return e;
}

void spool::run_writer() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    const auto& g = *open_;
    const bool work = !g.inserts.empty() || !g.updates.empty() || !g.removes.empty();
    if (!work || committing_) {
      writer_cv_.wait(lock);
      continue;
    }
    const auto wait = failing_ ? config_.commit_interval
                               : std::max<std::chrono::milliseconds>(config_.commit_interval,
                                                                     k_retry_after_failure);
    const auto due = open_since_ + wait;
    if (g.live_inserts < config_.commit_batch && std::chrono::steady_clock::now() < due) {
      writer_cv_.wait_until(lock, due);
      continue;
    }
    lead(lock, false);
  }
}

result<std::vector<spool_row>> spool::read_all() {
  std::unique_lock<std::mutex> lock(mutex_);
  done_cv_.wait(lock, [&] { return !committing_; });
  committing_ = true;  // the connection is ours while reading
  lock.unlock();
  std::vector<spool_row> rows;
  std::uint64_t next = 0;
  result<void> r = load_rows(db_, rows, next);
  lock.lock();
  committing_ = false;
  done_cv_.notify_all();
  writer_cv_.notify_all();
  if (!r) return r.error();
  return rows;
}

spool::counters spool::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace pixel::detail
