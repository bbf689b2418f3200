package fanout

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/devfleet/fakeshard"
	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/shards"
)

// fakeTargets are n shards that no call of these tests reaches over the
// network: the calls are fakes that look at the client's shard name.
func fakeTargets(names ...string) []shards.Shard {
	out := make([]shards.Shard, len(names))
	for i, n := range names {
		out[i] = shards.Shard{Name: n, Stack: "prod"}
	}
	return out
}

// fakeClient is a client that is never used to send anything.
func fakeClient(s shards.Shard) (*shards.Client, error) { return &shards.Client{Shard: s}, nil }

// A shard that times out is named by its answer, its status and its
// error; the shard's own timeout wins over the fan-out's, and the other
// shards answer as if nothing happened.
func TestDoTimeoutNamesTheTarget(t *testing.T) {
	key, err := fakeshard.WriteKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fast := fakeshard.New(fakeshard.Options{}).Start()
	defer fast.Close()
	// The hanging shard answers when its request is cancelled, never
	// before: the outcome does not depend on the machine's speed.
	slow := fakeshard.New(fakeshard.Options{Latency: time.Hour}).Start()
	defer slow.Close()
	// As the engine makes them: the shard's clock runs while its
	// requests hold one of the guard's slots.
	guards := shards.NewGuards(shards.DefaultGuardConfig, nil)
	client := func(s shards.Shard) (*shards.Client, error) {
		c, err := shards.NewClient(s)
		if err == nil {
			c.Guard = guards.For(s.Name)
		}
		return c, err
	}
	for _, tc := range []struct {
		name      string
		own, opts time.Duration
		want      string
	}{
		{"fan-out timeout", 0, 50 * time.Millisecond, "timed out after 50ms (shards.timeout)"},
		{"shard's own timeout", 40 * time.Millisecond, time.Hour, "timed out after 40ms (shards.timeout)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hanging := slow.Config("chef-slow", "prod", key)
			hanging.Timeout = tc.own
			targets := []shards.Shard{fast.Config("chef-fast", "prod", key), hanging}
			var reported sync.Map
			answers := Do(context.Background(), targets, func(ctx context.Context, c *shards.Client) ([]string, error) {
				return c.Names(ctx, shards.CollectionPath(shards.Roles))
			}, Options{Timeout: tc.opts, Client: client, OnShardResult: func(s string, err error) { reported.Store(s, err) }})
			if a := answers[0]; a.Err != nil || a.Status.Status != api.StatusOK || a.Shard.Name != "chef-fast" {
				t.Errorf("fast shard: %+v", a)
			}
			a := answers[1]
			var te *shards.TimeoutError
			if !errors.As(a.Err, &te) || te.Shard != "chef-slow" {
				t.Fatalf("slow shard's error %v: want a timeout naming chef-slow", a.Err)
			}
			if a.Status.Name != "chef-slow" || a.Status.Status != api.StatusFailed || a.Status.Error != tc.want {
				t.Errorf("slow shard's status %+v, want failed with %q", a.Status, tc.want)
			}
			// A timeout is the shard's health: the topology hears it.
			if err, ok := reported.Load("chef-slow"); !ok || err == nil {
				t.Errorf("timeout not reported: %v", err)
			}
		})
	}
}

// One shard failing does not cancel the others: a shard still working
// when another has failed finishes with a live context.
func TestDoFailureDoesNotCancelOthers(t *testing.T) {
	badDone := make(chan struct{})
	answers := Do(context.Background(), fakeTargets("bad", "good"), func(ctx context.Context, c *shards.Client) (int, error) {
		if c.Shard.Name == "bad" {
			return 0, &shards.StatusError{Shard: "bad", Status: 500}
		}
		<-badDone // the failure has been handled and reported
		return 7, ctx.Err()
	}, Options{Client: fakeClient, OnShardResult: func(s string, err error) {
		if s == "bad" {
			close(badDone)
		}
	}})
	if answers[1].Err != nil || answers[1].Value != 7 {
		t.Errorf("good shard: %+v", answers[1])
	}
	if answers[0].Status.Error != "HTTP 500: Internal Server Error" {
		t.Errorf("bad shard: %+v", answers[0].Status)
	}
}

