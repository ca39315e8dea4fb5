package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// helpText is what `chanprune help CMD` and `CMD -h` print beside the
// command's summary and flags. It is a table of its own, keyed by the
// command's name, because the commands table holds the run functions and
// a run function that reached back into that table would make an
// initialization cycle.
type helpText struct {
	synopsis string   // the command line, positional arguments included
	args     []string // one line per positional argument
	example  string
	tensors  bool // whether the command reads tensor references
}

var helpTexts = map[string]helpText{
	"eval": {
		synopsis: "chanprune eval --weight W --scores S --ratio R [flags] BATCH…",
		args:     []string{"BATCH…  activation batches [..., in] (a container without a key: every tensor in it)"},
		example:  "chanprune eval --weight layer.safetensors#weight --scores l2norm.npy --ratio 0.3 acts.safetensors",
		tensors:  true,
	},
	"sweep": {
		synopsis: "chanprune sweep --weight W --scores NAME=S… --ratios R1,R2,… [flags] BATCH…",
		args:     []string{"BATCH…  activation batches [..., in] (a container without a key: every tensor in it)"},
		example:  "chanprune sweep --weight layer.safetensors#weight --scores l2norm=l2norm.npy --scores random=random.npy --ratios 0.1,0.3,0.5 --plot sweep.png acts.safetensors",
		tensors:  true,
	},
	"report": {
		synopsis: "chanprune report [flags] MANIFEST   (with --shard I/N: a JSON part for merge)",
		args:     []string{"MANIFEST  a .yaml, .yml or .json file listing the layers (see the README); its tensor references are relative to its directory"},
		example:  "chanprune report --format csv --out report.csv --plot report.svg manifest.yaml",
		tensors:  true,
	},
	"merge": {
		synopsis: "chanprune merge [flags] PART…",
		args:     []string{"PART…  the JSON parts that report --shard I/N wrote, in any order: together every layer of one manifest, once"},
		example:  "chanprune merge --format csv --out report.csv --plot report.svg part-*.json",
	},
	"allocate": {
		synopsis: "chanprune allocate --budget F --scores NAME [flags] REPORT",
		args:     []string{"REPORT  a report's JSON (report --format json, or merge --format json)"},
		example:  "chanprune allocate --budget 0.2 --scores l2norm --format json report.json",
	},
	"prune": {
		synopsis: "chanprune prune --weight W --scores S --ratio R (--out F.safetensors | --out-weight WK.npy --out-keep KEEP.npy) [flags] [BATCH…]",
		args:     []string{"BATCH…  with --compensate bias or lstsq and no --fit: the activation batches [..., in] the repair is fitted on"},
		example:  "chanprune prune --weight layer.safetensors#weight --scores l2norm.npy --ratio 0.3 --out pruned.safetensors",
		tensors:  true,
	},
	"score": {
		synopsis: "chanprune score --method NAME --weight W --out S.npy [flags] [BATCH…]",
		args:     []string{"BATCH…  activation batches [..., in] (a container without a key: every tensor in it); magnitude and random need none"},
		example:  "chanprune score --method l2norm --layout batch-first --weight layer.safetensors#weight --out l2norm.npy acts.safetensors",
		tensors:  true,
	},
	"demo": {
		synopsis: "chanprune demo [flags]",
		example:  "chanprune demo --batches 10",
	},
	"kernels": {
		synopsis: "chanprune kernels [flags]",
		example:  "chanprune kernels --peak",
	},
	"version": {
		synopsis: "chanprune version   (or chanprune --version)",
		example:  "chanprune version",
	},
}

// helpRequest is the error parseFlags returns for -h or --help: it carries
// the flag set so that run prints the help to the stdout it was given.
type helpRequest struct{ fs *flag.FlagSet }

func (h *helpRequest) Error() string { return flag.ErrHelp.Error() }
func (h *helpRequest) Unwrap() error { return flag.ErrHelp }

// printHelp writes command c's help: synopsis, summary, positional
// arguments, flags and an example.
func printHelp(w io.Writer, c command, fs *flag.FlagSet) {
	h := helpTexts[c.name]
	fmt.Fprintf(w, "Usage: %s\n\n%s.\n", h.synopsis, capitalize(c.summary))
	if len(h.args) > 0 {
		fmt.Fprintln(w, "\nArguments:")
		for _, a := range h.args {
			fmt.Fprintf(w, "  %s\n", a)
		}
	}
	heading := "\nFlags:"
	fs.VisitAll(func(f *flag.Flag) {
		if heading != "" {
			fmt.Fprintln(w, heading)
			heading = ""
		}
		printFlag(w, f)
	})
	if h.tensors {
		fmt.Fprintln(w, "\nEvery tensor flag and argument (and every tensor in a manifest) is a reference FILE[#KEY]:\n"+
			"a .npy file, or an array of an .npz, a tensor of a .safetensors or of a torch.save file,\n"+
			"e.g. model.safetensors#model.layers.0.mlp.down_proj.weight or rank_0.pth#decoder.layers.0/score.")
	}
	fmt.Fprintf(w, "\nExample:\n  %s\n", h.example)
}

// printFlag writes one flag as PrintDefaults would, but spelt --name as
// the README and the synopses spell it.
func printFlag(w io.Writer, f *flag.Flag) {
	arg, usage := flag.UnquoteUsage(f)
	name := "--" + f.Name
	if arg != "" {
		name += " " + arg
	}
	switch f.DefValue {
	case "", "false", "0", "[]": // zero values, as PrintDefaults omits them
	default:
		usage += fmt.Sprintf(" (default %s)", f.DefValue)
	}
	fmt.Fprintf(w, "  %s\n    \t%s\n", name, usage)
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// helpTopic turns `help TOPIC` into the command line that prints it, or
// an error for a topic that is no command.
func helpTopic(args []string) ([]string, error) {
	if len(args) != 1 {
		return nil, errors.New("help takes one command name (try 'chanprune help')")
	}
	for _, c := range commands {
		if c.name == args[0] {
			return []string{c.name, "-h"}, nil
		}
	}
	return nil, fmt.Errorf("help: no command %q (try 'chanprune help')", args[0])
}
