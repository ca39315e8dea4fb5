package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/chanprune/chanprune/internal/clip"
)

// A manifest is read as a tree of yaml.Nodes, JSON included; these helpers
// walk it.

// fields returns a mapping's values by key, refusing keys not in known
// and keys given twice.
func fields(n *yaml.Node, where string, known ...string) (map[string]*yaml.Node, error) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: want a map with the fields %s", where, strings.Join(known, ", "))
	}
	f := map[string]*yaml.Node{}
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if !slices.Contains(known, k) {
			return nil, fmt.Errorf("%s: unknown field %q (want %s)", where, clip.Value(k), strings.Join(known, ", "))
		}
		if f[k] != nil {
			return nil, fmt.Errorf("%s: field %q given twice", where, clip.Value(k))
		}
		if v := deref(n.Content[i+1]); v.Tag != "!!null" {
			f[k] = v
		}
	}
	return f, nil
}

// deref follows YAML aliases.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func str(n *yaml.Node) (string, error) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return "", fmt.Errorf("%s: want a string", describe(n))
	}
	return n.Value, nil
}

// describe names a value in messages.
func describe(n *yaml.Node) string {
	switch n = deref(n); n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	}
	if n.Tag == "!!str" {
		return fmt.Sprintf("%q", clip.Value(n.Value))
	}
	return clip.Value(n.Value)
}

// ref reads a file reference and resolves it against dir; the part after
// a '#' (a key inside a container) is kept as written.
func ref(n *yaml.Node, dir string) (string, error) {
	r, err := str(n)
	if err != nil {
		return "", err
	}
	if r == "" {
		return "", errors.New("empty file reference")
	}
	if filepath.IsAbs(r) || dir == "." || dir == "" {
		return r, nil
	}
	return strings.TrimSuffix(dir, string(filepath.Separator)) + string(filepath.Separator) + r, nil
}

func yamlNode(raw []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, errors.New("empty")
	}
	return doc.Content[0], nil
}

// jsonNode parses JSON into the tree YAML gives, keeping the order of
// object keys, so that one walk checks both formats.
func jsonNode(raw []byte) (*yaml.Node, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	n, err := jsonValue(dec, 1)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the top-level value")
	}
	return n, nil
}

// jsonValue reads the value that starts at the decoder's next token, at
// nesting level depth; it refuses depths past maxManifestDepth before
// descending, so a hostile file cannot exhaust the stack.
func jsonValue(dec *json.Decoder, depth int) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, err
	}
	scalar := func(tag, v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v} }
	switch t := tok.(type) {
	case json.Delim:
		if depth > maxManifestDepth {
			return nil, fmt.Errorf("offset %d: lists and maps nested more than %d levels deep", dec.InputOffset(), maxManifestDepth)
		}
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if t == '{' {
			n.Kind, n.Tag = yaml.MappingNode, "!!map"
		}
		for dec.More() {
			if t == '{' {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, scalar("!!str", k.(string)))
			}
			v, err := jsonValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		return scalar("!!str", t), nil
	case json.Number:
		if strings.ContainsAny(string(t), ".eE") {
			return scalar("!!float", string(t)), nil
		}
		return scalar("!!int", string(t)), nil
	case bool:
		return scalar("!!bool", fmt.Sprint(t)), nil
	}
	return scalar("!!null", "null"), nil
}
