// run_process() now lives with the other child-process helpers in spawn.hpp; this name
// stays for the tests that include it.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_TESTS_RUN_PROCESS_HPP
#define PIXEL_TESTS_RUN_PROCESS_HPP

#include "spawn.hpp"

#endif  // PIXEL_TESTS_RUN_PROCESS_HPP
