package search

import (
	"context"

	"github.com/shearch/shearch/shards"
)

func each(rows []shards.Row, fn func(shards.Row) error) error {
	for _, r := range rows {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// smallPageOrNames asks a shard for a small page of objects and for the
// names of every match at once, and drops the one not needed: a shard
// with no more matches than the page answers with the page; one with
// more is read names first, and its page's objects come in the second
// round trip. Asked one after the other, a shard with more matches cost
// three round trips. Only done while the shard has a slot to spare: under
// load the speculative request would take a slot from another request.
func smallPageOrNames(ctx context.Context, c *shards.Client, req *plan, size, budget int,
	names func(context.Context, *shards.Client, func(shards.Row) error) error, fn func(shards.Row) error) error {
	nctx, stopNames := context.WithCancel(ctx)
	defer stopNames()
	decided := make(chan bool, 1) // true: the names are wanted
	namesDone := make(chan error, 1)
	go func() {
		wanted := false
		namesDone <- names(nctx, c, func(r shards.Row) error {
			if !wanted {
				if wanted = <-decided; !wanted {
					return context.Canceled
				}
			}
			return fn(r)
		})
	}()
	rows, complete, err := c.FirstPage(ctx, req.Index, req.Query, nil, size, budget)
	if err != nil || complete {
		decided <- false
		stopNames()
		<-namesDone
		if err != nil {
			return err
		}
		return each(rows, fn)
	}
	decided <- true
	return <-namesDone
}
