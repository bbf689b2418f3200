package shards

import (
	"crypto/sha256"
	"encoding/json"
)

// ContentHash hashes a decoded Chef object by its content: Go writes map
// keys sorted, so the same content always hashes the same, whatever the
// key order each shard sent.
func ContentHash(v any) [32]byte {
	b, _ := json.Marshal(v)
	return sha256.Sum256(b)
}
