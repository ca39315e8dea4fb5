package tensorfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/chanprune/chanprune/internal/clip"
)

// jsonObject decodes a JSON object into its members, refusing a key given
// twice: encoding/json would keep the last silently, where the safetensors
// format disallows duplicates (its library refuses a field given twice),
// so the same file would read differently.
func jsonObject(b []byte) (map[string]json.RawMessage, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	members := map[string]json.RawMessage{}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string) // Token gives nothing else in a key's place
		if !ok {
			return nil, errors.New("a key is not a string")
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, err
		}
		if _, dup := members[key]; dup {
			return nil, fmt.Errorf("key %q given twice", clip.Value(key))
		}
		members[key] = v
	}
	if _, err := d.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("data after the object")
	}
	return members, nil
}
