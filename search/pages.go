package search

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/shearch/shearch/internal/extsort"
	"github.com/shearch/shearch/internal/fanout"
	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/shards"
)

// The data path keeps memory bounded by the page, not the fleet. A shard
// whose matches fit in one page answers with its objects in the first
// fan-out; a shard with more is read names first (name, ohai_time: what
// ordering needs), and a page's objects are then read from the shards
// that hold them, a chunk of names per request.

// fullAnswer is a whole merged answer, before paging. Rows of shards that
// had more than a page carry no data: fillObjects reads it per page.
type fullAnswer struct {
	ord    *order
	shards ShardsSummary
	// dups is sorted by name.
	dups []Duplicate
	// size is about how many bytes the answer holds, for the caches.
	size int
}

const (
	defaultFirstPageBytes = 16 << 20
	defaultFetchChunk     = 200
)

// shardEach is what the first fan-out asks each shard, each row handed
// to fn as its page is read. Partial searches and small indexes are one pass. A whole-node query
// asks for the first page; a shard with more than that is asked for
// names and ohai_time only, right away, so a slow shard does not wait
// for the others.
func (e *Engine) shardEach(req *plan, targets int) func(context.Context, *shards.Client, func(shards.Row) error) error {
	if data := req.names; data != nil {
		return func(ctx context.Context, c *shards.Client, fn func(shards.Row) error) error {
			names, err := c.Names(ctx, shards.CollectionPath(shards.Nodes))
			if fanout.IsClientError(err) {
				// A shard that will not list (a key without that right, a
				// server without the endpoint) is searched as any other.
				return c.SearchEach(ctx, req.Index, req.Query, req.Partial, fn)
			}
			if err != nil {
				return err
			}
			for _, name := range names {
				if err := fn(shards.Row{Name: name, Data: data(name)}); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if req.Partial != nil || req.Index != "node" {
		return func(ctx context.Context, c *shards.Client, fn func(shards.Row) error) error {
			return c.SearchEach(ctx, req.Index, req.Query, req.Partial, fn)
		}
	}
	budget := e.FirstPageBytes / max(targets, 1)
	// A request for a small page (a report's 20 rows) needs at most
	// start+rows rows of any shard: a shard with no more than that
	// answers in this one round trip; one with more is read names first.
	// Asking for the shard's whole first page would carry every match's
	// object (500 nodes, 5 MB, for 20 rows) only to drop it.
	size, page := 0, e.PageSize
	if page <= 0 {
		page = shards.DefaultPageSize
	}
	if req.Rows > 0 && req.Cursor == "" && req.Start+req.Rows < page {
		size = req.Start + req.Rows + 1
	}
	names := func(ctx context.Context, c *shards.Client, fn func(shards.Row) error) error {
		return c.SearchEach(ctx, req.Index, req.Query, map[string][]string{}, func(r shards.Row) error {
			return fn(shards.Row{Name: r.Name, Ohai: r.Ohai})
		})
	}
	return func(ctx context.Context, c *shards.Client, fn func(shards.Row) error) error {
		if size > 0 && c.Guard != nil && c.Guard.Idle() && c.Guard.Reachable() {
			return smallPageOrNames(ctx, c, req, size, budget, names, fn)
		}
		rows, complete, err := c.FirstPage(ctx, req.Index, req.Query, nil, size, budget)
		if err != nil {
			return err
		}
		if complete {
			return each(rows, fn)
		}
		return names(ctx, c, fn)
	}
}

// fetchAnswer gathers the answer through the sorter (so the fan-out
// holds at most search.sort_memory_bytes of rows) and keeps it as a
// compact order for paging.
func (e *Engine) fetchAnswer(ctx context.Context, req *plan) (*fullAnswer, error) {
	g, err := e.gather(ctx, req)
	if err != nil {
		return nil, err
	}
	defer g.close()
	b := newOrderBuilder(e.MaxAnswerBytes, g.held.count())
	b.most = g.held.keptBytes()
	// The order copies what it keeps of each row: the merge's rows go
	// to it as they are.
	if err := g.each(ctx, b.addRow); err != nil {
		return nil, err
	}
	m := &fullAnswer{ord: b.done(), shards: g.sum, dups: g.duplicates()}
	m.size = m.ord.size()
	for _, d := range m.dups {
		m.size += extsort.RowOverhead + len(d.Name) + 16*len(d.Stale)
	}
	return m, nil
}

// pageDuplicates lists the duplicates of the page's rows. A first page
// also carries those whose every hit was a stale copy (no row at all), so
// they are reported once. The count covers the whole answer.
func (m *fullAnswer) pageDuplicates(pg []Row, first bool) ([]Duplicate, int) {
	out := []Duplicate{}
	if len(m.dups) == 0 {
		return out, 0
	}
	in := make(map[string]bool, len(pg))
	for _, r := range pg {
		in[r.Name] = true
	}
	for _, d := range m.dups {
		if in[d.Name] || first && !m.has(d.Name) {
			out = append(out, d)
		}
	}
	return out, len(m.dups)
}

// has reports a row named name.
func (m *fullAnswer) has(name string) bool { return m.ord.has(name) }

// pageObjects is the rows lo..hi of m with their objects. Callers that
// want the same page of the same answer at once share one read: copies
// of a query that joined one fan-out take no shard slots of their own.
func (e *Engine) pageObjects(ctx context.Context, req *plan, m *fullAnswer, lo, hi int) ([]Row, error) {
	rows := m.ord.rows(lo, hi)
	if !needObjects(rows) {
		return rows, nil
	}
	key := fmt.Sprintf("page\x00%p\x00%d\x00%d", m, lo, hi)
	v, err, _ := e.shared.Do(ctx, key, e.RequestTimeout(), func(ctx context.Context) (any, error) {
		return e.fillObjects(ctx, req, rows)
	})
	if err != nil {
		return nil, err
	}
	// Each caller writes on its rows (partial URLs): its own slice.
	return append([]Row(nil), v.([]Row)...), nil
}

func needObjects(rows []Row) bool {
	for _, r := range rows {
		if r.Source == SourceChef && len(r.Data) == 0 {
			return true
		}
	}
	return false
}

// fillObjects reads the objects of rows that carry names only, each from
// the shard whose copy won the merge: one name:(a OR b ...) search per
// chunk of names per shard, never one GET per node. Consul rows have no
// Chef object and stay as they are. A node gone since the names pass is
// left out of the page.
func (e *Engine) fillObjects(ctx context.Context, req *plan, rows []Row) ([]Row, error) {
	need := map[string][]int{}
	for i, r := range rows {
		if r.Source == SourceChef && len(r.Data) == 0 {
			need[r.Shard] = append(need[r.Shard], i)
		}
	}
	if len(need) == 0 {
		return rows, nil
	}
	out := make([]Row, len(rows))
	copy(out, rows)
	// The plan's shards, the same ones its fan-out asked (an answer from
	// the cache was made for the same stack and shards). Every client
	// first: a shard that left fails the page before any read starts, so
	// no read is left running behind the error.
	if err := req.resolve(e); err != nil {
		return nil, err
	}
	clients := make(map[string]*shards.Client, len(need))
	for shard := range need {
		c, err := req.client(e, shard)
		if err != nil {
			return nil, err
		}
		clients[shard] = c
	}
	// One failed chunk stops the others: the page fails as a whole.
	g, ctx := errgroup.WithContext(shards.WithShardTimeout(ctx, e.Timeout))
	g.SetLimit(e.Concurrency)
	chunk := e.FetchChunk
	for shard, idx := range need {
		c := clients[shard]
		for lo := 0; lo < len(idx); lo += chunk {
			part := idx[lo:min(lo+chunk, len(idx))]
			g.Go(func() error { return fetchChunk(ctx, c, out, part, !e.FetchByGet) })
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	kept := out[:0]
	for _, r := range out {
		if r.Source != SourceChef || len(r.Data) > 0 {
			kept = append(kept, r)
		}
	}
	return kept, nil
}

// fetchChunk fills out[i].Data for the rows at idx, all held by c.
func fetchChunk(ctx context.Context, c *shards.Client, out []Row, idx []int, bySearch bool) error {
	want := make(map[string]int, len(idx))
	var names []string
	for _, i := range idx {
		want[out[i].Name] = i
		names = append(names, out[i].Name)
	}
	q, _ := nameQuery(names)
	if q != "" && bySearch {
		err := c.SearchEach(ctx, "node", q, nil, func(r shards.Row) error {
			if i, ok := want[r.Name]; ok && len(out[i].Data) == 0 {
				out[i].Data, out[i].Ohai = r.Data, r.Ohai
				return chargePage(ctx, len(r.Data))
			}
			return nil
		})
		if perr := pageOver(err); perr != nil {
			return perr
		}
		// A shard that refuses the name query (one that needs local
		// evaluation may) has its nodes read one by one below.
		if err != nil && !fanout.IsClientError(err) {
			if ferr := fanout.RequestFailure(ctx, err); ferr != nil {
				return ferr
			}
			return fault.Errorf(fault.ShardsFailed, "reading nodes from shard %s: %v", c.Shard.Name, err)
		}
	}
	// Names the grammar cannot spell, or that the search did not find
	// (renamed or deleted meanwhile, or a server that analyses names),
	// are read one by one: rare, and a 404 only drops the row.
	for _, i := range idx {
		if len(out[i].Data) > 0 {
			continue
		}
		p, err := shards.ObjectPath(shards.Nodes, out[i].Name)
		if err != nil {
			return fault.Errorf(fault.ShardsFailed, "shard %s: %v", c.Shard.Name, err)
		}
		raw, err := c.Do(ctx, methodGet, p, nil)
		if fanout.IsClientError(err) {
			continue
		}
		if err != nil {
			if ferr := fanout.RequestFailure(ctx, err); ferr != nil {
				return ferr
			}
			return fault.Errorf(fault.ShardsFailed, "reading node %s: %v", out[i].Name, err)
		}
		out[i].Data = raw
		if err := chargePage(ctx, len(raw)); err != nil {
			return err
		}
	}
	return nil
}

// nameQuery is name:(a OR b ...) for the names the query grammar can
// spell, with its special characters escaped; odd lists the others.
func nameQuery(names []string) (q string, odd []string) {
	var b strings.Builder
	n := 0
	for _, name := range names {
		t, ok := queryTerm(name)
		if !ok {
			odd = append(odd, name)
			continue
		}
		if n == 0 {
			b.WriteString("name:(")
		} else {
			b.WriteString(" OR ")
		}
		b.WriteString(t)
		n++
	}
	if n == 0 {
		return "", odd
	}
	b.WriteByte(')')
	return b.String(), odd
}

// queryTerm escapes a name as one term of Chef's query grammar: ASCII
// letters, digits and _ . @ + - as they are, its special characters
// behind a backslash (so * and ? are not wildcards). A name that starts
// with @ + - or holds any other byte cannot be a term.
func queryTerm(name string) (string, bool) {
	if name == "" {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '.':
			b.WriteByte(c)
		case c == '@' || c == '+' || c == '-':
			if i == 0 {
				return "", false
			}
			b.WriteByte(c)
		case strings.IndexByte(`[]\/"!(){}^~*?:`, c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	return b.String(), true
}

// orderCache is the cache of merged orders reused by later pages.

// Stream emits every row of the merged answer from Start, in order, then
// returns the answer without rows. Objects are read a batch at a time
// from the shards that hold them, so memory holds names and one batch,
// and a client that reads slowly slows the reads instead of growing
// Shearch's memory. begin, when not nil, hears the shard summary once
// the merge is done and before the first row, so an HTTP answer can carry
// it in its headers.
func (e *Engine) Stream(ctx context.Context, r Request, begin func(ShardsSummary), emit func(Row) error) (*Result, error) {
	req, err := e.newPlan(r)
	if err != nil {
		return nil, err
	}
	ctx = shards.WithTicket(ctx)
	switch req.Order {
	case OrderNone:
		return e.streamUnordered(ctx, req, begin, emit)
	case "", OrderName:
	default:
		return nil, fault.Errorf(fault.BadRequest, "order=%s: use name (the default) or none", req.Order)
	}
	// A merged answer already held (the answer cache, or a walk's order)
	// is streamed from memory; anything else goes through the sorter, so
	// a stream of a whole fleet holds a bounded part of it.
	m, ok := e.heldAnswer(req)
	if !ok {
		return e.streamSorted(ctx, req, begin, emit)
	}
	if begin != nil {
		begin(m.shards)
	}
	lo, hi := window(m.ord.len(), req.Start, m.ord.len()+1)
	if req.Rows > 0 && req.Rows < hi-lo {
		hi = lo + req.Rows
	}
	withURL := e.rowURLs(req)
	err = e.emitFrom(ctx, req, func(context.Context) ([]Row, bool, error) {
		n := min(streamBatch, hi-lo)
		out := m.ord.rows(lo, lo+n)
		lo += n
		return out, lo < hi, nil
	}, func(r Row) error { withURL(&r); return emit(r) })
	if err != nil {
		return nil, err
	}
	res := &Result{Total: m.ord.len(), Start: req.Start, Rows: []Row{}, Shards: m.shards, Duplicates: m.dups, DuplicatesTotal: len(m.dups), Cached: true}
	if res.Duplicates == nil {
		res.Duplicates = []Duplicate{}
	}
	return res, nil
}

// streamBatch is how many rows a stream reads ahead: a Chef page.
const streamBatch = shards.DefaultPageSize

// emitFrom emits the batches produce gives (more says another follows),
// each with its objects read, reading the next batch while the current
// one is written, so the shards and the client work side by side; at
// most two batches are held. produce is called from one goroutine at a
// time.
func (e *Engine) emitFrom(ctx context.Context, req *plan, produce func(context.Context) ([]Row, bool, error), emit func(Row) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type filled struct {
		rows []Row
		more bool
		err  error
	}
	// Buffered: a batch read ahead never blocks its goroutine, even
	// when the client has gone.
	next := make(chan filled, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	fetch := func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows, more, err := produce(ctx)
			if err == nil {
				rows, err = e.fillObjects(ctx, req, rows)
			}
			next <- filled{rows, more, err}
		}()
	}
	fetch()
	for {
		f := <-next
		if f.err != nil {
			return f.err
		}
		if f.more {
			fetch()
		}
		for _, r := range f.rows {
			if err := emit(r); err != nil {
				// The client has gone: stop the batch being read now,
				// before waiting for it (the deferred Wait runs first).
				cancel()
				return err
			}
		}
		if !f.more {
			return nil
		}
	}
}

// rowURLs returns a function that writes on a partial-search row the URL
// of its object on its shard, as Chef's partial search answers it. Rows
// do not carry it while merged: it is the shard's URL and the name.
func (e *Engine) rowURLs(req *plan) func(*Row) {
	if req.Partial == nil {
		return func(*Row) {}
	}
	// Each shard's collection URL once; a row adds its name.
	prefixes := map[string]string{}
	for _, s := range e.Topology.Shards("all") {
		prefixes[s.Name] = objectURL(s.URL, req.Index, "")
	}
	bagItem := ""
	if collection(req.Index) == "" {
		bagItem = "data_bag_item_" + req.Index + "_"
	}
	return func(r *Row) {
		if r.Source == SourceChef && r.URL == "" {
			r.URL = prefixes[r.Shard] + url.PathEscape(strings.TrimPrefix(r.Name, bagItem))
		}
	}
}

func collection(index string) string {
	switch index {
	case "node":
		return "nodes"
	case "role":
		return "roles"
	case "client":
		return "clients"
	case "environment":
		return "environments"
	}
	return ""
}

// objectURL is where an object lives under a Chef server's base URL.
func objectURL(base, index, name string) string {
	coll := collection(index)
	if coll == "" {
		coll = "data/" + url.PathEscape(index)
		name = strings.TrimPrefix(name, "data_bag_item_"+index+"_")
	}
	return strings.TrimSuffix(base, "/") + "/" + coll + "/" + url.PathEscape(name)
}
