package gnife

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/knife"
)

// Exit codes of knife's write commands beside the read ones.
const (
	ExitDeclined = 3  // ui.confirm answered N
	ExitBadFile  = 30 // ObjectLoader: a file that is not .js/.json/.rb
)

// writeFlags are knife's common options the write commands use: -y, -d,
// -e EDITOR and --print-after, beside gnife's own.
func writeFlags(extra ...cli.Flag) []cli.Flag {
	return withOwnFlags(commonFlags(), append([]cli.Flag{
		&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}},
		&cli.BoolFlag{Name: "disable-editing", Aliases: []string{"d"}},
		&cli.StringFlag{Name: "editor", Aliases: []string{"e"}},
		&cli.BoolFlag{Name: "print-after"},
		&cli.StringFlag{Name: "format", Aliases: []string{"F"}},
	}, extra...)...)
}

// writeCmd is one write command: its knife name, flags and body.
func writeCmd(env *Env, name, knifeName, usage string, extra []cli.Flag, run func(c *cli.Context, w *writer) error) *cli.Command {
	return &cli.Command{
		Name:  name,
		Usage: usage,
		Flags: writeFlags(extra...),
		Action: func(c *cli.Context) error {
			if c.Bool("help") {
				return helpExit(knifeName, 0)
			}
			if err := env.setup(c); err != nil {
				return err
			}
			cl, err := env.client()
			if err != nil {
				return err
			}
			w := &writer{env: env, cl: cl, c: c, cmd: knifeName}
			return run(c, w)
		},
	}
}

// writer carries what a write command needs.
type writer struct {
	env *Env
	cl  *api.Client
	c   *cli.Context
	cmd string
	in  *bufio.Reader
}

func (w *writer) out(s string)  { io.WriteString(w.env.IO.Out, s) }
func (w *writer) info(s string) { w.env.IO.ErrOut.Write(knife.Info(s)) }
func (w *writer) warn(s string) { w.env.IO.ErrOut.Write(knife.Warning(s)) }

// usage is knife's show_usage + ui.fatal(msg), exit 1.
func (w *writer) usage(msg string) error {
	o, ok := knife.UsageFatal(w.cmd, msg)
	if !ok {
		return exitf(ExitUsage, "FATAL: %s", msg)
	}
	return &ExitError{Code: o.Exit, Stdout: string(o.Stdout), Stderr: string(o.Stderr)}
}

// confirm is knife's ui.confirm: the question and " (Y/N) " on stdout,
// one line read; N ends the command with exit 3; -y skips it.
func (w *writer) confirm(question string) error {
	if w.c.Bool("yes") {
		return nil
	}
	if w.in == nil {
		in := w.env.IO.In
		if in == nil {
			in = strings.NewReader("")
		}
		w.in = bufio.NewReader(in)
	}
	for {
		w.out(question + "? (Y/N) ")
		line, err := w.in.ReadString('\n')
		if err != nil && line == "" {
			// Ruby's readline raises at end of input: nothing is done.
			return exitf(ExitNotFound, "\nERROR: EOFError: end of file reached")
		}
		switch strings.TrimRight(line, "\r\n") {
		case "Y", "y":
			return nil
		case "N", "n":
			w.out("You said no, so I'm done here.\n")
			return &ExitError{Code: ExitDeclined}
		}
		w.out(fmt.Sprintf("I have no idea what to do with '%s'\nJust say Y or N, please.\n", strings.TrimRight(line, "\r\n")))
	}
}

// ref names one Chef object: its collection ("nodes", "roles",
// "environments", "data") and name; bag, for "data", names the bag of an
// item (empty: the object is the bag itself).
type ref struct{ coll, bag, name string }

func nodeRef(name string) ref      { return ref{coll: "nodes", name: name} }
func objRef(coll, name string) ref { return ref{coll: coll, name: name} }
func itemRef(bag, item string) ref { return ref{coll: "data", bag: bag, name: item} }

