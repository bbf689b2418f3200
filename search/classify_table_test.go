package search

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/shards"
)

// statusOf is what an engine error asks the HTTP layer to answer, 0 for
// none. It is the one place these tests read an error's class, so when
// errors carry kinds (internal/fault) only it and the tables' numbers change.
func statusOf(err error) int {
	var se *Error
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

// outcome is one shard's part of a fan-out: "ok", "400 msg", "404 msg",
// "down" (no answer) or "shed" (Shearch's own guard refused it).
func outcomeAnswer(i int, outcome string) shardAnswer {
	name := fmt.Sprintf("s%d", i)
	a := shardAnswer{shard: shards.Shard{Name: name}, status: ShardStatus{Name: name, Status: StatusOK}}
	code, msg, _ := strings.Cut(outcome, " ")
	switch code {
	case "ok":
		return a
	case "400":
		a.err = &shards.StatusError{Shard: name, Status: 400, Messages: []string{msg}}
	case "404":
		a.err = &shards.StatusError{Shard: name, Status: 404, Messages: []string{msg}}
	case "down":
		a.err = fmt.Errorf("shard %s: connection refused", name)
	case "shed":
		a.err = fmt.Errorf("asking %s: %w", name, &shards.OverloadedError{Shard: name, Status: 429, RetryAfter: 2 * time.Second, Reason: "queue full"})
	}
	a.status.Status, a.status.Error = StatusFailed, a.err.Error()
	return a
}

// TestClassify: the shards' refusals become the request's answer only
// when every shard that answered agrees; a shard with no answer never
// turns a search into a 404, and a shard missing a data bag others hold
// simply has no rows.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name     string
		outcomes []string
		status   int
		msg      string
		// after is each shard's status once classified.
		after string
	}{
		{name: "all answered", outcomes: []string{"ok", "ok"}, after: "ok ok"},
		{name: "a shard down is reported, not fatal", outcomes: []string{"ok", "down"}, after: "ok failed"},
		{name: "every shard down", outcomes: []string{"down", "down"}, after: "failed failed"},
		{name: "every shard: unknown index", outcomes: []string{"404 no index foo", "404 no such index"}, status: 404, msg: "no index foo"},
		{name: "a data bag only some shards hold", outcomes: []string{"404 no bag", "ok", "404 no bag"}, after: "ok ok ok"},
		{name: "not found where answered, a shard down", outcomes: []string{"404 no bag", "down"}, status: 502,
			msg: "not found on the shards that answered, and shard(s) failed: s1 (connection refused)"},
		{name: "every shard: bad query", outcomes: []string{"400 bad q", "400 bad q too"}, status: 400, msg: "bad q"},
		{name: "bad query and unknown index", outcomes: []string{"404 nope", "400 bad q"}, status: 400, msg: "bad q"},
		{name: "bad query on one shard only", outcomes: []string{"400 bad q", "ok"}, after: "failed ok"},
		{name: "bad query where answered, a shard down", outcomes: []string{"400 bad q", "down"}, status: 400, msg: "bad q"},
		{name: "a shed part sheds the request", outcomes: []string{"ok", "404 x", "shed"}, status: 429,
			msg: "Shearch is shedding load: shard s2 is overloaded (queue full); retry after 2s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var answers []shardAnswer
			for i, o := range tc.outcomes {
				answers = append(answers, outcomeAnswer(i, o))
			}
			err := classify(answers)
			if got := statusOf(err); got != tc.status {
				t.Errorf("status %d, want %d (err %v)", got, tc.status, err)
			}
			if tc.status != 0 {
				if err == nil || err.Error() != tc.msg {
					t.Errorf("error %v, want %q", err, tc.msg)
				}
				return
			}
			var after []string
			for _, a := range answers {
				after = append(after, a.status.Status)
				if (a.status.Status == StatusOK) != (a.err == nil) {
					t.Errorf("shard %s: status %s with error %v", a.shard.Name, a.status.Status, a.err)
				}
			}
			if got := strings.Join(after, " "); got != tc.after {
				t.Errorf("shards %q, want %q", got, tc.after)
			}
		})
	}
}

// TestShedRetryAfter: the Retry-After of a shed request is the shard
// guard's, whichever part was shed.
func TestShedRetryAfter(t *testing.T) {
	err := classify([]shardAnswer{outcomeAnswer(0, "ok"), outcomeAnswer(1, "shed")})
	var se *Error
	if !errors.As(err, &se) || se.RetryAfter != 2*time.Second {
		t.Fatalf("got %#v, want a shed error with Retry-After 2s", err)
	}
}
