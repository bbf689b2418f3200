package gnife

import (
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// server_url and SHEARCH_URL may list several replicas, comma-separated.
func TestServerURLList(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.yaml")
	os.WriteFile(file, []byte("server_url: http://a:4000, http://b:4000\n"), 0o600)
	t.Setenv("GNIFE_CONFIG", file)
	t.Setenv("SHEARCH_URL", "")
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"http://a:4000", "http://b:4000"}; !reflect.DeepEqual(cfg.Addresses, want) {
		t.Errorf("server_url: %v, want %v", cfg.Addresses, want)
	}
	t.Setenv("SHEARCH_URL", "http://c:4000,http://d:4000")
	if cfg, _ = LoadConfig(); !reflect.DeepEqual(cfg.Addresses, []string{"http://c:4000", "http://d:4000"}) {
		t.Errorf("SHEARCH_URL: %v", cfg.Addresses)
	}
}

// With a replica down, every command still answers as with one URL, and
// each move to the next URL is one line on stderr.
func TestFailoverLine(t *testing.T) {
	f := startFleet(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	wantOut, _, code := runGnife(t, f, []string{"search", "node", "role:web", "-i"})
	if code != 0 {
		t.Fatalf("one URL: exit %d", code)
	}
	line := regexp.MustCompile(`^WARNING: Shearch at ` + regexp.QuoteMeta(dead) + ` did not answer \(.*connection refused.*\); trying ` + regexp.QuoteMeta(f.srv.URL) + "\n$")
	moves := 0
	for i := 0; i < 20; i++ {
		out, errOut, code := runGnife(t, f, []string{"search", "node", "role:web", "-i", "-s", dead + "," + f.srv.URL})
		errOut = strings.TrimSuffix(errOut, "3 items found\n\n")
		if code != 0 || out != wantOut {
			t.Fatalf("two URLs, one down: exit %d\n%s%s", code, out, errOut)
		}
		switch {
		case errOut == "":
		case line.MatchString(errOut):
			moves++
		default:
			t.Fatalf("stderr %q: want nothing or one move line", errOut)
		}
	}
	if moves == 0 {
		t.Error("20 runs and none started at the dead URL: the start is not random")
	}
}