// get reads one object through Shearch, knife's way on errors.
func (w *writer) get(r ref) (map[string]any, error) {
	return w.env.getObject(r.coll, r.bag, r.name)
}

// put, create and del are the writes; each goes through done.
func (w *writer) put(r ref, obj map[string]any) error {
	col, err := w.env.collection(r.coll, r.bag)
	if err != nil {
		return err
	}
	_, err = w.done(nil, col.Put(w.env.ctx(), obj))
	return err
}

func (w *writer) create(r ref, obj map[string]any) error {
	col, err := w.env.collection(r.coll, r.bag)
	if err != nil {
		return err
	}
	_, err = w.done(nil, col.Create(w.env.ctx(), obj))
	return err
}

func (w *writer) del(r ref) (map[string]any, error) {
	if r.coll == "data" && r.bag == "" {
		return w.done(w.cl.DataBags().Delete(w.env.ctx(), r.name, ""))
	}
	col, err := w.env.collection(r.coll, r.bag)
	if err != nil {
		return nil, err
	}
	return w.done(col.Delete(w.env.ctx(), r.name))
}

// done turns a write's error into knife's. A write some shards did not
// take (207) prints every failed shard and fails with exit 100: the
// change is half done and must not look done.
func (w *writer) done(obj map[string]any, err error) (map[string]any, error) {
	var pe *api.PartialError
	var ae *api.Error
	switch {
	case err == nil:
		return obj, nil
	case errors.As(err, &pe):
		w.env.warnShards(pe.Shards.Details)
		msg := "the change reached only some shards"
		if len(pe.Messages) > 0 {
			msg = pe.Messages[0]
		}
		return obj, exitf(ExitNotFound, "ERROR: %s\nRun `gnife consistency --repair` once every shard answers, to make them agree.", msg)
	case errors.As(err, &ae):
		if ae.StatusCode == http.StatusBadGateway {
			w.env.warnShards(ae.Shards)
		}
		return nil, &statusExit{Status: ae.StatusCode, Err: w.httpError(ae)}
	}
	return nil, err
}

// statusExit is a write Shearch refused, with its HTTP status.
type statusExit struct {
	Status int
	Err    *ExitError
}

func (e *statusExit) Error() string { return e.Err.Error() }
func (e *statusExit) Unwrap() error { return e.Err }

func httpStatus(err error) int {
	var se *statusExit
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

// httpError is knife's humanize_http_exception for a write.
func (w *writer) httpError(ae *api.Error) *ExitError {
	body, _ := json.Marshal(map[string]any{"error": ae.Messages})
	reason := http.StatusText(ae.StatusCode)
	addr := ae.Address
	if addr == "" {
		addr = w.cl.Address()
	}
	return &ExitError{Code: ExitNotFound, Stderr: string(knife.HTTPError(ae.StatusCode, reason, body, addr, "SHEARCH_TOKEN", ""))}
}

// save is Chef's Model#save: PUT the object, and POST it to its
// collection when the server has none yet.
func (w *writer) save(r ref, obj map[string]any) error {
	err := w.put(r, obj)
	if httpStatus(err) == http.StatusNotFound {
		err = w.create(r, obj)
	}
	return err
}

// display prints an object with the command's -F as knife's output()
// does.
func (w *writer) display(kind knife.Kind, obj map[string]any, o knife.ShowOptions) error {
	o.Format = w.c.String("format")
	b, err := knife.Show(kind, obj, o)
	if err != nil {
		return err
	}
	w.env.IO.Out.Write(b)
	return nil
}

// loadFile is knife's ObjectLoader#load_from: the file as given, else
// under REPO/..., JSON only (Ruby DSL files cannot be evaluated here).
func (w *writer) loadFile(repo string, components ...string) (map[string]any, error) {
	last := components[len(components)-1]
	file := ""
	if st, err := os.Stat(last); err == nil && !st.IsDir() {
		file = last
	} else {
		wd, _ := os.Getwd()
		p := filepath.Join(append([]string{wd, repo}, components...)...)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			file = p
		}
	}
	if file == "" {
		return nil, exitf(ExitUsage, "ERROR: Could not find or open file '%s' in current directory or in '%s/%s'", last, repo, strings.Join(components, "/"))
	}
	switch {
	case strings.HasSuffix(file, ".json") || strings.HasSuffix(file, ".js"):
	case strings.HasSuffix(file, ".rb"):
		return nil, exitf(ExitUsage, "ERROR: %s is a Ruby DSL file: gnife loads JSON only; convert it (knife role show NAME -F json) or use knife", file)
	default:
		return nil, exitf(ExitBadFile, "FATAL: File must end in .js, .json, or .rb")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, exitf(ExitUsage, "ERROR: Could not find or open file '%s': %v", last, err)
	}
	var obj map[string]any
	if err := shardsJSON(data, &obj); err != nil {
		return nil, exitf(ExitNotFound, "ERROR: %s is not a JSON object: %v", file, err)
	}
	return obj, nil
}

