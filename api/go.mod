module github.com/shearch/shearch/api

// Iterators (iter.Seq2, range over func) are the newest thing the client
// uses: backends need no newer Go than that.
go 1.23

require github.com/go-chef/chef v0.30.1
