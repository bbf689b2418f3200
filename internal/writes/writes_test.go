package writes

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/shards"
)

func weighted(ws ...int64) []shards.Shard {
	out := make([]shards.Shard, len(ws))
	for i, w := range ws {
		out[i] = shards.Shard{Name: fmt.Sprintf("chef-%d", len(ws)-i), Weight: &w} // names out of order on purpose
	}
	return out
}

func TestPickShardFollowsTheWeights(t *testing.T) {
	list := weighted(0, 30, 10) // chef-3: 0, chef-2: 30, chef-1: 10
	counts := map[string]int{}
	for i := 0; i < 4000; i++ {
		name := fmt.Sprintf("node-%d.example.com", i)
		s, err := PickShard(name, list)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := PickShard(name, []shards.Shard{list[2], list[0], list[1]})
		if again.Name != s.Name {
			t.Fatalf("%s: %s, then %s with the shards listed in another order", name, s.Name, again.Name)
		}
		counts[s.Name]++
	}
	if counts["chef-3"] != 0 {
		t.Errorf("a weight-0 shard took %d nodes", counts["chef-3"])
	}
	// 3:1 expected; a wide band so the check is about the rule, not luck.
	if r := float64(counts["chef-2"]) / float64(counts["chef-1"]); r < 2.5 || r > 3.5 {
		t.Errorf("weights 30:10 gave %v", counts)
	}
}

func TestPickShardAllZeroIs503(t *testing.T) {
	_, err := PickShard("x", weighted(0, 0))
	var se *fault.Error
	if !errors.As(err, &se) || se.Kind != fault.Unavailable {
		t.Fatalf("all weights 0: %v, want a 503", err)
	}
	s, err := PickShard("x", []shards.Shard{{Name: "static-1"}, {Name: "static-2"}})
	if err != nil || s.Name == "" {
		t.Fatalf("shards without weights count as weight 1: %v %v", s, err)
	}
}

func outs(specs ...string) []shardWrite {
	var res []shardWrite
	for i, sp := range specs {
		w := shardWrite{out: Outcome{Name: fmt.Sprintf("chef-%d", i+1)}}
		switch sp {
		case "ok":
			w.out.Status, w.out.Code = api.WriteOK, 200
		case "fail":
			w.out.Status, w.out.Error = api.WriteFailed, "connection refused"
		default:
			var code int
			fmt.Sscan(sp, &code)
			w.out.Status, w.out.Code, w.out.Error = api.WriteRefused, code, http.StatusText(code)
		}
		res = append(res, w)
	}
	return res
}

func TestAggregateWrites(t *testing.T) {
	role := ObjectRef{Kind: KindRole, Name: "web"}
	bag := ObjectRef{Kind: KindDataBag, Name: "users"}
	for _, c := range []struct {
		method string
		ref    ObjectRef
		outs   []string
		want   Verdict
		code   int
	}{
		{"PUT", role, []string{"ok", "ok", "ok"}, WroteAll, 0},
		{"POST", role, []string{"ok", "ok", "ok"}, WroteAll, 0},
		{"PUT", role, []string{"ok", "fail", "ok"}, WroteSome, 0},
		{"PUT", role, []string{"fail", "fail", "fail"}, WroteNone, 0},
		{"PUT", role, []string{"404", "404", "404"}, AllRefused, 404},
		{"PUT", role, []string{"404", "fail", "404"}, AllRefused, 404}, // a client then POSTs, which names the failed shard
		{"DELETE", role, []string{"404", "fail", "404"}, WroteNone, 0},
		{"PUT", role, []string{"400", "400", "400"}, AllRefused, 400},
		{"PUT", role, []string{"400", "fail", "400"}, WroteNone, 0},
		{"POST", role, []string{"409", "409", "409"}, AllRefused, 409},
		{"POST", role, []string{"ok", "409", "ok"}, WroteSome, 0},
		{"POST", bag, []string{"ok", "409", "ok"}, WroteAll, 0},
		{"DELETE", role, []string{"ok", "404", "ok"}, WroteAll, 0},
		{"DELETE", role, []string{"404", "404", "404"}, AllRefused, 404},
		{"DELETE", role, []string{"404", "fail", "ok"}, WroteSome, 0},
	} {
		wr := aggregate(c.method, c.ref, outs(c.outs...))
		if wr.Verdict != c.want || wr.ShardCode != c.code || len(wr.Outcomes) != len(c.outs) {
			t.Errorf("%s %s %v: verdict %d code %d, want %d code %d (%+v)", c.method, c.ref, c.outs, wr.Verdict, wr.ShardCode, c.want, c.code, wr.Outcomes)
		}
		if wr.Verdict != WroteAll && wr.Message == "" {
			t.Errorf("%s %s %v: verdict %d without a message", c.method, c.ref, c.outs, wr.Verdict)
		}
	}
}

func TestObjectRefChecksNames(t *testing.T) {
	for _, r := range []ObjectRef{{Kind: KindRole, Name: "../x"}, {Kind: KindNode, Name: "a b"}, {Kind: KindDataBagItem, Name: "users", Item: "a/b"}, {Kind: "client", Name: "x"}} {
		var se *fault.Error
		if err := r.Check(); !errors.As(err, &se) || se.Kind != fault.BadRequest {
			t.Errorf("%+v: %v, want a 400", r, err)
		}
	}
	if err := (ObjectRef{Kind: KindDataBagItem, Name: "users", Item: "alice"}).Check(); err != nil {
		t.Error(err)
	}
}
