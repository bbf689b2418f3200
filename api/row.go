package api

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/go-chef/chef"
)

// Decode decodes the row's data into v; numbers decoded into an any are
// json.Number, so 1794484758.0 keeps its text.
func (r Row) Decode(v any) error {
	if len(r.Data) == 0 {
		return fmt.Errorf("row %s from %s has no data: it is a names-only row", r.Name, r.Shard)
	}
	dec := json.NewDecoder(bytes.NewReader(r.Data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("row %s from %s: %w", r.Name, r.Shard, err)
	}
	return nil
}

// Node decodes a whole-object row of a node search as go-chef's chef.Node.
func (r Row) Node() (chef.Node, error) {
	var n chef.Node
	err := r.Decode(&n)
	return n, err
}

// Object is the row's data as a map, or nil when the data is null or not
// a JSON object; Decode says why.
func (r Row) Object() map[string]any {
	var m map[string]any
	if r.Decode(&m) != nil {
		return nil
	}
	return m
}
