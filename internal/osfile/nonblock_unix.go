//go:build unix

package osfile

import "syscall"

// Nonblock keeps opening a named pipe from waiting: for a writer when
// reading, and for a reader when writing (the open then fails at once).
const Nonblock = syscall.O_NONBLOCK
