package writes

import (
	"context"

	"golang.org/x/sync/errgroup"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/shards"
)

// Change is what a repair does to one object: the shards to update to
// the copy it writes, those to create it on, and those to delete it from.
type Change struct {
	Update, Create, Delete []string
}

// Apply carries out one change over the shards of byName, side by side,
// and returns each shard's outcome; a shard not in byName (it left the
// topology since the plan) fails alone. object is the copy written by
// updates and creates. A delete that finds the object already gone
// counts as done.
func (wr *Writer) Apply(ctx context.Context, ref ObjectRef, ch Change, object map[string]any, byName map[string]shards.Shard) []Outcome {
	type job struct {
		shard  string
		method string
	}
	var jobs []job
	for _, s := range ch.Update {
		jobs = append(jobs, job{s, methodPut})
	}
	for _, s := range ch.Create {
		jobs = append(jobs, job{s, methodPost})
	}
	for _, s := range ch.Delete {
		jobs = append(jobs, job{s, methodDelete})
	}
	out := make([]Outcome, len(jobs))
	var g errgroup.Group
	g.SetLimit(wr.shards.FanOptions().MostAtOnce())
	for i, j := range jobs {
		g.Go(func() error {
			s, ok := byName[j.shard]
			if !ok {
				out[i] = Outcome{Name: j.shard, Status: api.WriteFailed, Error: "shard left the topology"}
				return nil
			}
			var w shardWrite
			if j.method == methodPost {
				w = wr.createOn(ctx, s, ref, object)
				out[i] = w.out
				return nil
			}
			p, err := ref.objectPath(j.method)
			if err != nil {
				out[i] = Outcome{Name: j.shard, Status: api.WriteFailed, Error: err.Error()}
				return nil
			}
			switch j.method {
			case methodPut:
				w = wr.writeOne(ctx, s, j.method, p, object)
			default:
				w = wr.writeOne(ctx, s, j.method, p, nil)
				if w.out.Code == chefNotFound {
					w.out.Status = api.WriteAbsent
				}
			}
			out[i] = w.out
			return nil
		})
	}
	g.Wait()
	wr.changed(true)
	return out
}
