//go:build !unix

package atomicfile

// directFlags: no FIFOs to wait on here.
const directFlags = 0
