package server_test

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-chef/chef"

	"github.com/shearch/shearch/internal/auth"
	"github.com/shearch/shearch/server"
)

func tokenAuth(t *testing.T, lines string) *auth.Authenticator {
	t.Helper()
	f := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(f, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Options{TokensFile: f})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// chefUser is a Chef user's key pair; its public half goes in the keys
// folder.
type chefUser struct {
	name, private string
	public        []byte
}

func newChefUser(t *testing.T, name string) chefUser {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return chefUser{name: name,
		private: string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})),
		public:  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})}
}

// authedServer serves the shared fleet with tokens and Chef keys on.
func authedServer(t *testing.T, f *fleet, now func() time.Time, tokens string, users ...chefUser) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	os.Mkdir(keys, 0o700)
	for _, u := range users {
		os.WriteFile(filepath.Join(keys, u.name+".pem"), u.public, 0o600)
	}
	os.WriteFile(filepath.Join(dir, "tokens"), []byte(tokens), 0o600)
	a, err := auth.New(auth.Options{TokensFile: filepath.Join(dir, "tokens"), ChefKeysDir: keys, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	s := server.New(f.engine, nil)
	s.Auth = a
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

func chefClient(t *testing.T, baseURL, name, key, version string) *chef.Client {
	t.Helper()
	c, err := chef.NewClient(&chef.Config{Name: name, Key: key, BaseURL: baseURL + "/", AuthenticationVersion: chef.AuthVersion(version)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantChef401 checks err is a 401 whose body is Chef's {"error": [...]}
// saying words.
func wantChef401(t *testing.T, what string, err error, words string) {
	t.Helper()
	cerr, _ := chef.ChefError(err)
	if cerr == nil || cerr.StatusCode() != 401 {
		t.Fatalf("%s: want a 401, got %v", what, err)
	}
	var body struct{ Error []string }
	if json.Unmarshal(cerr.StatusText(), &body) != nil || len(body.Error) != 1 || !strings.Contains(body.Error[0], words) {
		t.Fatalf("%s: want {\"error\": [\"...%s...\"]}, got %s", what, words, cerr.StatusText())
	}
}

// go-chef signing as a user whose key is in chef_keys_dir gets the same
// answers as with auth off, with protocol 1.0 and 1.3, with and without
// /organizations/{org}; an unknown user, a mismatched key, an old
// signature, a changed body and no credentials at all get 401.
func TestGoChefSignedAgainstShearch(t *testing.T) {
	f := startFleet(t)
	deploy := newChefUser(t, "deploy")
	srv := authedServer(t, f, nil, "reader-token\n", deploy)
	ref := chefClient(t, f.srv.URL, "anyone", throwawayKey(t), "1.0") // auth off
	for _, v := range []string{"1.0", "1.3"} {
		for _, base := range []string{srv.URL, srv.URL + "/organizations/acme"} {
			via := chefClient(t, base, "deploy", deploy.private, v)
			what := "go-chef " + v + " at " + strings.TrimPrefix(base, srv.URL)
			same := func(name string, a, b any) {
				t.Helper()
				ja, _ := json.Marshal(a)
				jb, _ := json.Marshal(b)
				if string(ja) != string(jb) {
					t.Fatalf("%s: %s differs:\n signed: %s\n auth off: %s", what, name, ja, jb)
				}
			}
			for _, q := range []string{"role:web", "*:*", "chef_environment:dev"} {
				a, err := via.Search.Exec("node", q)
				if err != nil {
					t.Fatalf("%s: search %s: %v", what, q, err)
				}
				b, err := ref.Search.Exec("node", q)
				if err != nil {
					t.Fatal(err)
				}
				same("search node "+q, a, b)
				part := map[string]interface{}{"ip": []string{"ipaddress"}, "name": []string{"name"}}
				pa, err := via.Search.PartialExec("node", q, part)
				if err != nil {
					t.Fatalf("%s: partial search %s: %v", what, q, err)
				}
				pb, _ := ref.Search.PartialExec("node", q, part)
				same("partial search "+q, partialData(pa.Rows), partialData(pb.Rows))
			}
			na, err := via.Nodes.List()
			if err != nil {
				t.Fatalf("%s: node list: %v", what, err)
			}
			nb, _ := ref.Nodes.List()
			same("node list", keys(na), keys(nb))
			a, err := via.Nodes.Get("web-01.prod.example.com")
			if err != nil {
				t.Fatalf("%s: node show: %v", what, err)
			}
			b, _ := ref.Nodes.Get("web-01.prod.example.com")
			same("node web-01", a, b)
			ra, err := via.Roles.Get("web")
			if err != nil {
				t.Fatal(err)
			}
			rb, _ := ref.Roles.Get("web")
			same("role web", ra, rb)
			ia, err := via.DataBags.GetItem("users", "carol")
			if err != nil {
				t.Fatal(err)
			}
			ib, _ := ref.DataBags.GetItem("users", "carol")
			same("data bag item", ia, ib)
			if _, err := via.Nodes.Get("missing-node"); err == nil {
				t.Fatalf("%s: a missing node is not an error", what)
			} else if cerr, _ := chef.ChefError(err); cerr == nil || cerr.StatusCode() != 404 {
				t.Fatalf("%s: a missing node: want a 404, got %v", what, err)
			}

			_, err = chefClient(t, base, "nobody", deploy.private, v).Search.Exec("node", "*:*")
			wantChef401(t, what+" unknown user", err, auth.ChefFailure("nobody"))
			_, err = chefClient(t, base, "deploy", throwawayKey(t), v).Search.Exec("node", "*:*")
			wantChef401(t, what+" mismatched key", err, auth.ChefFailure("deploy"))
		}
	}
	// A signature older than 15 minutes: the server's clock is ahead.
	late := authedServer(t, f, func() time.Time { return time.Now().Add(16 * time.Minute) }, "t\n", deploy)
	for _, v := range []string{"1.0", "1.3"} {
		_, err := chefClient(t, late.URL, "deploy", deploy.private, v).Search.Exec("node", "*:*")
		wantChef401(t, v+" old signature", err, "Synchronize the clock on your host")
		// A body changed after signing.
		c := chefClient(t, srv.URL, "deploy", deploy.private, v)
		req, err := c.NewRequest("POST", "search/node?q=*:*", strings.NewReader(`{"ip":["ipaddress"]}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Body = io.NopCloser(strings.NewReader(`{"ip":["macaddress"]}`))
		req.ContentLength = -1
		_, err = c.Do(req, nil)
		wantChef401(t, v+" changed body", err, auth.ChefFailure("deploy"))
	}
	// No credentials at all, on Chef and native endpoints.
	for _, p := range []string{"/search/node?q=*:*", "/organizations/acme/nodes", "/v1/search/node"} {
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var body struct{ Error []string }
		if res.StatusCode != 401 || json.Unmarshal(b, &body) != nil || len(body.Error) != 1 || !strings.HasPrefix(body.Error[0], "Failed to authenticate: no valid credentials") {
			t.Fatalf("GET %s without credentials: %d %s", p, res.StatusCode, b)
		}
	}
}

// The requests real knife 16.12.3 signed (protocol 1.1 and 1.3) get the
// same answers through an authenticating Shearch as with auth off, at the
// time they were signed; with the real clock they are too old.
func TestKnifeSignedRequestsServed(t *testing.T) {
	f := startFleet(t)
	fh, err := os.Open("../testdata/chef-auth/knife-16.12.3-requests.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	pub, err := os.ReadFile("../testdata/chef-auth/alice.pem")
	if err != nil {
		t.Fatal(err)
	}
	var now time.Time
	srv := authedServer(t, f, func() time.Time { return now }, "t\n", chefUser{name: "alice", public: pub})
	realClock := authedServer(t, f, nil, "t\n", chefUser{name: "alice", public: pub})
	send := func(base string, k map[string]any) (int, string) {
		req, _ := http.NewRequest(k["method"].(string), base+k["path"].(string), strings.NewReader(k["body"].(string)))
		for h, v := range k["headers"].(map[string]any) {
			if h != "Host" && h != "Content-Length" && h != "Connection" && h != "Accept-Encoding" {
				req.Header.Set(h, v.(string))
			}
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, strings.ReplaceAll(string(b), base, "BASE")
	}
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
		var k map[string]any
		if err := json.Unmarshal(sc.Bytes(), &k); err != nil {
			t.Fatal(err)
		}
		ts, _ := time.Parse(time.RFC3339, k["headers"].(map[string]any)["X-Ops-Timestamp"].(string))
		now = ts.Add(time.Minute)
		code, body := send(srv.URL, k)
		refCode, refBody := send(f.srv.URL, k)
		if code != 200 || code != refCode || body != refBody {
			t.Fatalf("knife request %d (%s %s): %d %s\nauth off: %d %s", n, k["method"], k["path"], code, body, refCode, refBody)
		}
		if code, body := send(realClock.URL, k); code != 401 || !strings.Contains(body, "Failed to authenticate as 'alice'. Synchronize the clock on your host") {
			t.Fatalf("knife request %d with the real clock: %d %s", n, code, body)
		}
	}
	if n != 9 {
		t.Fatalf("replayed %d knife requests, want 9", n)
	}
}
