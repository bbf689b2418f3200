// Package knife reproduces what Chef's `knife` (Chef Infra Client 16.12.3)
// prints, byte for byte: its presenters, its text formatter, its JSON
// encoder quirks, its YAML and pp dumps of plain data, its status lines, its
// help texts and its fixed messages.
//
// Everything here is a pure function: data in, bytes out. Objects come as
// json.Decoder.UseNumber() decodes the server's JSON (map[string]any, []any,
// string, json.Number, bool, nil). The package never talks to a server:
// callers fetch what SearchFilter, StatusFilter and SSHFilter describe (or
// whole objects when those return nil) and hand the rows over in the order
// knife would have received them.
//
// The entry points mirror knife's commands: Search, Show, List, TagList,
// Status, SSHHosts, Help and Usage; the messages knife prints on errors are
// SearchFailed, HTTPError, NotFound, SSHConnectFailed, Error, Fatal, Warning
// and InvalidFormat. Text, JSON, YAML and PP are the formatters underneath.
// Where knife dumps Ruby object internals (Psych or PP of a whole Chef::Node,
// Role, ..., or of a RunList), these write the object's JSON document as
// plain data instead: the one place the bytes differ by design (see
// plainData). An error knife's own Ruby code raises (NoMethodError for -r on
// rows without a run list) comes out as knife's "unexpected error" block.
package knife

// Output is what one knife command printed and how it exited.
type Output struct {
	Stdout, Stderr []byte
	Exit           int
}

// Exit statuses knife uses.
const (
	ExitOK           = 0
	ExitFailure      = 1   // search with no results; missing argument (usage shown)
	ExitBadOption    = 2   // an option value outside its allowed list (-F)
	ExitSSH          = 10  // ssh: no nodes, or none with the attribute
	ExitSearchFailed = 99  // search got an HTTP 4xx
	ExitHTTPError    = 100 // any other command got an HTTP error
)
