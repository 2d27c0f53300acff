// SPDX-License-Identifier: MIT
// The tracker's implementation lives here.
