package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/chanprune/chanprune/internal/clip"
	"github.com/chanprune/chanprune/internal/osfile"
)

// maxJSONInput bounds a report or a part that merge and allocate read:
// far above any real one (a report of thousands of layers is a few MB),
// and low enough that reading one stays within memory.
const maxJSONInput = 256 << 20

// readJSONFile decodes the regular file at path, of at most maxJSONInput
// bytes, into v; strict refuses fields v does not have. what names the
// file in messages, and expect what it should hold where it does not
// decode.
func readJSONFile(what, path, expect string, v any, strict bool) error {
	f, size, err := osfile.OpenRegular(path)
	if err != nil {
		return argError(what, path, err)
	}
	defer f.Close()
	if size > maxJSONInput {
		return fmt.Errorf("%s %s: %d bytes, more than the %d MiB it may have", what, clip.Value(path), size, maxJSONInput>>20)
	}
	raw, err := io.ReadAll(io.LimitReader(f, maxJSONInput+1))
	if err == nil && len(raw) > maxJSONInput {
		err = fmt.Errorf("more than the %d MiB it may have", maxJSONInput>>20)
	}
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		if strict {
			dec.DisallowUnknownFields()
		}
		if err = dec.Decode(v); err == nil && dec.More() {
			err = errors.New("data after the JSON value")
		}
		if err != nil {
			return fmt.Errorf("%s %s: not %s (%w)", what, clip.Value(path), expect, err)
		}
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, clip.Value(path), err)
	}
	return nil
}