// A part shed by Shearch's own limits cancels the parts still waiting,
// and the whole request's answer is the shed (Overloaded, Retry-After);
// shedding says nothing of the shards' health.
func TestDoShedPartShedsAll(t *testing.T) {
	var reported atomic.Int32
	answers := Do(context.Background(), fakeTargets("shed", "waiting"), func(ctx context.Context, c *shards.Client) (struct{}, error) {
		if c.Shard.Name == "shed" {
			return struct{}{}, &shards.OverloadedError{Shard: "shed", Status: 429, Reason: "queue full", RetryAfter: 2 * time.Second}
		}
		select {
		case <-ctx.Done(): // the shed ends this wait
			return struct{}{}, ctx.Err()
		case <-time.After(time.Minute): // a bound on a broken Do, not a timing
			return struct{}{}, errors.New("still waiting: the shed did not cancel the other parts")
		}
	}, Options{Client: fakeClient, OnShardResult: func(string, error) { reported.Add(1) }})
	if !errors.Is(answers[1].Err, context.Canceled) {
		t.Errorf("waiting part: %v, want cancelled", answers[1].Err)
	}
	err := Classify(answers)
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Kind != fault.Overloaded || fe.RetryAfter != 2*time.Second {
		t.Fatalf("classified as %v, want the shed", err)
	}
	if want := "Shearch is shedding load: shard shed is overloaded (queue full); retry after 2s"; fe.Message != want {
		t.Errorf("message %q, want %q", fe.Message, want)
	}
	if n := reported.Load(); n != 0 {
		t.Errorf("%d outcomes reported as the shards' health, want none", n)
	}
}

// Limit bounds the calls under way; a client that cannot be made fails
// its target alone.
func TestDoLimitAndClientError(t *testing.T) {
	var now, most atomic.Int32
	client := func(s shards.Shard) (*shards.Client, error) {
		if s.Name == "keyless" {
			return nil, errors.New("no key for keyless: set client_key")
		}
		return fakeClient(s)
	}
	answers := Do(context.Background(), fakeTargets("a", "keyless", "b", "c", "d"), func(ctx context.Context, c *shards.Client) (string, error) {
		n := now.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		defer now.Add(-1)
		return c.Shard.Name, nil
	}, Options{Limit: 2, Client: client})
	if m := most.Load(); m > 2 {
		t.Errorf("%d calls at once, want at most 2", m)
	}
	for i, want := range []string{"a", "", "b", "c", "d"} {
		if answers[i].Value != want || answers[i].Shard.Name != fakeTargets("a", "keyless", "b", "c", "d")[i].Name {
			t.Errorf("answer %d: %+v, want value %q in the targets' order", i, answers[i], want)
		}
	}
	if answers[1].Status.Error != "no key for keyless: set client_key" {
		t.Errorf("keyless: %+v", answers[1].Status)
	}
}

func answer(name string, err error) Answer[[]string] {
	a := Start[[]string](shards.Shard{Name: name, Stack: "prod"})
	a.Fail(err)
	return a
}

func notFound(s string) error {
	return &shards.StatusError{Shard: s, Status: 404, Messages: []string{"Cannot find data bag x"}}
}

func badQuery(s string) error {
	return &shards.StatusError{Shard: s, Status: 400, Messages: []string{"invalid query"}}
}

func down(s string) error {
	return &shards.NetError{Shard: s, Err: errors.New("connection refused (is the Chef server up?)")}
}

