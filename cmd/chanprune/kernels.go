package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/chanprune/chanprune"
)

func runKernels(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("kernels", flag.ContinueOnError)
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	selected, err := chanprune.DefaultKernel()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%-10s %-10s %s\n", "kernel", "supported", "selected")
	for _, k := range chanprune.Kernels() {
		mark := ""
		if k.Name == selected {
			mark = "*"
		}
		fmt.Fprintf(stdout, "%-10s %-10s %s\n", k.Name, yesNo(k.Supported), mark)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
