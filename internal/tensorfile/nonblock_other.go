//go:build !unix

package tensorfile

// openNonblock is 0 where open takes no O_NONBLOCK (Windows, Plan 9,
// WASI); there OpenRegular's check of the opened file alone refuses what
// is not a regular file.
const openNonblock = 0
