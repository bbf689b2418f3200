package knife

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// rubyToS is Ruby's "#{value}" for the scalars knife interpolates. Hashes and
// arrays never reach it in the formatter paths that matter, but they still
// get Ruby's inspect form, which is what "#{}" does with them.
func rubyToS(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return rubyNumber(x)
	case float64:
		return rubyFloat(x)
	case float32:
		return rubyFloat(float64(x))
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		if x {
			return "true"
		}
		return "false"
	case runList:
		return strings.Join(x, ", ")
	case symbol:
		return string(x)
	}
	return rubyInspect(v)
}

// rubyNumber prints a JSON number the way Ruby prints what its JSON parser
// made of it: integers keep their digits, anything with a fraction or an
// exponent became a Float and prints as Float#to_s (so "2.50" prints "2.5"
// and "1794484758.0" stays as is).
func rubyNumber(n json.Number) string {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if s == "-0" {
			return "0"
		}
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return rubyFloat(f)
}

// rubyFloat is Ruby's Float#to_s: the shortest round-tripping digits, fixed
// notation while the decimal exponent is in [-4, 16), scientific outside,
// and always at least one digit after the point.
func rubyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // -d.ddde±XX
	i := strings.LastIndexByte(e, 'e')
	exp, _ := strconv.Atoi(e[i+1:])
	if exp >= -4 && exp < 16 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	mant := e[:i]
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	sign := "+"
	if exp < 0 {
		sign = "-"
		exp = -exp
	}
	es := strconv.Itoa(exp)
	if len(es) < 2 {
		es = "0" + es
	}
	return mant + "e" + sign + es
}

// truthy is Ruby truthiness: only nil and false are false.
func truthy(v any) bool {
	if v == nil {
		return false
	}
	if b, ok := v.(bool); ok {
		return b
	}
	return true
}

// rubyArray is Kernel#Array: nil is [], an array is itself, a hash becomes
// its [key, value] pairs and anything else is wrapped.
func rubyArray(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case runList:
		return x.items()
	case map[string]any:
		var out []any
		for _, k := range sortedKeys(x) {
			out = append(out, []any{k, x[k]})
		}
		return out
	case Object:
		var out []any
		for _, f := range x {
			out = append(out, []any{f.Key, f.Value})
		}
		return out
	}
	return []any{v}
}

// rubyJoin is Array#join, which flattens nested arrays as it goes.
func rubyJoin(a []any, sep string) string {
	var b strings.Builder
	first := true
	var walk func([]any)
	walk = func(a []any) {
		for _, v := range a {
			if inner, ok := v.([]any); ok {
				walk(inner)
				continue
			}
			if !first {
				b.WriteString(sep)
			}
			first = false
			b.WriteString(rubyToS(v))
		}
	}
	walk(a)
	return b.String()
}

// rubySplitLines is String#split("\n"): trailing empty fields vanish, inner
// ones stay. The text formatter relies on both halves of that rule.
func rubySplitLines(s string) []string {
	parts := strings.Split(s, "\n")
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// puts is IO#puts for one string: a newline is added unless one ends it.
func puts(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

// rubyToI is String#to_i, which knife uses to index arrays in -a paths:
// a leading integer is read, anything else counts as 0.
func rubyToI(s string) int {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	i := 0
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	n := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c == '_' && i > 0 && i+1 < len(s) && s[i-1] >= '0' && s[i-1] <= '9' && s[i+1] >= '0' && s[i+1] <= '9' {
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
		if n > 1<<40 {
			break
		}
	}
	if neg {
		return -n
	}
	return n
}

// rubyInspectString is String#inspect for a UTF-8 string.
func rubyInspectString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString("\\x" + strings.ToUpper(strconv.FormatUint(uint64(s[i]), 16)))
			i++
			continue
		}
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case '\f':
			b.WriteString(`\f`)
		case '\v':
			b.WriteString(`\v`)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		case 0x1b:
			b.WriteString(`\e`)
		case '#':
			// Ruby escapes "#" only where it would start an interpolation.
			if i+1 < len(s) && (s[i+1] == '{' || s[i+1] == '$' || s[i+1] == '@') {
				b.WriteString(`\#`)
			} else {
				b.WriteByte('#')
			}
		default:
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				h := strings.ToUpper(strconv.FormatInt(int64(r), 16))
				b.WriteString(`\u` + strings.Repeat("0", 4-len(h)) + h)
			} else {
				b.WriteString(s[i : i+size])
			}
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// rubyInspect is Ruby 2.7's #inspect for plain data, which is what `puts`
// prints for a Hash (knife's `-F pp -a` path) and what `-r` prints in status.
func rubyInspect(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case string:
		return rubyInspectString(x)
	case symbol:
		return ":" + string(x)
	case map[string]any:
		if len(x) == 0 {
			return "{}"
		}
		parts := make([]string, 0, len(x))
		for _, k := range sortedKeys(x) {
			parts = append(parts, rubyInspect(k)+"=>"+rubyInspect(x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case Object:
		if len(x) == 0 {
			return "{}"
		}
		parts := make([]string, 0, len(x))
		for _, f := range x {
			parts = append(parts, rubyInspectKey(f.Key)+"=>"+rubyInspect(f.Value))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = rubyInspect(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []string:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = rubyInspectString(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return rubyToS(v)
}

// rubyInspectKey inspects an Object key; the key nilKey stands for Ruby's nil,
// which knife uses as a heading when `-f` drops the display name.
func rubyInspectKey(k string) string {
	if k == nilKey {
		return "nil"
	}
	return rubyInspectString(k)
}

// symbol is a Ruby Symbol, which Psych and inspect print differently from a
// string (knife's interchange documents use :results and :rows).
type symbol string
