package extsort

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// sortRowsInput is 8 shards' 500 partial rows each, in the order the
// shards' pages interleave them.
func sortRowsInput(n int) []Row {
	r := rand.New(rand.NewPCG(1, 2))
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = Row{Name: fmt.Sprintf("node-%06d.prod.example.com", r.IntN(1000000)), Shard: fmt.Sprintf("s%02d", i%8),
			Source: "chef", Data: []byte(`{"ipaddress":"10.0.0.1","name":"x"}`)}
	}
	return rows
}

func TestSortRows(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 10, 4000} {
		rows := sortRowsInput(n)
		rows = append(rows, rows[:n/3]...) // equal names, other shards below
		for i := range rows[n:] {
			rows[n+i].Shard = "t"
		}
		want := slices.Clone(rows)
		slices.SortStableFunc(want, Compare)
		Sort(rows)
		for i := range rows {
			if rows[i].Name != want[i].Name || rows[i].Shard != want[i].Shard {
				t.Fatalf("n=%d: row %d is %s/%s, want %s/%s", n, i, rows[i].Name, rows[i].Shard, want[i].Name, want[i].Shard)
			}
		}
	}
}

// BenchmarkSortRows sorts a 20-row partial page's 8x500 rows, as the rows
// themselves were sorted (rows) and as Sort does (indices). With
// gc-marking, a GC cycle runs all along, as it mostly does under a busy
// fan-out: that is when moving a row costs write barriers.
func BenchmarkSortRows(b *testing.B) {
	in := sortRowsInput(4000)
	for _, gc := range []bool{false, true} {
		for _, tc := range []struct {
			name string
			sort func([]Row)
		}{{"rows", func(r []Row) { slices.SortFunc(r, Compare) }}, {"indices", Sort}} {
			name := tc.name
			if gc {
				name += "/gc-marking"
			}
			b.Run(name, func(b *testing.B) {
				stop := make(chan struct{})
				done := make(chan struct{})
				if gc {
					go func() {
						defer close(done)
						for {
							select {
							case <-stop:
								return
							default:
								runtime.GC()
							}
						}
					}()
				} else {
					close(done)
				}
				rows := make([]Row, len(in))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					copy(rows, in)
					tc.sort(rows)
				}
				close(stop)
				<-done
			})
		}
	}
}
