package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/chanprune/chanprune"
	"github.com/klauspost/cpuid/v2"
)

func runKernels(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("kernels", flag.ContinueOnError)
	measure := fs.Bool("peak", false, "measure each supported kernel's FMA peak and the memory bandwidth (about 5.5 windows each)")
	window := fs.Duration("window", 200*time.Millisecond, "length `D` of one measurement window for --peak (the best of 5 is printed)")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	if *window <= 0 {
		return fmt.Errorf("kernels: --window %v: want a positive duration", *window)
	}
	selected, err := chanprune.DefaultKernel()
	if err != nil {
		return err
	}
	workers := runtime.GOMAXPROCS(0)
	fmt.Fprintf(stdout, "%-10s %-10s %-9s %s\n", "kernel", "supported", "selected", "FMA peak, all cores")
	for _, k := range chanprune.Kernels() {
		mark, peak := "", ""
		if k.Name == selected {
			mark = "*"
		}
		if *measure && k.Supported {
			if gflops, err := chanprune.MeasurePeak(k.Name, workers, *window); err == nil {
				peak = fmt.Sprintf("%.0f GFLOP/s", gflops)
			}
		}
		fmt.Fprintf(stdout, "%-10s %-10s %-9s %s\n", k.Name, yesNo(k.Supported), mark, peak)
	}
	if !*measure {
		return nil
	}
	fmt.Fprintf(stdout, "\nstreaming read with the %s kernel's loads, %s:\n", selected, plural(workers, "worker"))
	for _, b := range bandwidthBuffers(workers) {
		gbs, err := chanprune.MeasureBandwidth(b.bytes, workers, *window)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%-28s %6.1f GB/s\n", b.name, gbs)
	}
	return nil
}

// bandwidthBuffer is one buffer size kernels --peak reads.
type bandwidthBuffer struct {
	name  string
	bytes int
}

// bandwidthBuffers are an L2-resident buffer (half a core's L2 a worker:
// a share the cache's full size partly spills, since L2 also holds code,
// stacks and whatever the OS runs), one past the L2 of most machines and
// inside a large L3 (16 MiB), and one far past any cache (1 GiB). The L2
// size comes from cpuid, 1 MiB where it is unknown.
func bandwidthBuffers(workers int) []bandwidthBuffer {
	l2 := cpuid.CPU.Cache.L2
	if l2 <= 0 {
		l2 = 1 << 20
	}
	share := l2 / 2
	return []bandwidthBuffer{
		{fmt.Sprintf("L2: %d KiB a worker", share>>10), share * workers},
		{"16 MiB", 16 << 20},
		{"1 GiB", 1 << 30},
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
