package completion_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shearch/shearch/completion"
	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/gnife"
	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/internal/integration"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server"
)

// shared is what the shell tests share: the fleet, Shearch in front of
// it, and a gnife binary built from ./cmd/gnife.
type shared struct {
	cluster *devfleet.Cluster
	handler http.Handler
	srv     *httptest.Server
	binDir  string
}

var (
	once     sync.Once
	it       *shared
	setupErr error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if it != nil {
		it.srv.Close()
		it.cluster.Stop()
		os.RemoveAll(it.binDir)
	}
	os.Exit(code)
}

func setup(t *testing.T) *shared {
	t.Helper()
	integration.Needs(t, "goiardi and a built gnife")
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		s := &shared{}
		if s.binDir, setupErr = os.MkdirTemp("", "gnife-completion-"); setupErr != nil {
			return
		}
		build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(s.binDir, "gnife"), "../cmd/gnife")
		if out, err := build.CombinedOutput(); err != nil {
			setupErr = errors.New("go build ./cmd/gnife: " + err.Error() + "\n" + string(out))
			return
		}
		probe := exec.CommandContext(ctx, filepath.Join(s.binDir, "gnife"), "__complete", "--", "completion", "")
		if out, err := probe.Output(); err != nil || !strings.Contains(string(out), "bash") {
			setupErr = errors.New("gnife has no completion commands: gnife/commands.go must list completionCommand(env) and completeCommand(env)")
			return
		}
		fx, err := devfleet.ReadFixture("../testdata/fixture")
		if err != nil {
			setupErr = err
			return
		}
		if s.cluster, setupErr = devfleet.StartCluster(ctx, "chef", "prod", 2, fx); setupErr != nil {
			return
		}
		e := search.MustNew(search.Config{DefaultStack: "prod", Timeout: 5 * time.Second}, search.Deps{Topology: search.StaticShards(s.cluster.ShardList())})
		s.handler = server.New(engine.Over(e), nil)
		s.srv = httptest.NewServer(s.handler)
		it = s
	})
	if setupErr != nil {
		t.Fatalf("setup: %v", setupErr)
	}
	return it
}

// shellEnv is a clean environment: gnife on PATH, Shearch at url, and a
// cache directory of the test's own.
func (s *shared) shellEnv(t *testing.T, url string) []string {
	home := t.TempDir()
	return []string{
		"PATH=" + s.binDir + ":" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CACHE_HOME=" + filepath.Join(home, "cache"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"SHEARCH_URL=" + url,
		"LANG=C.UTF-8",
		"TERM=dumb",
	}
}

func runShell(t *testing.T, env []string, name string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %q: %v\nstdout:\n%s\nstderr:\n%s", name, args, err, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// bashComplete is what bash does on TAB: it sets COMP_* from words (as
// bash split them: at blanks and at COMP_WORDBREAKS such as ":") and
// calls the function the script registered for gnife.
const bashComplete = `
source <(gnife completion bash) || exit 3
fn=$(complete -p gnife | sed -E 's/.*-F ([^ ]+) .*/\1/')
COMP_WORDS=("$@")
COMP_CWORD=$(( $# - 1 ))
COMP_LINE="$LINE"
COMP_POINT=${#COMP_LINE}
"$fn"
printf '%s\n' "${COMPREPLY[@]}"
`

// TestBashCompletion completes in a real bash: subcommands and flags
// from the command tree, names from Shearch, and "field:value" query
// terms whether or not bash split the word at its colon.
func TestBashCompletion(t *testing.T) {
	s := setup(t)
	cases := []struct {
		line  string
		words []string // as bash splits the line; nil: at blanks
		want  []string
	}{
		{line: "gnife se", want: []string{"search"}},
		{line: "gnife node show we", want: []string{"web-01.prod.example.com", "web-02.prod.example.com", "web-03.dev.example.com"}},
		{line: "gnife search node role:", want: []string{"role:base", "role:db", "role:monitoring", "role:web"}},
		// bash itself splits "role:w" into "role" ":" "w" and replaces
		// only "w".
		{line: "gnife search node role:w", words: []string{"gnife", "search", "node", "role", ":", "w"}, want: []string{"web"}},
		{line: "gnife search node role:", words: []string{"gnife", "search", "node", "role", ":"}, want: []string{"base", "db", "monitoring", "web"}},
		{line: "gnife search node chef_environment:", want: []string{"chef_environment:_default", "chef_environment:dev", "chef_environment:prod", "chef_environment:sandbox"}},
		{line: "gnife data bag show ", want: []string{"users"}},
		{line: "gnife data bag show users ", want: []string{"alice", "bob", "carol"}},
		{line: "gnife role show ", want: []string{"base", "db", "monitoring", "web"}},
		{line: "gnife environment show p", want: []string{"prod"}},
		{line: "gnife search node 'name:db-0", want: []string{"name:db-01.prod.example.com", "name:db-02.prod.example.com"}},
		{line: "gnife search node role:web --fo", want: []string{"--format"}},
		{line: "gnife node show web-01.prod.example.com -F ", want: []string{"json", "pp", "summary", "text", "yaml"}},
		{line: "gnife ssh role:web uptime --no-host", want: []string{"--no-host-key-verify"}},
		{line: "gnife completion ", want: []string{"bash", "fish", "zsh"}},
		{line: "gnife __comp", want: nil},
	}
	for _, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			words := c.words
			if words == nil {
				words = strings.Fields(c.line)
				if strings.HasSuffix(c.line, " ") {
					words = append(words, "")
				}
			}
			env := append(s.shellEnv(t, s.srv.URL), "LINE="+c.line)
			out, errOut := runShell(t, env, "bash", append([]string{"-c", bashComplete, "bash"}, words...)...)
			if errOut != "" {
				t.Errorf("stderr: %s", errOut)
			}
			if got := lines(out); !reflect.DeepEqual(got, c.want) {
				t.Errorf("COMPREPLY %q, want %q", got, c.want)
			}
		})
	}
}

