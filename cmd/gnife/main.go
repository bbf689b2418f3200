// Command gnife is knife's read commands over every Chef shard, through Shearch.
package main

import "github.com/shearch/shearch/gnife"

func main() { gnife.Main() }
