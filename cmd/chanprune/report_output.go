package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/chanprune/chanprune/internal/atomicfile"
)

// reportFlags are the flags that say how a report is put out; report and
// merge declare the same ones, so that a merged report comes out as an
// unsharded one would.
type reportFlags struct{ format, out, plot, title *string }

func declareReportFlags(fs *flag.FlagSet) reportFlags {
	return reportFlags{
		format: fs.String("format", "text", "output `format`: text, json or csv"),
		out:    fs.String("out", "", "write the report to `FILE` (atomically) instead of stdout"),
		plot:   fs.String("plot", "", "draw the mean rmse and cosine across layers against the ratio to `FILE.svg` or FILE.png"),
		title:  titleFlag(fs),
	}
}

// reportSink is where a report goes: its format and title, and its
// outputs declared in a Set.
type reportSink struct {
	format, title string
	out, plot     *atomicfile.Output
}

// open checks the format and declares the report's outputs in outs.
func (f reportFlags) open(outs *atomicfile.Set) (reportSink, error) {
	s := reportSink{format: *f.format, title: *f.title}
	if s.format != "text" && s.format != "json" && s.format != "csv" {
		return s, fmt.Errorf("--format %q: want text, json or csv", s.format)
	}
	var err error
	if s.plot, err = addPlot(outs, *f.plot); err != nil {
		return s, err
	}
	s.out, err = addOutput(outs, "--out", *f.out)
	return s, err
}

// deliver summarises the layers' results and puts the report out in the
// sink's format (to --out or stdout), then its plot; kernel is the one
// the text names.
func (s reportSink) deliver(outs *atomicfile.Set, stdout io.Writer, results []layerResult, kernel string) error {
	summary := summarize(results)
	warnUnevenGrids(summary, len(results))
	write := func(w io.Writer) error {
		switch s.format {
		case "json":
			return writeIndented(w, reportJSON{results, summary})
		case "csv":
			return writeReportCSV(w, results, summary)
		}
		return writeReportText(w, results, summary, kernel)
	}
	return deliver(outs, s.emit(stdout, write), s.plot, func() plotSpec {
		return reportPlot(s.title, results, summary)
	})
}

// emit gives the step that writes to --out, if given, or to stdout.
func (s reportSink) emit(stdout io.Writer, write func(io.Writer) error) func() error {
	return func() error {
		if s.out != nil {
			return s.out.Write(write)
		}
		return write(stdout)
	}
}

// writeIndented writes v as indented JSON, as every JSON the tool prints.
func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