// Classify: a refusal from every shard is the request's; a 404 from some
// is that shard's empty answer; a 404 from all that answered while
// others failed is not a 404.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []Answer[[]string]
		kind    fault.Kind
		message string
		ok      int // shards ok after classification
	}{
		{"all ok", []Answer[[]string]{answer("a", nil), answer("b", nil)}, 0, "", 2},
		{"404 from all", []Answer[[]string]{answer("a", notFound("a")), answer("b", notFound("b"))}, fault.NotFound, "Cannot find data bag x", 0},
		{"400 from all", []Answer[[]string]{answer("a", badQuery("a")), answer("b", badQuery("b"))}, fault.BadRequest, "invalid query", 0},
		{"400 and 404", []Answer[[]string]{answer("a", badQuery("a")), answer("b", notFound("b"))}, fault.BadRequest, "invalid query", 0},
		{"404 from some", []Answer[[]string]{answer("a", nil), answer("b", notFound("b"))}, 0, "", 2},
		{"404 from those that answered", []Answer[[]string]{answer("a", notFound("a")), answer("b", down("b"))}, fault.ShardsFailed,
			"not found on the shards that answered, and shard(s) failed: b (connection refused (is the Chef server up?))", 0},
		{"one down", []Answer[[]string]{answer("a", nil), answer("b", down("b"))}, 0, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Classify(tc.answers)
			if tc.kind == 0 {
				if err != nil {
					t.Fatalf("classified as %v, want none", err)
				}
			} else {
				var fe *fault.Error
				if !errors.As(err, &fe) || fe.Kind != tc.kind || fe.Message != tc.message {
					t.Fatalf("classified as %#v, want %v %q", err, tc.kind, tc.message)
				}
			}
			if s := Summarize(tc.answers); s.OK != tc.ok || s.OK+s.Failed != len(tc.answers) {
				t.Errorf("summary %+v, want %d ok", s, tc.ok)
			}
		})
	}
}

// The summary counts each shard once, in the answers' order, with the
// rows Count gave it; a shard the fallback answered is not ok.
func TestSummarize(t *testing.T) {
	answers := []Answer[[]string]{answer("a", nil), answer("b", down("b")), answer("c", nil)}
	answers[0].Value = []string{"x", "y"}
	answers[2].Status.Status = api.StatusFallback
	Count(answers, func(v []string) int { return len(v) })
	s := Summarize(answers)
	if s.Total != 3 || s.OK != 1 || s.Failed != 2 {
		t.Errorf("summary %d total, %d ok, %d failed; want 3, 1, 2", s.Total, s.OK, s.Failed)
	}
	var got []string
	for _, d := range s.Details {
		got = append(got, fmt.Sprintf("%s:%s:%d", d.Name, d.Status, d.Rows))
	}
	if want := "[a:ok:2 b:failed:0 c:fallback:0]"; fmt.Sprint(got) != want {
		t.Errorf("details %v, want %s", got, want)
	}
	if s.Details[1].Error != "connection refused (is the Chef server up?)" {
		t.Errorf("b's error %q keeps the shard's name or lost the cause", s.Details[1].Error)
	}
	if got := Answered(answers); len(got) != 2 || got[0].Name != "a" || got[1].Name != "c" {
		t.Errorf("answered %v, want a and c", got)
	}
}

// Without leaves skipped shards out; InShardOrder puts the skipped
// answers back where their shards stand.
func TestWithoutAndInShardOrder(t *testing.T) {
	targets := fakeTargets("a", "b", "c")
	skipped := []Answer[[]string]{answer("b", down("b"))}
	rest := Without(targets, skipped)
	if len(rest) != 2 || rest[0].Name != "a" || rest[1].Name != "c" {
		t.Fatalf("without b: %v", rest)
	}
	all := InShardOrder(targets, append([]Answer[[]string]{answer("a", nil), answer("c", nil)}, skipped...))
	for i, want := range []string{"a", "b", "c"} {
		if all[i].Shard.Name != want {
			t.Errorf("answer %d is %s, want %s", i, all[i].Shard.Name, want)
		}
	}
	// Not one answer per target: left as it is.
	if got := InShardOrder(targets, skipped); len(got) != 1 {
		t.Errorf("got %d answers, want the 1 given", len(got))
	}
}
