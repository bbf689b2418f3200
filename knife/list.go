package knife

import (
	"encoding/json"
	"sort"
	"strings"
)

// List renders `knife node|role|environment|data bag|client list` and
// `knife data bag show BAG`. items maps each name to its URL as the server
// listed it. Without -w (withURI) knife prints the sorted names; with it,
// the name => URL hash, which the text formatter aligns as "name: url".
func List(items map[string]string, withURI bool, format string) ([]byte, error) {
	var data any
	if withURI {
		m := make(map[string]any, len(items))
		for k, v := range items {
			m[k] = v
		}
		data = m
	} else {
		names := make([]string, 0, len(items))
		for k := range items {
			names = append(names, k)
		}
		sort.Strings(names)
		arr := make([]any, len(names))
		for i, n := range names {
			arr[i] = n
		}
		data = arr
	}
	return output(presenter{format: FormatName(format)}, data)
}

// output is ui.output: the presenter's format, then puts.
func output(p presenter, data any) ([]byte, error) {
	s, err := p.render(data)
	if err != nil {
		return nil, err
	}
	return []byte(puts(s)), nil
}

// TagList renders `knife tag list NODE`: the node's tags (Array(normal.tags)),
// one per line; no tags prints one empty line.
func TagList(nodeHash map[string]any, format string) ([]byte, error) {
	tags := newNode(nodeHash).tags()
	if tags == nil {
		tags = []any{}
	}
	return output(presenter{format: FormatName(format)}, tags)
}

// logLines is ui.log: continuation lines of a multi-line message are
// indented to sit after "PREFIX: " of the first line.
func logLines(message string) string {
	lines := rubySplitLines(message)
	if len(lines) == 0 {
		return "\n"
	}
	var b strings.Builder
	b.WriteString(lines[0] + "\n")
	if len(lines) > 1 {
		prefix, _, _ := strings.Cut(lines[0], ":")
		pad := strings.Repeat(" ", len([]rune(prefix))+2)
		for _, l := range lines[1:] {
			b.WriteString(pad + l + "\n")
		}
	}
	return b.String()
}

// Error is ui.error: "ERROR: msg" on stderr.
func Error(msg string) []byte { return []byte(logLines("ERROR: " + msg)) }

// Fatal is ui.fatal: "FATAL: msg" on stderr.
func Fatal(msg string) []byte { return []byte(logLines("FATAL: " + msg)) }

// Warning is ui.warn: "WARNING: msg" on stderr.
func Warning(msg string) []byte { return []byte(logLines("WARNING: " + msg)) }

// Info is ui.info: the message as is on stderr.
func Info(msg string) []byte { return []byte(logLines(msg)) }

// ServerErrors reads the "error" member of a Chef API error body
// (a string or a list of strings); nil when the body is not such JSON.
func ServerErrors(body []byte) []string {
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil
	}
	var out []string
	for _, e := range rubyArray(doc["error"]) {
		out = append(out, rubyToS(e))
	}
	return out
}

// SearchFailed is what `knife search` prints on stderr for an HTTP 4xx (and
// exits ExitSearchFailed with): the first string of the server's "error"
// array after "ERROR: knife search failed: ".
func SearchFailed(serverBody []byte) []byte {
	msg := string(serverBody)
	if errs := ServerErrors(serverBody); len(errs) > 0 {
		msg = errs[0]
	}
	return Error("knife search failed: " + msg)
}

// HTTPError is Knife#humanize_http_exception, what every command but search
// prints on stderr for an HTTP error before exiting ExitHTTPError. reason
// is the HTTP reason phrase (used for statuses knife has no text for);
// serverURL, user and keyPath only appear for 401.
func HTTPError(status int, reason string, serverBody []byte, serverURL, user, keyPath string) []byte {
	response := string(serverBody)
	if errs := ServerErrors(serverBody); errs != nil {
		response = strings.Join(errs, "; ")
	}
	var b []byte
	switch status {
	case 401:
		b = Error("Failed to authenticate to " + serverURL + " as " + user + " with key " + keyPath)
		return append(b, Info("Response:  "+response)...)
	case 403:
		b = Error("You authenticated successfully to " + serverURL + " as " + user + " but you are not authorized for this action.")
		return append(b, Info("Response:  "+response)...)
	case 400:
		b = Error("The data in your request was invalid")
	case 404:
		b = Error("The object you are looking for could not be found")
	case 500:
		b = Error("internal server error")
	case 502:
		b = Error("bad gateway")
	case 503:
		b = Error("Service temporarily unavailable")
	default:
		b = Error(reason)
	}
	return append(b, Info("Response: "+response)...)
}

// NotFound is HTTPError for a 404 whose body says serverMessage: the
// "could not be found" pair every show/list command prints.
func NotFound(serverMessage string) []byte {
	return append(Error("The object you are looking for could not be found"), Info("Response: "+serverMessage)...)
}