// TestZshCompletion loads the script in a real zsh, both sourced after
// compinit and autoloaded from fpath, and runs its function with compadd
// standing in for the completion system.
func TestZshCompletion(t *testing.T) {
	s := setup(t)
	env := s.shellEnv(t, s.srv.URL)
	out, errOut := runShell(t, env, "zsh", "-c", `autoload -U compinit; compinit -u; source <(gnife completion zsh); print -r -- $_comps[gnife]`)
	if errOut != "" || strings.TrimSpace(out) != "_gnife" {
		t.Errorf("sourced: stdout %q, stderr %q; want _gnife registered for gnife", out, errOut)
	}
	dir := t.TempDir()
	script, err := completion.Script("zsh", "gnife")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "_gnife"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut = runShell(t, env, "zsh", "-c", `fpath=(`+dir+` $fpath); autoload -U compinit; compinit -u -D; print -r -- $_comps[gnife]`)
	if errOut != "" || strings.TrimSpace(out) != "_gnife" {
		t.Errorf("from fpath: stdout %q, stderr %q; want _gnife registered for gnife", out, errOut)
	}
	run := func(line string) []string {
		words := strings.Fields(line)
		if strings.HasSuffix(line, " ") {
			words = append(words, "")
		}
		script := `autoload -U compinit; compinit -u; source <(gnife completion zsh)
compadd() { print -rl -- "${@[${@[(i)--]}+1,-1]}" }
words=("$@"); CURRENT=$#
_gnife`
		out, errOut := runShell(t, env, "zsh", append([]string{"-c", script, "zsh"}, words...)...)
		if errOut != "" {
			t.Errorf("%s: stderr %s", line, errOut)
		}
		return lines(out)
	}
	if got := run("gnife se"); !reflect.DeepEqual(got, []string{"search"}) {
		t.Errorf("gnife se: %q", got)
	}
	if got := run("gnife search node role:"); !reflect.DeepEqual(got, []string{"role:base", "role:db", "role:monitoring", "role:web"}) {
		t.Errorf("gnife search node role: %q", got)
	}
}

// TestFishCompletion loads the script in a real fish and asks fish
// itself for the completions.
func TestFishCompletion(t *testing.T) {
	s := setup(t)
	env := s.shellEnv(t, s.srv.URL)
	complete := func(line string) []string {
		out, errOut := runShell(t, env, "fish", "-c", "gnife completion fish | source; complete -C '"+line+"'")
		if errOut != "" {
			t.Errorf("%s: stderr %s", line, errOut)
		}
		var got []string
		for _, l := range lines(out) {
			got = append(got, strings.SplitN(l, "\t", 2)[0])
		}
		return got
	}
	if got := complete("gnife se"); !reflect.DeepEqual(got, []string{"search"}) {
		t.Errorf("gnife se: %q, want search", got)
	}
	if got := complete("gnife node show we"); !reflect.DeepEqual(got, []string{"web-01.prod.example.com", "web-02.prod.example.com", "web-03.dev.example.com"}) {
		t.Errorf("gnife node show we: %q", got)
	}
}

