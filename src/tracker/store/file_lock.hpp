// An exclusive, non-blocking lock on an open file that lasts while the descriptor is open
// and goes with the process however it ends (so a kill -9 never leaves a stale lock).
// flock(2) where the platform has it (Linux, the BSDs, macOS): the lock belongs to the open
// file description, so a second open in the same process conflicts too. Elsewhere, POSIX
// record locks (fcntl F_SETLK): per process, so only another process conflicts.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_TRACKER_STORE_FILE_LOCK_HPP
#define PIXEL_SRC_TRACKER_STORE_FILE_LOCK_HPP

namespace pixel::detail {

enum class lock_result { taken, held_elsewhere, failed };

// On `failed`, errno says why.
lock_result lock_exclusive(int fd) noexcept;

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_STORE_FILE_LOCK_HPP
