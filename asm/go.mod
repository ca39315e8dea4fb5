module asm

go 1.24

toolchain go1.26.8

require github.com/mmcloughlin/avo v0.6.0

// avo v0.6.0 asks for golang.org/x/tools v0.16.1, which no longer builds
// with the pinned toolchain; a newer x/tools is required instead.
require (
	golang.org/x/mod v0.27.0 // indirect
	golang.org/x/sync v0.16.0 // indirect
	golang.org/x/tools v0.36.0 // indirect
)