// TestCompletionNeverHangs: names are cached, so a Shearch that went away
// still completes; a Shearch that does not answer costs about a second
// and completes nothing, and static words never wait on Shearch.
func TestCompletionNeverHangs(t *testing.T) {
	s := setup(t)
	gone := httptest.NewServer(s.handler)
	env := s.shellEnv(t, gone.URL)
	ask := func(env []string, words ...string) ([]string, time.Duration) {
		start := time.Now()
		out, _ := runShell(t, env, filepath.Join(s.binDir, "gnife"), append([]string{"__complete", "--"}, words...)...)
		return lines(out), time.Since(start)
	}
	roles := []string{"base", "db", "monitoring", "web"}
	if got, _ := ask(env, "role", "show", ""); !reflect.DeepEqual(got, roles) {
		t.Fatalf("roles: %q", got)
	}
	gone.Close()
	if got, _ := ask(env, "role", "show", ""); !reflect.DeepEqual(got, roles) {
		t.Errorf("roles from the cache after Shearch went away: %q", got)
	}
	files, _ := filepath.Glob(filepath.Join(strings.TrimPrefix(env[2], "XDG_CACHE_HOME="), "gnife", "*.json"))
	if len(files) != 1 {
		t.Errorf("cache files: %q, want one under $XDG_CACHE_HOME/gnife", files)
	}

	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-time.After(30 * time.Second):
		}
	}))
	defer slow.Close()
	defer close(release)
	env = s.shellEnv(t, slow.URL)
	got, took := ask(env, "node", "show", "")
	if got != nil || took > 5*time.Second {
		t.Errorf("slow Shearch: %q after %v; want nothing within a few seconds", got, took)
	}
	if got, took := ask(env, "se"); !reflect.DeepEqual(got, []string{"search"}) || took > 5*time.Second {
		t.Errorf("gnife se with a slow Shearch: %q after %v", got, took)
	}
}

// TestCacheExpiry: fresh entries are served without asking, old ones are
// refreshed, and old ones are still served when the refresh fails.
func TestCacheExpiry(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	calls := 0
	answer := []string{"a"}
	var fail error
	c := &completion.Cache{Key: "k", Dir: t.TempDir(), Now: func() time.Time { return now },
		List: func(ctx context.Context, path string) ([]string, error) {
			calls++
			return answer, fail
		}}
	step := func(advance time.Duration, want string, wantCalls int) {
		t.Helper()
		now = now.Add(advance)
		if got := strings.Join(c.Names("/roles"), ","); got != want || calls != wantCalls {
			t.Errorf("after %v: %q with %d calls, want %q with %d", advance, got, calls, want, wantCalls)
		}
	}
	step(0, "a", 1)
	answer = []string{"b"}
	step(30*time.Second, "a", 1)
	step(31*time.Second, "b", 2)
	fail = errors.New("down")
	step(61*time.Second, "b", 3)
}

// TestCompleteTree checks the tree walk against gnife's real command
// tree, with names from a stub.
func TestCompleteTree(t *testing.T) {
	app := gnife.NewApp(&gnife.Env{})
	for _, name := range []string{"ssh", "completion", "__complete"} {
		if app.Command(name) == nil {
			t.Fatalf("gnife has no %s command: gnife/commands.go must list sshCommand(env), completionCommand(env) and completeCommand(env)", name)
		}
	}
	names := func(path string) []string {
		return map[string][]string{
			"/nodes": {"db-01", "web-01", "web-02"}, "/roles": {"db", "web"},
			"/environments": {"dev", "prod"}, "/data": {"users"}, "/data/users": {"alice"},
		}[path]
	}
	cases := []struct {
		words []string
		want  []string
	}{
		{[]string{"data", "b"}, []string{"bag"}},
		{[]string{"data", "bag", "show", "users", ""}, []string{"alice"}},
		{[]string{"node", "list", "-E", "p"}, []string{"prod"}},
		// node show's -E is a switch: the next word is the node.
		{[]string{"node", "show", "-E", "w"}, []string{"web-01", "web-02"}},
		{[]string{"node", "show", "-F", "json", "w"}, []string{"web-01", "web-02"}},
		{[]string{"search", ""}, []string{"client", "environment", "node", "role", "users"}},
		{[]string{"search", "node", "role:web AND chef_environment:d"}, []string{"role:web AND chef_environment:dev"}},
		{[]string{"search", "node", "(NOT role:"}, []string{"(NOT role:db", "(NOT role:web"}},
		{[]string{"search", "node", "ro"}, []string{"role:", "roles:"}},
		{[]string{"ssh", "-a", "ipaddress", "role:w"}, []string{"role:web"}},
		{[]string{"node", "show", "web-01", ""}, nil},
		{[]string{"environment", "compare", "p"}, []string{"prod"}},
		{[]string{"environment", "compare", "prod", "-m", "d"}, []string{"dev"}},
		{[]string{"rollout", "role:w"}, []string{"role:web"}},
	}
	for _, c := range cases {
		if got := completion.Complete(app, c.words, names); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %q, want %q", c.words, got, c.want)
		}
	}
	if _, err := completion.Script("tcsh", "gnife"); err == nil {
		t.Error("tcsh: want an error")
	}
}
