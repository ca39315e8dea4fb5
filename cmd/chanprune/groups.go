package main

import (
	"flag"
	"fmt"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/chanprune/chanprune"
	"github.com/chanprune/chanprune/internal/clip"
)

// groupArgs is grouped pruning as eval, sweep, prune and report take it
// from --group-size and --group-reduce, or a manifest layer from its
// group_size and group_reduce: whole groups of size contiguous input
// channels (attention heads) are pruned, size 1 meaning single channels.
type groupArgs struct {
	size         int
	reduce       string
	sizeName     string // the flag or field, for messages
	reduceName   string
	parsedReduce chanprune.GroupReduce
	inManifest   bool          // a manifest layer set group_size or group_reduce
	fs           *flag.FlagSet // the flags', until check has looked at them
}

// groupFlags adds --group-size and --group-reduce to fs.
func groupFlags(fs *flag.FlagSet) *groupArgs {
	g := &groupArgs{sizeName: "--group-size", reduceName: "--group-reduce", fs: fs}
	fs.IntVar(&g.size, "group-size", 1, "prune whole groups of `G` contiguous input channels, such as attention heads (G = head_dim); 1 prunes single channels")
	fs.StringVar(&g.reduce, "group-reduce", "mean", "how one score per channel becomes one per group: `REDUCE` mean, sum or max (scores of one per group are used as they are)")
	return g
}

// check reads the reduction and checks the size, before any file is read;
// the first check of the flags warns of a --group-reduce given without
// groups, which changes nothing.
func (g *groupArgs) check() error {
	if g.size < 1 {
		return fmt.Errorf("%s %d: want a positive number of channels", g.sizeName, g.size)
	}
	r, err := chanprune.ParseGroupReduce(g.reduce)
	if err != nil {
		return fmt.Errorf("%s %q: want mean, sum or max", g.reduceName, clip.Value(g.reduce))
	}
	g.parsedReduce = r
	if g.fs != nil {
		if g.size == 1 && givenFlags(g.fs)["group-reduce"] {
			fmt.Fprintf(progressOut, "chanprune: warning: --group-reduce is unused: --group-size 1 prunes single channels\n")
		}
		g.fs = nil
	}
	return nil
}

// option returns the library option for layer, whose input channels the
// groups must divide. It is a layerOption of newEvaluator.
func (g *groupArgs) option(layer chanprune.Linear) (chanprune.Option, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	if layer.In%g.size != 0 {
		return nil, fmt.Errorf("%s %d does not divide the layer's %d input channels", g.sizeName, g.size, layer.In)
	}
	return chanprune.WithGroups(g.size, g.parsedReduce), nil
}

// loadScores reads a score set for in channels: one score per channel,
// or with groups one per group.
func (g *groupArgs) loadScores(arg, ref string, in int) ([]float32, error) {
	if g.size == 1 {
		return loadScores(arg, ref, in)
	}
	return loadScores(arg, ref, in, in/g.size)
}

// groupsPruned says how many groups of size were pruned, for a message:
// "" for single channels.
func groupsPruned(groups, size int) string {
	if size == 1 {
		return ""
	}
	return fmt.Sprintf(", %s of %d", plural(groups, "whole group"), size)
}

// manifestGroups reads a manifest layer's group_size and group_reduce,
// either absent (nil).
func manifestGroups(size, reduce *yaml.Node) (groupArgs, error) {
	g := groupArgs{size: 1, reduce: "mean", sizeName: "group_size", reduceName: "group_reduce", inManifest: size != nil || reduce != nil}
	if size != nil {
		n := deref(size)
		v, err := strconv.Atoi(n.Value)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
			return g, fmt.Errorf("group_size: %s: want a positive number of channels", describe(n))
		}
		g.size = v
	}
	if reduce != nil {
		r, err := str(reduce)
		if err != nil {
			return g, fmt.Errorf("group_reduce: %w", err)
		}
		g.reduce = r
	}
	return g, g.check()
}

// applyTo gives report's --group-size and --group-reduce to the manifest
// layers that set neither group_size nor group_reduce.
func (g *groupArgs) applyTo(layers []manifestLayer) error {
	if err := g.check(); err != nil {
		return err
	}
	for i := range layers {
		if !layers[i].Groups.inManifest {
			layers[i].Groups = *g
		}
	}
	return nil
}