// edit is knife's ui.edit_data: the object as pretty JSON in $EDITOR
// (-e), read back when the editor exits 0; -d skips the editor.
func (w *writer) edit(obj any) (map[string]any, error) {
	text, _ := json.MarshalIndent(obj, "", "  ")
	if !w.c.Bool("disable-editing") {
		editor := firstNonEmpty(w.c.String("editor"), os.Getenv("EDITOR"))
		if editor == "" {
			return nil, exitf(ExitNotFound, "ERROR: RuntimeError: Please set EDITOR environment variable. See https://docs.chef.io/knife_setup/ for details.")
		}
		f, err := os.CreateTemp("", "knife-edit-*.json")
		if err != nil {
			return nil, err
		}
		defer os.Remove(f.Name())
		f.Write(append(text, '\n'))
		f.Close()
		cmd := exec.Command("sh", "-c", editor+" "+f.Name())
		cmd.Stdin, cmd.Stdout, cmd.Stderr = w.env.IO.In, w.env.IO.Out, w.env.IO.ErrOut
		if err := cmd.Run(); err != nil {
			return nil, exitf(ExitNotFound, "ERROR: RuntimeError: Please set EDITOR environment variable. See https://docs.chef.io/knife_setup/ for details.")
		}
		if text, err = os.ReadFile(f.Name()); err != nil {
			return nil, err
		}
	}
	var out map[string]any
	if err := shardsJSON(text, &out); err != nil {
		return nil, exitf(ExitNotFound, "ERROR: the edited text is not a JSON object: %v", err)
	}
	return out, nil
}

// sameJSON compares two objects as JSON values.
func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	var u, v any
	json.Unmarshal(x, &u)
	json.Unmarshal(y, &v)
	xb, _ := json.Marshal(u)
	yb, _ := json.Marshal(v)
	return string(xb) == string(yb)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func envEditor() string { return os.Getenv("EDITOR") }

// ordered is a JSON object that keeps its keys in the order given, as
// Chef's to_json does for the objects knife puts in the editor.
type ordered []kv

type kv struct {
	k string
	v any
}

func (o ordered) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.k)
		v, err := json.Marshal(f.v)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// addWriteCommands hangs knife's write subcommands under the read nouns:
// node, role, environment, data bag and tag.
// Only the nouns present are given theirs (a run builds one command).
func addWriteCommands(env *Env, cmds []*cli.Command) []*cli.Command {
	extra := map[string]func(*Env) []*cli.Command{
		"node": nodeWriteCommands, "role": roleWriteCommands, "environment": environmentWriteCommands,
		"tag": tagWriteCommands,
	}
	for _, c := range cmds {
		if build := extra[c.Name]; build != nil {
			c.Subcommands = append(c.Subcommands, build(env)...)
		}
		if c.Name == "data" {
			for _, b := range c.Subcommands {
				if b.Name == "bag" {
					b.Subcommands = append(b.Subcommands, dataBagWriteCommands(env)...)
				}
			}
		}
	}
	return cmds
}
