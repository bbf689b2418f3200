package knife

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// symKeyed is a Ruby hash with Symbol keys ({:results=>N, :rows=>[...]}),
// the document knife's search hands to YAML.dump.
type symKeyed Object

// YAML is Ruby's YAML.dump (Psych 3.1 over libyaml 0.2.5) for plain data:
// block style, indentless sequences inside mappings, "{}"/"[]" for empty
// collections, Psych's quoting choices (strings that would load as another
// type are single-quoted, strings starting with a non-word character are
// double-quoted, multi-line strings become literal blocks) and libyaml's
// folding of long scalars at spaces past column 80. It is written from the
// Psych/libyaml sources; only the Ruby-object dumps are in the recorded
// examples, so this path has no golden file.
//
// Chef objects (a whole Chef::Node, Role, ... or a RunList) are where knife
// dumps Ruby object internals (`--- !ruby/object:Chef::Node` with its
// instance variables, anchors and class references). YAML writes the
// object's own JSON document instead, as plain YAML in that document's key
// order: the same data, readable by any YAML parser (README, "Differences
// from knife").
func YAML(v any) ([]byte, error) {
	v = plainData(v)
	e := &yamlEmitter{}
	e.buf.WriteString("---")
	e.column = 3
	e.node(v, -1, false, false)
	if e.column != 0 {
		e.buf.WriteByte('\n')
	}
	return []byte(e.buf.String()), nil
}

// plainData replaces every Chef object in v by its JSON document and every
// RunList by its entries, leaving the rest as it is.
func plainData(v any) any {
	if !containsChefObject(v) {
		return v
	}
	switch x := v.(type) {
	case chefObject:
		return plainData(x.forJSON())
	case runList:
		return x.items()
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plainData(e)
		}
		return out
	case Object:
		out := make(Object, len(x))
		for i, f := range x {
			out[i] = Field{f.Key, plainData(f.Value)}
		}
		return out
	case symKeyed:
		return symKeyed(plainData(Object(x)).(Object))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainData(e)
		}
		return out
	}
	return v
}

// mash is a ChefUtils::Mash, the Hash subclass a data bag item's raw data
// is held in (DataBagItem#raw_data=); its nested hashes are Mashes too
// (Mash#convert_value). Psych tags every one of them
// (`!ruby/hash:ChefUtils::Mash`, Psych::Visitors::YAMLTree#visit_hash_subclass).
type mash map[string]any

const mashTag = "!ruby/hash:ChefUtils::Mash"

// toMash converts the hashes in v to Mashes, through arrays as well.
func toMash(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(mash, len(x))
		for k, e := range x {
			out[k] = toMash(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toMash(e)
		}
		return out
	}
	return v
}

func containsChefObject(v any) bool {
	switch x := v.(type) {
	case chefObject, runList:
		return true
	case map[string]any:
		for _, e := range x {
			if containsChefObject(e) {
				return true
			}
		}
	case Object:
		for _, f := range x {
			if containsChefObject(f.Value) {
				return true
			}
		}
	case symKeyed:
		return containsChefObject(Object(x))
	case []any:
		for _, e := range x {
			if containsChefObject(e) {
				return true
			}
		}
	}
	return false
}

type yamlEmitter struct {
	buf       strings.Builder
	column    int
	lineStart bool // the last thing written was a line break
}

func (e *yamlEmitter) write(s string) {
	if s == "" {
		return
	}
	e.buf.WriteString(s)
	e.lineStart = s[len(s)-1] == '\n'
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		e.column = utf8.RuneCountInString(s[i+1:])
	} else {
		e.column += utf8.RuneCountInString(s)
	}
}

// indentTo is libyaml's write_indent: a line break unless the current
// line is still blank up to indent (a fresh line after a literal block, or
// the spot right after "- " for the first entry of a nested collection).
func (e *yamlEmitter) indentTo(indent int, sameLineOK bool) {
	if !e.lineStart && !(sameLineOK && e.column <= indent) {
		e.write("\n")
	}
	if e.column < indent {
		e.write(strings.Repeat(" ", indent-e.column))
	}
}

type yamlPair struct {
	key   any
	value any
}

