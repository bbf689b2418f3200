// Package bench measures Shearch as operators run it: a separate shearch
// process (so its peak RSS is its own) in front of fake shards served by
// the benchmark process, or real goiardi shards for the gnife figures.
// Its benchmarks are in the test files; this file holds the package doc
// so that go doc and go list see it.
package bench
