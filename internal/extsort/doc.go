// Package extsort is the external merge sort behind answers in name
// order: it sorts rows by (name, shard) within a byte bound of memory,
// writing sorted runs past it to a temporary directory and merging them
// back, under a cap of its own and a Budget shared by the process. It
// knows nothing of shards, HTTP or the engine: it must never import
// net/http, shards or search.
package extsort
