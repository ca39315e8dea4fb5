//go:build !unix

package osfile

// Nonblock is 0 where open takes no O_NONBLOCK (Windows, Plan 9,
// WASI); there OpenRegular's check of the opened file alone refuses what
// is not a regular file.
const Nonblock = 0
