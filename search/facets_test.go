package search

import (
	"encoding/json"
	"reflect"
	"testing"
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
		got, missing := FacetValues(c.in)
		if !reflect.DeepEqual(got, c.want) || missing != c.missing {
			t.Errorf("FacetValues(%#v) = %q, %v; want %q, %v", c.in, got, missing, c.want, c.missing)
		}
	}
}

func TestFacetCountsBounded(t *testing.T) {
	c := &FacetCounts{Values: map[string]int{}}
	for _, v := range []any{"a", "b", "a", "c", nil, []any{"a", "d"}} {
		add(c, v, 2)
	}
	want := &FacetCounts{Values: map[string]int{"a": 3, "b": 1}, Missing: 1, Other: 2, Truncated: true}
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
		if _, err := AttrPath(bad); err == nil {
			t.Errorf("AttrPath(%q) accepted", bad)
		}
	}
}
