// Command chanprune measures how much pruning the lowest-scoring input
// channels of a linear layer changes its output.
//
//	chanprune eval --weight W.npy [--bias B.npy] --scores S.npy --ratio R [--format text|json] [--method auto|direct|gram] [--quiet] [--stacked] BATCH.npy…
//	chanprune sweep --weight W.npy [--bias B.npy] --scores NAME=FILE… --ratios R1,R2,… [--format text|json|csv] [--method …] [--plot FILE.svg|FILE.png] [--title T] [--quiet] [--stacked] BATCH.npy…
//	chanprune report [--format text|json|csv] [--out FILE] [--plot FILE.svg|FILE.png] [--title T] [--quiet] MANIFEST.json|MANIFEST.yaml
//	chanprune report --shard I/N [--out PART.json] [--quiet] MANIFEST   (a part of the layers, for merge)
//	chanprune merge [--format text|json|csv] [--out FILE] [--plot FILE.svg|FILE.png] [--title T] PART.json…
//	chanprune allocate --budget F --scores NAME [--objective rel-rmse|one-minus-cos] [--compensate MODE] [--format text|json] REPORT.json
//	chanprune prune --weight W.npy [--bias B.npy] --scores S.npy --ratio R --out-weight WK.npy --out-keep KEEP.npy
//	chanprune score --method NAME --weight W.npy [--bias B.npy] [--calibration scale-by-magnitude] [--iterations N] [--seed S] --out S.npy [--state FILE] [--resume FILE] [--quiet] [--stacked] BATCH.npy…
//	chanprune demo [--batches N] [--ratio R]
//	chanprune kernels [--peak] [--window D]
//	chanprune version (or --version)
//
// `chanprune help COMMAND` or `chanprune COMMAND -h` prints a command's
// synopsis, arguments, flags and an example on stdout.
//
// Every tensor argument is a reference FILE[#KEY] to a .npy file or a
// tensor of an .npz, .safetensors or torch.save file (package tensorfile);
// a BATCH that names a container without a key is every tensor in it.
//
// Errors print one line, "chanprune: <what is wrong>", and exit with status 1;
// SIGINT and SIGTERM print one line and exit with 130 and 143, outputs not
// yet written left as they were (see exitOnSignal).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/chanprune/chanprune/internal/atomicfile"
	"github.com/chanprune/chanprune/internal/clip"
)

type command struct {
	name, summary string
	run           func(args []string, stdout io.Writer) error
}

var commands = []command{
	{"eval", "evaluate one score set at one prune ratio over activation batches", runEval},
	{"sweep", "evaluate several score sets at several prune ratios in one pass", runSweep},
	{"report", "evaluate the layers a manifest lists and summarise across them", runReport},
	{"merge", "join the parts of a sharded report into the report an unsharded run prints", runMerge},
	{"allocate", "choose each layer's prune ratio from a report to meet a global budget at least cost", runAllocate},
	{"prune", "write the pruned layer (or MLP block): the kept channels and their weight columns", runPrune},
	{"score", "score the input channels with an importance estimator over activation batches", runScore},
	{"demo", "compare the importance estimators on the built-in seed example", runDemo},
	{"kernels", "list the kernels this CPU supports and the one selected", runKernels},
	{"version", "print the version this binary was built from", runVersion},
}

func main() {
	exitOnSignal(os.Stderr)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status: 0, 1 for a
// failed command or one whose stdout could not be written, 2 for a
// command line that names no command or an unknown one.
func run(args []string, stdout, stderr io.Writer) int {
	out := &checkedWriter{w: stdout}
	code := runCommand(args, out, stderr)
	if code == 0 && out.err != nil {
		fmt.Fprintf(stderr, "chanprune: %s\n", oneLine(out.err.Error()))
		return 1
	}
	return code
}

// runCommand is run before the check that stdout took what was written.
func runCommand(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		usage(stderr)
		return 2
	case len(args) == 1 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help"):
		usage(stdout)
		return 0
	case args[0] == "help":
		topic, err := helpTopic(args[1:])
		if err != nil {
			fmt.Fprintf(stderr, "chanprune: %s\n", err)
			return 2
		}
		args = topic
	case args[0] == "--version" || args[0] == "-version":
		args = []string{"version"}
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		progressOut = stderr
		err := c.run(args[1:], stdout)
		var h *helpRequest
		if errors.As(err, &h) {
			printHelp(stdout, c, h.fs)
			return 0
		}
		if err != nil {
			if atomicfile.Stopped() {
				select {} // a signal stopped the run: its handler prints the one line and exits
			}
			fmt.Fprintf(stderr, "chanprune: %s\n", oneLine(err.Error()))
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "chanprune: unknown command %q (try 'chanprune help')\n", args[0])
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "chanprune: measure the output change of pruning a linear layer's input channels\n\nUsage: chanprune COMMAND [flags] [arguments]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'chanprune help COMMAND' (or 'chanprune COMMAND -h') for its arguments, flags and an example.")
}

// oneLine keeps an error on the single line the tool promises.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// parseFlags parses flags and positional arguments in any order.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpRequest{fs}
			}
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// givenFlags is the set of fs's flags the command line gave, as opposed to
// those left at their defaults.
func givenFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// parseFlagsOnly is parseFlags for a command that takes no positional
// arguments: one given is refused, not ignored.
func parseFlagsOnly(fs *flag.FlagSet, args []string) error {
	extra, err := parseFlags(fs, args)
	if err == nil && len(extra) > 0 {
		err = fmt.Errorf("unexpected argument %q: %s takes only flags", clip.Value(extra[0]), fs.Name())
	}
	return err
}
