package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/chanprune/chanprune/internal/atomicfile"
)

// exitOnSignal makes SIGINT and SIGTERM remove the temporaries of outputs
// not yet renamed (atomicfile.RemoveTemps, which lets renames under way
// finish), print one line to stderr and exit with 128 + the signal's
// number, as a shell reports it: 130 for SIGINT, 143 for SIGTERM.
func exitOnSignal(stderr io.Writer) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-c
		atomicfile.RemoveTemps()
		fmt.Fprintf(stderr, "chanprune: stopped by %v; outputs not written are left as they were\n", sig)
		code := 1
		if s, ok := sig.(syscall.Signal); ok {
			code = 128 + int(s)
		}
		os.Exit(code)
	}()
}