func yamlPairs(v any) ([]yamlPair, bool) {
	switch x := v.(type) {
	case map[string]any:
		out := make([]yamlPair, 0, len(x))
		for _, k := range sortedKeys(x) {
			out = append(out, yamlPair{k, x[k]})
		}
		return out, true
	case mash:
		return yamlPairs(map[string]any(x))
	case Object:
		out := make([]yamlPair, 0, len(x))
		for _, f := range x {
			var k any = f.Key
			if f.Key == nilKey {
				k = nil
			}
			out = append(out, yamlPair{k, f.Value})
		}
		return out, true
	case symKeyed:
		out := make([]yamlPair, 0, len(x))
		for _, f := range x {
			out = append(out, yamlPair{symbol(":" + f.Key), f.Value})
		}
		return out, true
	}
	return nil, false
}

// node emits v; indent is the enclosing collection's indent (-1 at the
// root), inSeq/inMap say what holds v.
func (e *yamlEmitter) node(v any, indent int, inMap, inSeq bool) {
	if pairs, ok := yamlPairs(v); ok {
		if _, tagged := v.(mash); tagged {
			e.write(" " + mashTag)
		}
		if len(pairs) == 0 {
			e.write(" {}")
			return
		}
		inner := indent + 2
		if indent < 0 {
			inner = 0
		}
		for i, p := range pairs {
			e.indentTo(inner, i == 0 && inSeq)
			e.scalar(p.key, inner, true)
			e.write(":")
			e.node(p.value, inner, true, false)
		}
		return
	}
	if arr := asArray(v); arr != nil || isEmptyArray(v) {
		if len(arr) == 0 {
			e.write(" []")
			return
		}
		inner := indent + 2
		switch {
		case indent < 0:
			inner = 0
		case inMap:
			inner = indent // indentless sequence
		}
		for i, item := range arr {
			e.indentTo(inner, i == 0 && inSeq)
			e.write("-")
			e.node(item, inner, false, true)
		}
		return
	}
	e.scalar(v, indent, false)
}

func isEmptyArray(v any) bool {
	switch x := v.(type) {
	case []any:
		return len(x) == 0
	case []string:
		return len(x) == 0
	}
	return false
}

const (
	stylePlain = iota
	styleSingle
	styleDouble
	styleLiteral
)

var (
	psychNonWordStart = lazyRE(`(?m)^[^\p{L}\p{M}\p{N}\p{Pc}][^"]*$`)
	psychStringish    = lazyRE(`^[^\d.:-]?[A-Za-z_\s!@#$%^&*(){}<>|/\\~;=]+`)
	psychTime         = lazyRE(`^-?\d{4}-\d{1,2}-\d{1,2}(?:[Tt]|\s+)\d{1,2}:\d\d:\d\d(?:\.\d*)?(?:\s*(?:Z|[-+]\d{1,2}:?(?:\d\d)?))?$`)
	psychDate         = lazyRE(`^\d{4}-(?:1[012]|0\d|\d)-(?:[12]\d|3[01]|0\d|\d)$`)
	psychSpecialFloat = lazyRE(`(?i)^(-?\.inf|\.nan)$`)
	psychSexagesimal  = lazyRE(`^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}(\.[0-9_]*)?$`)
	psychFloat        = lazyRE(`^(?:[-+]?([0-9][0-9_,]*)?\.[0-9]*([eE][-+][0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$`)
	psychInteger      = lazyRE(`^(?:[-+]?0b[0-1_,]+|[-+]?0[0-7_,]+|[-+]?(?:0|[1-9][0-9_,]*)|[-+]?0x[0-9a-fA-F_,]+)$`)
	psychOctalish     = lazyRE(`^0[0-7]*[89]$`)
	psychBool         = lazyRE(`(?i)^(yes|true|on|no|false|off|null)$`)
)

// psychLoadsAsString is "String === ScalarScanner#tokenize(s)".
func psychLoadsAsString(s string) bool {
	if s == "" {
		return false
	}
	if psychStringish.MatchString(s) || strings.Contains(s, "\n") {
		if utf8.RuneCountInString(s) > 5 {
			return true
		}
		if s == "~" || psychBool.MatchString(s) {
			return false
		}
		return true
	}
	switch {
	case psychTime.MatchString(s), psychDate.MatchString(s), psychSpecialFloat.MatchString(s):
		return false
	case len(s) > 1 && s[0] == ':':
		return false
	case psychSexagesimal.MatchString(s):
		return false
	case psychFloat.MatchString(s):
		return s == "." || s == "+." || s == "-."
	case psychInteger.MatchString(s):
		return false
	}
	return true
}

