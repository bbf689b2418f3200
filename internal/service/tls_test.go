package service_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/gnife"
	"github.com/shearch/shearch/internal/config"
	"github.com/shearch/shearch/internal/service"
)

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "shearch test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	write(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	return certFile, keyFile
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// oneNodeShard is a Chef organization holding the node web-01.
func oneNodeShard(t *testing.T) *httptest.Server {
	node := map[string]any{"name": "web-01", "chef_environment": "_default", "json_class": "Chef::Node",
		"automatic": map[string]any{"ohai_time": 1700000000.5, "ipaddress": "127.0.0.11"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/organizations/acme/search/node":
			if r.Method == http.MethodPost {
				body := map[string][]string{}
				json.NewDecoder(r.Body).Decode(&body)
				data := map[string]any{}
				for k := range body {
					data[k] = "web-01"
				}
				json.NewEncoder(w).Encode(map[string]any{"total": 1, "rows": []any{map[string]any{"url": "x/nodes/web-01", "data": data}}})
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"total": 1, "rows": []any{node}})
		case "/organizations/acme/nodes/web-01":
			json.NewEncoder(w).Encode(node)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Shearch serves HTTPS from tls.cert_file and tls.key_file; the Go client
// and gnife trust it through a CA file (SHEARCH_CACERT or ca_file), and a
// client that does not trust it is refused.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := selfSigned(t, dir)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	adminKey := filepath.Join(dir, "admin.pem")
	write(t, adminKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}))
	shard := oneNodeShard(t)
	// shutdown_delay 0s: the deferred stop would otherwise wait out the
	// 5 s that load balancers get to notice.
	cfg, err := config.Parse([]byte("shutdown_delay: 0s\nshards:\n  client_key: " + adminKey + "\n  static:\n    - name: chef-1\n      url: " +
		shard.URL + "/organizations/acme\n      stack: prod\ntls:\n  cert_file: " + certFile + "\n  key_file: " + keyFile + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := service.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, "127.0.0.1:0", func(a string) { addrc <- a }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	base := "https://" + addr

	if _, err := http.Get(base + "/healthz"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("an untrusting client: %v", err)
	}
	if res, err := http.Get("http://" + addr + "/healthz"); err == nil && res.StatusCode < 400 {
		t.Fatalf("plain http answered %d", res.StatusCode)
	}

	cl, err := api.NewClient(&api.Config{Addresses: []string{base}, CAFile: certFile})
	if err != nil {
		t.Fatal(err)
	}
	res, err := cl.Search(context.Background(), "node", "*:*", &api.SearchOptions{AllowPartial: true})
	if err != nil || res.Total != 1 || res.Rows[0].Name != "web-01" {
		t.Fatalf("search over https: %+v %v", res, err)
	}

	// gnife through SHEARCH_URL=https://... and SHEARCH_CACERT, then
	// through ca_file in its config file.
	gcfg := filepath.Join(dir, "gnife.yaml")
	write(t, gcfg, nil)
	t.Setenv("GNIFE_CONFIG", gcfg)
	t.Setenv("SHEARCH_URL", base)
	t.Setenv("SHEARCH_TOKEN", "")
	run := func() (int, string, string) {
		var out, errOut bytes.Buffer
		code := gnife.Run([]string{"search", "node", "*:*", "-i"}, gnife.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, nil)
		return code, out.String(), errOut.String()
	}
	t.Setenv("SHEARCH_CACERT", certFile)
	if code, out, errOut := run(); code != 0 || out != "web-01\n" {
		t.Fatalf("gnife with SHEARCH_CACERT: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	t.Setenv("SHEARCH_CACERT", "")
	if code, _, errOut := run(); code == 0 || !strings.Contains(errOut, "certificate") {
		t.Fatalf("gnife without a CA file: exit %d, stderr %q", code, errOut)
	}
	write(t, gcfg, []byte("ca_file: "+certFile+"\n"))
	if code, out, errOut := run(); code != 0 || !strings.Contains(out, "web-01") {
		t.Fatalf("gnife with ca_file: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	t.Setenv("SHEARCH_CACERT", filepath.Join(dir, "missing.pem"))
	if code, _, errOut := run(); code == 0 || !strings.Contains(errOut, "missing.pem") || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
		t.Fatalf("gnife with a missing CA file: exit %d, stderr %q", code, errOut)
	}
}
