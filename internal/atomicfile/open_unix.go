//go:build unix

package atomicfile

import "syscall"

// directFlags opens a FIFO without waiting for a reader: with none the
// open fails at once instead of hanging.
const directFlags = syscall.O_NONBLOCK