// scalar writes one scalar after a "key:" or "-" (or "---"), or as a key.
func (e *yamlEmitter) scalar(v any, indent int, isKey bool) {
	var text string
	style := stylePlain
	switch x := v.(type) {
	case nil:
		text = ""
	case string:
		text = x
		switch {
		case strings.Contains(strings.TrimSuffix(x, "\n"), "\n"):
			style = styleLiteral
		case x == "y" || x == "n":
			style = styleDouble
		case psychNonWordStart.MatchString(x):
			style = styleDouble
		case !psychLoadsAsString(x) || psychOctalish.MatchString(x):
			style = styleSingle
		}
	case symbol:
		text = string(x)
	case json.Number, float64, int, int64, bool:
		text = rubyToS(x)
	default:
		text = rubyToS(x)
	}
	style = libyamlStyle(text, style, isKey)
	// Psych emits nil as a plain scalar that may not be read back quoted
	// (visit_NilClass: plain_implicit true, quoted_implicit false). As a
	// key its empty text must be quoted, so libyaml adds the non-specific
	// tag "!" (yaml_emitter_select_scalar_style): `! '':`.
	if v == nil && isKey && style != stylePlain {
		e.write("! ")
	}
	sep := " "
	if e.column == 0 && !isKey {
		sep = ""
	}
	contIndent := indent + 2
	if indent < 0 {
		contIndent = 2
	}
	switch style {
	case stylePlain:
		if text == "" {
			return
		}
		if !isKey {
			e.write(sep)
		}
		e.folded(text, contIndent, !isKey, "")
	case styleSingle:
		if !isKey {
			e.write(sep)
		}
		e.write("'")
		e.folded(strings.ReplaceAll(text, "'", "''"), contIndent, !isKey, "")
		e.write("'")
	case styleDouble:
		if !isKey {
			e.write(sep)
		}
		e.write(`"`)
		e.folded(yamlDoubleEscape(text), contIndent, !isKey, `\`)
		e.write(`"`)
	case styleLiteral:
		e.write(sep + "|" + literalHints(text))
		for _, line := range strings.SplitAfter(text, "\n") {
			if line == "" {
				continue
			}
			e.write("\n")
			if line != "\n" {
				e.write(strings.Repeat(" ", contIndent) + strings.TrimSuffix(line, "\n"))
			}
		}
		if strings.HasSuffix(text, "\n") {
			e.write("\n")
		}
	}
}

// folded writes text, breaking at a single space once past column 80 the
// way libyaml's scalar writers do. cont is what a double-quoted scalar puts
// before a line that starts with a space.
func (e *yamlEmitter) folded(text string, indent int, allowBreaks bool, cont string) {
	prevSpace := false
	for i, r := range text {
		if r == ' ' && allowBreaks && !prevSpace && e.column > 80 && i > 0 && i < len(text)-1 && text[i+1] != ' ' {
			e.write("\n" + strings.Repeat(" ", indent))
			prevSpace = true
			continue
		}
		if r == ' ' && allowBreaks && !prevSpace && e.column > 80 && cont != "" && i > 0 && i < len(text)-1 && text[i+1] == ' ' {
			e.write("\n" + strings.Repeat(" ", indent) + cont)
			prevSpace = true
			continue
		}
		e.write(string(r))
		prevSpace = r == ' '
	}
}

func literalHints(s string) string {
	hint := ""
	if strings.HasPrefix(s, " ") || strings.HasPrefix(s, "\n") {
		hint = "2"
	}
	switch {
	case !strings.HasSuffix(s, "\n"):
		return hint + "-"
	case s == "\n" || strings.HasSuffix(s, "\n\n"):
		return hint + "+"
	}
	return hint
}

func yamlPrintable(r rune) bool {
	return r == '\n' || (r >= 0x20 && r <= 0x7e) || (r >= 0xa0 && r <= 0xd7ff) ||
		(r >= 0xe000 && r <= 0xfffd && r != 0xfeff)
}

// libyamlStyle is yaml_emitter_analyze_scalar + select_scalar_style: the
// style Psych asked for falls back to quoting when the text cannot be
// written that way.
func libyamlStyle(s string, style int, isKey bool) int {
	runes := []rune(s)
	var flowInd, blockInd, leadingSpace, leadingBreak, trailingSpace, trailingBreak bool
	var breakSpace, spaceBreak, special, lineBreaks, prevSpace, prevBreak bool
	if strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") {
		flowInd, blockInd = true, true
	}
	blank := func(i int) bool {
		return i >= len(runes) || runes[i] == ' ' || runes[i] == '\t' || runes[i] == '\n' || runes[i] == '\r'
	}
	precededByWS := true
	for i, r := range runes {
		followedByWS := blank(i + 1)
		if i == 0 {
			switch {
			case strings.ContainsRune("#,[]{}&*!|>'\"%@`", r):
				flowInd, blockInd = true, true
			case r == '?' || r == ':':
				flowInd = true
				if followedByWS {
					blockInd = true
				}
			case r == '-' && followedByWS:
				flowInd, blockInd = true, true
			}
		} else {
			switch {
			case strings.ContainsRune(",?[]{}", r):
				flowInd = true
			case r == ':':
				flowInd = true
				if followedByWS {
					blockInd = true
				}
			case r == '#' && precededByWS:
				flowInd, blockInd = true, true
			}
		}
		if !yamlPrintable(r) {
			special = true
		}
		isBreak := r == '\n' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029
		if isBreak {
			lineBreaks = true
		}
		switch {
		case r == ' ':
			if i == 0 {
				leadingSpace = true
			}
			if i == len(runes)-1 {
				trailingSpace = true
			}
			if prevBreak {
				breakSpace = true
			}
			prevSpace, prevBreak = true, false
		case isBreak:
			if i == 0 {
				leadingBreak = true
			}
			if i == len(runes)-1 {
				trailingBreak = true
			}
			if prevSpace {
				spaceBreak = true
			}
			prevSpace, prevBreak = false, true
		default:
			prevSpace, prevBreak = false, false
		}
		precededByWS = blank(i)
	}
	plainOK, singleOK, blockOK := true, true, true
	if leadingSpace || leadingBreak || trailingSpace || trailingBreak {
		plainOK = false
	}
	if trailingSpace {
		blockOK = false
	}
	if breakSpace {
		plainOK, singleOK = false, false
	}
	if spaceBreak || special {
		plainOK, singleOK, blockOK = false, false, false
	}
	if lineBreaks || blockInd {
		plainOK = false
	}
	_ = flowInd
	if isKey && lineBreaks {
		return styleDouble
	}
	if style == stylePlain {
		if !plainOK || (len(runes) == 0 && isKey) {
			style = styleSingle
		}
	}
	if style == styleSingle && !singleOK {
		style = styleDouble
	}
	if style == styleLiteral && (!blockOK || isKey) {
		style = styleDouble
	}
	return style
}

// yamlDoubleEscape is libyaml's double-quoted escaping.
func yamlDoubleEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case 0:
			b.WriteString(`\0`)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\v':
			b.WriteString(`\v`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		case 0x1b:
			b.WriteString(`\e`)
		case 0x85:
			b.WriteString(`\N`)
		case 0xa0:
			b.WriteString(`\_`)
		case 0x2028:
			b.WriteString(`\L`)
		case 0x2029:
			b.WriteString(`\P`)
		default:
			if yamlPrintable(r) && r != 0xfeff {
				b.WriteRune(r)
			} else if r <= 0xff {
				b.WriteString(`\x` + hexPad(int64(r), 2))
			} else if r <= 0xffff {
				b.WriteString(`\u` + hexPad(int64(r), 4))
			} else {
				b.WriteString(`\U` + hexPad(int64(r), 8))
			}
		}
	}
	return b.String()
}

func hexPad(n int64, width int) string {
	h := strings.ToUpper(strconv.FormatInt(n, 16))
	return strings.Repeat("0", width-len(h)) + h
}
