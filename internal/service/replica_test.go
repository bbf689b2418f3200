package service_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shearch/shearch/internal/config"
	"github.com/shearch/shearch/internal/service"
)

// GET /v1/shards carries this replica's share beside the topology, and the
// shard URLs in it are still redacted.
func TestShardsShowTheShareAndStayRedacted(t *testing.T) {
	dir := t.TempDir()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "admin.pem")
	write(t, key, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	cfg, err := config.Parse([]byte("shutdown_delay: 0s\nshards:\n  max_in_flight: 6\n  client_key: " + key +
		"\n  static:\n    - {name: chef-1, url: \"http://user:s3cret@127.0.0.1:1\", stack: prod}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := service.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- s.Serve(ctx, "127.0.0.1:0", func(a string) { addrc <- a }) }()
	defer func() { cancel(); <-done }()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatal(err)
	}
	res, err := http.Get("http://" + addr + "/v1/shards")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if strings.Contains(string(body), "s3cret") {
		t.Errorf("/v1/shards shows the shard's password: %s", body)
	}
	var v struct {
		Shards  []struct{ URL string } `json:"shards"`
		Replica struct {
			Replicas, Slots, MaxInFlight int
		} `json:"replica"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Shards) != 1 || v.Replica.Replicas != 1 || v.Replica.Slots != 6 {
		t.Errorf("/v1/shards alone: want 1 shard, 1 replica, 6 slots: %s", body)
	}
}
