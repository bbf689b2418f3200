package knife

import (
	"strings"
	"unicode/utf8"
)

// PP is Ruby's PP.pp(data, out) for plain data (what `-F pp` prints when it
// does not print a single attribute hash): Hash and Array inspect syntax,
// broken over lines by Ruby's PrettyPrint (Oppen's algorithm, width 79)
// when a group does not fit, and a final newline. Where knife's PP prints a
// Chef object's instance variables and address, PP prints the object's
// JSON document as a Hash (see plainData and README, "Differences from
// knife").
func PP(v any) ([]byte, error) {
	v = plainData(v)
	q := newPrettyPrint(79)
	q.pp(v)
	q.flush()
	return []byte(q.out.String() + "\n"), nil
}

// The types below are a transcription of Ruby 2.7's prettyprint.rb.

type ppGroup struct {
	depth      int
	breakables []*ppBreakable
	brk        bool
}

type ppText struct {
	objs  []string
	width int
}

type ppBreakable struct {
	sep    string
	width  int
	indent int
	group  *ppGroup
}

type prettyPrint struct {
	out         strings.Builder
	maxwidth    int
	outputWidth int
	bufferWidth int
	buffer      []any // *ppText or *ppBreakable
	groupStack  []*ppGroup
	queue       [][]*ppGroup
	indent      int
}

func newPrettyPrint(width int) *prettyPrint {
	q := &prettyPrint{maxwidth: width}
	root := &ppGroup{}
	q.groupStack = []*ppGroup{root}
	q.enq(root)
	return q
}

func (q *prettyPrint) enq(g *ppGroup) {
	for g.depth >= len(q.queue) {
		q.queue = append(q.queue, nil)
	}
	q.queue[g.depth] = append(q.queue[g.depth], g)
}

func (q *prettyPrint) deq() *ppGroup {
	for d, gs := range q.queue {
		for i := len(gs) - 1; i >= 0; i-- {
			if len(gs[i].breakables) > 0 {
				g := gs[i]
				q.queue[d] = append(gs[:i:i], gs[i+1:]...)
				g.brk = true
				return g
			}
		}
		for _, g := range gs {
			g.brk = true
		}
		q.queue[d] = nil
	}
	return nil
}

func (q *prettyPrint) deleteGroup(g *ppGroup) {
	gs := q.queue[g.depth]
	for i, x := range gs {
		if x == g {
			q.queue[g.depth] = append(gs[:i:i], gs[i+1:]...)
			return
		}
	}
}

func (q *prettyPrint) outputItem(item any) {
	switch x := item.(type) {
	case *ppText:
		for _, o := range x.objs {
			q.out.WriteString(o)
		}
		q.outputWidth += x.width
	case *ppBreakable:
		x.group.breakables = x.group.breakables[1:]
		if x.group.brk {
			q.out.WriteString("\n" + strings.Repeat(" ", x.indent))
			q.outputWidth = x.indent
		} else {
			if len(x.group.breakables) == 0 {
				q.deleteGroup(x.group)
			}
			q.out.WriteString(x.sep)
			q.outputWidth += x.width
		}
	}
}

func itemWidth(item any) int {
	switch x := item.(type) {
	case *ppText:
		return x.width
	case *ppBreakable:
		return x.width
	}
	return 0
}

func (q *prettyPrint) breakOutmostGroups() {
	for q.maxwidth < q.outputWidth+q.bufferWidth {
		g := q.deq()
		if g == nil {
			return
		}
		for len(g.breakables) > 0 {
			data := q.buffer[0]
			q.buffer = q.buffer[1:]
			q.outputItem(data)
			q.bufferWidth -= itemWidth(data)
		}
		for len(q.buffer) > 0 {
			t, ok := q.buffer[0].(*ppText)
			if !ok {
				break
			}
			q.buffer = q.buffer[1:]
			q.outputItem(t)
			q.bufferWidth -= t.width
		}
	}
}

