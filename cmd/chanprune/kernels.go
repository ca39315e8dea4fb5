package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/chanprune/chanprune"
)

func runKernels(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("kernels", flag.ContinueOnError)
	measure := fs.Bool("peak", false, "measure each supported kernel's FMA peak (0.2 s each)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	selected, err := chanprune.DefaultKernel()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%-10s %-10s %-9s %s\n", "kernel", "supported", "selected", "FMA peak, all cores")
	for _, k := range chanprune.Kernels() {
		mark, peak := "", ""
		if k.Name == selected {
			mark = "*"
		}
		if *measure && k.Supported {
			if gflops, err := chanprune.MeasurePeak(k.Name, runtime.GOMAXPROCS(0), 200*time.Millisecond); err == nil {
				peak = fmt.Sprintf("%.0f GFLOP/s", gflops)
			}
		}
		fmt.Fprintf(stdout, "%-10s %-10s %-9s %s\n", k.Name, yesNo(k.Supported), mark, peak)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
