package server_test

import (
	"testing"

	"github.com/shearch/shearch/shards"
)

// BenchmarkWrites: one node PUT through Shearch (owner remembered), the
// same PUT straight to its shard, and one role PUT to all 3 shards.
func BenchmarkWrites(b *testing.B) {
	f := startWriteFleet(b)
	t := b
	const name = "web-01.prod.example.com"
	owner := f.holders(t, shards.Nodes, name)
	node := f.onShard(t, owner[0], shards.Nodes, name)
	role := f.onShard(t, 0, shards.Roles, "web")
	b.Run("node-through-shearch", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if a := f.do(b, "wtok", "PUT", "/nodes/"+name, node); a.status != 200 {
				b.Fatal(a.status)
			}
		}
	})
	b.Run("node-direct", func(b *testing.B) {
		c, _ := f.cluster.Shards[owner[0]].Client()
		p, _ := shards.WritePath("PUT", shards.Nodes, name)
		for i := 0; i < b.N; i++ {
			if _, err := c.Do(b.Context(), "PUT", p, node); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("role-all-shards", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if a := f.do(b, "wtok", "PUT", "/roles/web", role); a.status != 200 {
				b.Fatal(a.status)
			}
		}
	})
}
