package gnife

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/shearch/shearch/api"
)

// client returns the API client, built once from the global flags: the
// command's --stack and --partial go on every call, and each move to
// another Shearch URL is one line on stderr.
func (e *Env) client() (*api.Client, error) {
	if e.Client != nil {
		return e.Client, nil
	}
	cfg := api.Config{}
	if e.clientConfig != nil {
		cfg = *e.clientConfig
	}
	cfg.Stack, cfg.Deny = e.Stack, e.Deny
	cfg.Logger = slog.New(moveLines{e.IO.ErrOut})
	c, err := api.NewClient(&cfg)
	if err != nil {
		return nil, exitf(ExitConfig, "ERROR: %v", err)
	}
	e.Client = c
	return c, nil
}

func (e *Env) ctx() context.Context {
	if e.Context != nil {
		return e.Context
	}
	return context.Background()
}

// moveLines prints the client's failover lines as gnife's warnings:
// "WARNING: Shearch at A did not answer (why); trying B".
type moveLines struct{ w io.Writer }

func (m moveLines) Enabled(context.Context, slog.Level) bool { return m.w != nil }
func (m moveLines) WithAttrs([]slog.Attr) slog.Handler       { return m }
func (m moveLines) WithGroup(string) slog.Handler            { return m }

func (m moveLines) Handle(_ context.Context, r slog.Record) error {
	a := map[string]string{}
	r.Attrs(func(at slog.Attr) bool {
		a[at.Key] = at.Value.String()
		return true
	})
	if a["from"] == "" {
		_, err := fmt.Fprintf(m.w, "WARNING: %s\n", r.Message)
		return err
	}
	_, err := fmt.Fprintf(m.w, "WARNING: Shearch at %s did not answer (%s); trying %s\n", a["from"], a["reason"], a["to"])
	return err
}

// searchPages is gnife's one paging loop, knife's walk over a search
// (from start, rows at a time, until the result is in) on the client's
// cursor walk. Each shard that did not answer from Chef is warned about
// once; fail turns a refused search into the command's error.
func (e *Env) searchPages(index, query string, start, rows int, partial map[string][]string, fail func(error) error) ([]map[string]any, error) {
	cl, err := e.client()
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	warned := map[string]bool{}
	opts := &api.SearchOptions{Start: start, Rows: rows, Partial: partial, AllowPartial: true}
	for res, err := range cl.Pages(e.ctx(), index, query, opts) {
		if err != nil {
			return nil, fail(err)
		}
		for _, r := range res.Rows {
			var obj map[string]any
			if err := r.Decode(&obj); err != nil {
				return nil, err
			}
			out = append(out, obj)
		}
		for _, d := range res.Shards.Details {
			if d.Status != api.StatusOK && !warned[d.Name] {
				warned[d.Name] = true
				fmt.Fprint(e.IO.ErrOut, shardWarning(d))
			}
		}
	}
	return out, nil
}

// warnPartial prints a line for each shard a partial answer lacks and
// keeps the answer (knife's output and exit code stay as they are); any
// other error is returned.
func (e *Env) warnPartial(err error) error {
	var pe *api.PartialError
	if !errors.As(err, &pe) {
		return err
	}
	e.warnShards(pe.Shards.Details)
	return nil
}

// warnShards prints "WARNING: shard NAME failed: why" for each failed
// shard, by name.
func (e *Env) warnShards(details []api.ShardStatus) {
	var failed []api.ShardStatus
	for _, d := range details {
		if d.Status != api.StatusOK {
			failed = append(failed, d)
		}
	}
	sort.Slice(failed, func(i, j int) bool { return failed[i].Name < failed[j].Name })
	for _, d := range failed {
		fmt.Fprintf(e.IO.ErrOut, "WARNING: shard %s failed: %s\n", d.Name, d.Error)
	}
}

// collection is a Chef object collection gnife reads and writes as maps:
// "nodes", "roles", "environments", "clients", or "data" (the items of
// bag).
func (e *Env) collection(coll, bag string) (*api.Collection[map[string]any], error) {
	cl, err := e.client()
	if err != nil {
		return nil, err
	}
	switch coll {
	case "nodes":
		return api.Maps(cl.Nodes()), nil
	case "roles":
		return api.Maps(cl.Roles()), nil
	case "environments":
		return api.Maps(cl.Environments()), nil
	case "clients":
		return api.Maps(cl.Clients()), nil
	case "data":
		return cl.DataBags().Items(bag), nil
	}
	return nil, fmt.Errorf("gnife has no collection %q", coll)
}

// listNames lists a Chef list path's names for completion.
func listNames(ctx context.Context, cl *api.Client, path string) (map[string]string, error) {
	switch {
	case path == "/nodes":
		return cl.Nodes().List(ctx)
	case path == "/roles":
		return cl.Roles().List(ctx)
	case path == "/environments":
		return cl.Environments().List(ctx)
	case path == "/clients":
		return cl.Clients().List(ctx)
	case path == "/data":
		return cl.DataBags().List(ctx, "")
	case strings.HasPrefix(path, "/data/"):
		return cl.DataBags().List(ctx, strings.TrimPrefix(path, "/data/"))
	}
	return nil, fmt.Errorf("gnife cannot list %s", path)
}

// getObject reads one object of a collection (an item of bag for
// "data"), warning for shards that failed; a Shearch error becomes
// knife's HTTP error.
func (e *Env) getObject(coll, bag, name string) (map[string]any, error) {
	col, err := e.collection(coll, bag)
	if err != nil {
		return nil, err
	}
	obj, err := col.Get(e.ctx(), name)
	if err = e.warnPartial(err); err != nil {
		return nil, httpError(err)
	}
	return obj, nil
}

// shardsJSON decodes keeping numbers as json.Number, as knife's output
// needs their text.
func shardsJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}
