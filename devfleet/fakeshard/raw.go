package fakeshard

import (
	"bytes"
	"encoding/json"
)

// Partial search reads a few values out of each 10 KB node. Decoding the
// node into maps costs the benchmark process more CPU than Shearch spends
// on the row, so values are found in the encoded bytes instead.

// rawPath is the value at path in an encoded JSON value, or nil.
func rawPath(v []byte, path []string) []byte {
	for _, p := range path {
		v = rawMember(v, p)
		if v == nil {
			return nil
		}
	}
	return v
}

// rawMember is the value of key in an encoded object, or nil.
func rawMember(obj []byte, key string) []byte {
	i := skipWS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil
	}
	i++
	for {
		i = skipWS(obj, i)
		if i >= len(obj) || obj[i] != '"' {
			return nil
		}
		end := skipString(obj, i)
		if end < 0 {
			return nil
		}
		k := obj[i:end]
		i = skipWS(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return nil
		}
		i = skipWS(obj, i+1)
		vend := skipValue(obj, i)
		if vend < 0 {
			return nil
		}
		if keyIs(k, key) {
			return obj[i:vend]
		}
		i = skipWS(obj, vend)
		if i >= len(obj) || obj[i] != ',' {
			return nil
		}
		i++
	}
}

func keyIs(quoted []byte, key string) bool {
	if bytes.IndexByte(quoted, '\\') < 0 {
		return string(quoted[1:len(quoted)-1]) == key
	}
	var s string
	return json.Unmarshal(quoted, &s) == nil && s == key
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipString(b, j) - 1
				if j < 0 {
					return -1
				}
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && !bytes.ContainsRune([]byte(",}] \n\t\r"), rune(b[j])) {
		j++
	}
	return j
}

// rawLookup is lookup over encoded bytes: a node's own name,
// chef_environment and run_list, then its attributes by precedence. A
// path ending on an object needs every layer merged: that rare case
// decodes the node.
func rawLookup(index string, raw []byte, path []string) (json.RawMessage, error) {
	if len(path) == 0 {
		return json.RawMessage("null"), nil
	}
	if index != "node" {
		if v := rawPath(raw, path); v != nil {
			return v, nil
		}
		return json.RawMessage("null"), nil
	}
	switch path[0] {
	case "name", "chef_environment", "run_list":
		if v := rawPath(raw, path); v != nil {
			return v, nil
		}
	}
	for _, layer := range precedence {
		v := rawPath(rawMember(raw, layer), path)
		if v == nil || string(v) == "null" {
			continue
		}
		if v[0] != '{' {
			return v, nil
		}
		obj, err := decode(raw)
		if err != nil {
			return nil, err
		}
		return json.Marshal(lookup(index, obj, path))
	}
	return json.RawMessage("null"), nil
}
