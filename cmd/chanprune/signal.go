package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/chanprune/chanprune/internal/atomicfile"
)

// exitOnSignal makes SIGINT, SIGTERM and SIGHUP (a closed terminal or
// SSH session) remove the temporaries of outputs not yet renamed
// (atomicfile.RemoveTemps, which lets renames under way finish), print one
// line to stderr and exit with 128 + the signal's number, as a shell
// reports it: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP. A signal
// the run was started ignoring (nohup's SIGHUP, a background job's SIGINT)
// stays ignored: Notify would take it back.
func exitOnSignal(stderr io.Writer) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	for _, s := range []os.Signal{os.Interrupt, syscall.SIGHUP} {
		if !signal.Ignored(s) {
			signal.Notify(c, s)
		}
	}
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
