package shards

import (
	"encoding/json"
	"strings"
	"testing"
)

var validCases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e10`, `-1E-2`, `true`, `false`, `null`, ` {"a" : [1, 2, {"b": null}] } `,
	`{"name":"web-01","automatic":{"ohai_time":1794484758.52,"ip":"10.0.0.1"}}`,
	`"\" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00"`, "\"caf\xc3\xa9\"", "\"\xff\xfe\"", `"` + strings.Repeat("x", 100) + `"`,
	// invalid
	``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a"}`, `{a:1}`, `01`, `1.`, `.5`, `1e`, `+1`, `-`, `tru`, `nul`, `True`,
	`"abc`, `"\x"`, `"\u12g4"`, `"\u123"`, "\"a\tb\"", "\"a\nb\"", "\"" + strings.Repeat("y", 20) + "\x01\"",
	`{} {}`, `[1] x`, `{"a":1}}`, `"\`, strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000), `[1,,2]`, `{"a":1 "b":2}`, `NaN`, `Infinity`,
}

func TestValidJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range validCases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("validJSON(%.60q) = %v, json.Valid says %v", c, got, want)
		}
	}
}

// FuzzValid holds validJSON to encoding/json.Valid's verdict.
func FuzzValid(f *testing.F) {
	for _, c := range validCases {
		if len(c) < 1000 {
			f.Add([]byte(c))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}

func BenchmarkValid(b *testing.B) {
	node := []byte(`{"name":"web-01.example.com","chef_environment":"prod","automatic":{"ohai_time":1794484758.52,"packages":{` +
		strings.Repeat(`"libfoo-dev":{"version":"1.2.3-4ubuntu5","arch":"amd64"},`, 120) + `"z":{}}}}`)
	partial := []byte(`{"url":"https://chef-1.example.com/organizations/acme/nodes/web-01.example.com","data":{"name":"web-01.example.com","ipaddress":"10.1.2.3","__shearch_name":"web-01.example.com","__shearch_ohai_time":1794484758.52}}`)
	for _, c := range []struct {
		name string
		b    []byte
	}{{"node", node}, {"partial", partial}} {
		b.Run(c.name+"/encoding-json", func(b *testing.B) {
			b.SetBytes(int64(len(c.b)))
			for i := 0; i < b.N; i++ {
				json.Valid(c.b)
			}
		})
		b.Run(c.name+"/validJSON", func(b *testing.B) {
			b.SetBytes(int64(len(c.b)))
			for i := 0; i < b.N; i++ {
				validJSON(c.b)
			}
		})
	}
}
