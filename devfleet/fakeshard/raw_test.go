package fakeshard

import (
	"encoding/json"
	"testing"
)

// The byte-level lookup answers what decoding the node and looking the
// path up answers.
func TestRawLookupAgreesWithDecoding(t *testing.T) {
	g := newNodeGen(3)
	for i := 0; i < 20; i++ {
		_, raw, err := g.node(i)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range [][]string{{"name"}, {"ipaddress"}, {"ohai_time"}, {"kernel", "release"}, {"tags"}, {"ntp", "servers"},
			{"chef_environment"}, {"run_list"}, {"nope"}, {"kernel"}, {"packages", "curl", "version"}, {"kernel", "nope", "x"}} {
			got, err := rawLookup("node", raw, path)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(lookup("node", obj, path))
			var g1, w1 any
			json.Unmarshal(got, &g1)
			json.Unmarshal(want, &w1)
			gb, _ := json.Marshal(g1)
			wb, _ := json.Marshal(w1)
			if string(gb) != string(wb) {
				t.Errorf("node %d %v: raw %s, decoded %s", i, path, gb, wb)
			}
		}
	}
}
