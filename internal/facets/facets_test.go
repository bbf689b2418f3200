package facets

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/shearch/shearch/internal/fault"
	"github.com/shearch/shearch/search/result"
)

func TestFacetValues(t *testing.T) {
	cases := []struct {
		in      any
		want    []string
		missing bool
	}{
		{nil, nil, true},
		{"ubuntu", []string{"ubuntu"}, false},
		{"", []string{""}, false},
		{json.Number("4"), []string{"4"}, false},
		{2.5, []string{"2.5"}, false},
		{true, []string{"true"}, false},
		{[]any{"a", "b", "a"}, []string{"a", "b"}, false},
		{[]any{}, nil, false},
		{[]any{json.Number("1"), nil, "1"}, []string{"1", ""}, false},
		{map[string]any{"b": 1, "a": "<x>"}, []string{`{"a":"<x>","b":1}`}, false},
	}
	for _, c := range cases {
		got, missing := Values(c.in)
		if !reflect.DeepEqual(got, c.want) || missing != c.missing {
			t.Errorf("Values(%#v) = %q, %v; want %q, %v", c.in, got, missing, c.want, c.missing)
		}
	}
}

func TestFacetCountsBounded(t *testing.T) {
	c := &result.FacetCounts{Values: map[string]int{}}
	for _, v := range []any{"a", "b", "a", "c", nil, []any{"a", "d"}} {
		add(c, v, 2)
	}
	want := &result.FacetCounts{Values: map[string]int{"a": 3, "b": 1}, Missing: 1, Other: 2, Truncated: true}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v, want %+v", c, want)
	}
	if got := c.SortedValues(); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("sorted %q", got)
	}
}

func TestAttrPath(t *testing.T) {
	if p, err := AttrPath("languages.ruby.version"); err != nil || !reflect.DeepEqual(p, []string{"languages", "ruby", "version"}) {
		t.Errorf("%q %v", p, err)
	}
	for _, bad := range []string{"", "a..b", ".a", "a."} {
		_, err := AttrPath(bad)
		want := fmt.Sprintf("attribute %q has an empty segment: write levels with single dots, as kernel.release", bad)
		if err == nil || err.Error() != want || !fault.Is(err, fault.BadRequest) {
			t.Errorf("AttrPath(%q): %v (kind %v)", bad, err, fault.KindOf(err))
		}
	}
}
