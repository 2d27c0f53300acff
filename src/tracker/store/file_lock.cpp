// SPDX-License-Identifier: MIT
#include "tracker/store/file_lock.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#if __has_include(<sys/file.h>)
#include <sys/file.h>
#define PIXEL_HAVE_FLOCK 1
#endif

namespace pixel::detail {

lock_result lock_exclusive(int fd) noexcept {
#if defined(PIXEL_HAVE_FLOCK) && defined(LOCK_EX)
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return lock_result::taken;
  return errno == EWOULDBLOCK ? lock_result::held_elsewhere : lock_result::failed;
#else
  struct flock whole {};
  whole.l_type = F_WRLCK;
  whole.l_whence = SEEK_SET;  // from 0, l_len 0: the whole file
  if (::fcntl(fd, F_SETLK, &whole) == 0) return lock_result::taken;
  return errno == EACCES || errno == EAGAIN ? lock_result::held_elsewhere : lock_result::failed;
#endif
}

}  // namespace pixel::detail