func (q *prettyPrint) text(s string) {
	w := utf8.RuneCountInString(s)
	if len(q.buffer) == 0 {
		q.out.WriteString(s)
		q.outputWidth += w
		return
	}
	t, ok := q.buffer[len(q.buffer)-1].(*ppText)
	if !ok {
		t = &ppText{}
		q.buffer = append(q.buffer, t)
	}
	t.objs = append(t.objs, s)
	t.width += w
	q.bufferWidth += w
	q.breakOutmostGroups()
}

func (q *prettyPrint) breakable(sep string) {
	g := q.groupStack[len(q.groupStack)-1]
	if g.brk {
		q.flush()
		q.out.WriteString("\n" + strings.Repeat(" ", q.indent))
		q.outputWidth = q.indent
		q.bufferWidth = 0
		return
	}
	b := &ppBreakable{sep: sep, width: len(sep), indent: q.indent, group: g}
	g.breakables = append(g.breakables, b)
	q.buffer = append(q.buffer, b)
	q.bufferWidth += b.width
	q.breakOutmostGroups()
}

func (q *prettyPrint) group(indent int, open, close string, body func()) {
	q.text(open)
	g := &ppGroup{depth: q.groupStack[len(q.groupStack)-1].depth + 1}
	q.groupStack = append(q.groupStack, g)
	q.enq(g)
	q.indent += indent
	body()
	q.indent -= indent
	q.groupStack = q.groupStack[:len(q.groupStack)-1]
	if len(g.breakables) == 0 {
		q.deleteGroup(g)
	}
	q.text(close)
}

func (q *prettyPrint) flush() {
	for _, item := range q.buffer {
		q.outputItem(item)
	}
	q.buffer = nil
	q.bufferWidth = 0
}

func (q *prettyPrint) commaBreakable() {
	q.text(",")
	q.breakable(" ")
}

// pp is PP#pp for plain values: Hash#pretty_print (pp_hash) and
// Array#pretty_print; scalars print their inspect form.
func (q *prettyPrint) pp(v any) {
	type kv struct {
		key   string
		value any
	}
	var pairs []kv
	isHash := false
	switch x := v.(type) {
	case map[string]any:
		isHash = true
		for _, k := range sortedKeys(x) {
			pairs = append(pairs, kv{rubyInspectString(k), x[k]})
		}
	case Object:
		isHash = true
		for _, f := range x {
			pairs = append(pairs, kv{rubyInspectKey(f.Key), f.Value})
		}
	case symKeyed:
		isHash = true
		for _, f := range x {
			pairs = append(pairs, kv{":" + f.Key, f.Value})
		}
	}
	if isHash {
		q.group(1, "{", "}", func() {
			for i, p := range pairs {
				if i > 0 {
					q.commaBreakable()
				}
				q.group(0, "", "", func() {
					q.text(p.key)
					q.text("=>")
					q.group(1, "", "", func() {
						q.breakable("")
						q.pp(p.value)
					})
				})
			}
		})
		return
	}
	if arr := asArray(v); arr != nil || isEmptyArray(v) {
		q.group(1, "[", "]", func() {
			for i, e := range arr {
				if i > 0 {
					q.commaBreakable()
				}
				q.pp(e)
			}
		})
		return
	}
	if s, ok := v.(string); ok {
		// Ruby >= 2.5 prints a multi-line String as "line\n" + "line".
		if lines := strings.SplitAfter(s, "\n"); len(lines) > 1 && lines[len(lines)-1] != "" || len(lines) > 2 {
			if lines[len(lines)-1] == "" {
				lines = lines[:len(lines)-1]
			}
			q.group(0, "", "", func() {
				for i, l := range lines {
					if i > 0 {
						q.text(" +")
						q.breakable(" ")
					}
					q.text(rubyInspectString(l))
				}
			})
			return
		}
	}
	q.text(rubyInspect(v))
}
