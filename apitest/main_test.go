package apitest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/internal/auth"
	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/internal/integration"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server"
	"github.com/shearch/shearch/shards"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	code := m.Run()
	live.close()
	os.Exit(code)
}

// Tokens of the live Shearch: writeToken may write, readToken only read.
const (
	writeToken = "wtok"
	readToken  = "rtok"
)

// liveFleet is 3 goiardi shards holding testdata/fixture behind a Shearch
// that takes tokens and Chef keys (alice may write), started once.
type liveFleet struct {
	once    sync.Once
	err     error
	cluster *devfleet.Cluster
	srv     *httptest.Server
	dir     string
	// aliceKey is the path of alice's private key.
	aliceKey string
	auth     *auth.Authenticator
}

var live = &liveFleet{}

func (l *liveFleet) get(t testing.TB) *liveFleet {
	t.Helper()
	integration.Needs(t, "goiardi")
	l.once.Do(func() { l.err = l.start() })
	if l.err != nil {
		t.Fatal(l.err)
	}
	return l
}

func (l *liveFleet) start() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fx, err := devfleet.ReadFixture("../testdata/fixture")
	if err != nil {
		return err
	}
	if l.cluster, err = devfleet.StartCluster(ctx, "chef", "prod", 3, fx); err != nil {
		return fmt.Errorf("starting 3 goiardi shards: %v", err)
	}
	if l.dir, err = os.MkdirTemp("", "apitest-"); err != nil {
		return err
	}
	tokens := filepath.Join(l.dir, "tokens")
	os.WriteFile(tokens, []byte(writeToken+" write\n"+readToken+"\n"), 0o600)
	keys := filepath.Join(l.dir, "keys")
	os.Mkdir(keys, 0o700)
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	l.aliceKey = filepath.Join(l.dir, "alice-private.pem")
	os.WriteFile(l.aliceKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600)
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	os.WriteFile(filepath.Join(keys, "alice.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600)
	a, err := auth.New(auth.Options{TokensFile: tokens, ChefKeysDir: keys, Writers: []string{"alice"}})
	if err != nil {
		return err
	}
	e := search.MustNew(search.Config{DefaultStack: "prod", Timeout: 10 * time.Second, FetchByGet: true, CheckQueries: true}, search.Deps{Topology: search.StaticShards(l.cluster.ShardList())})
	l.auth = a
	s := server.New(engine.Over(e), quiet())
	s.Auth = a
	l.srv = httptest.NewServer(s)
	return nil
}

func (l *liveFleet) close() {
	if l.srv != nil {
		l.srv.Close()
	}
	if l.cluster != nil {
		l.cluster.Stop()
	}
	if l.dir != "" {
		os.RemoveAll(l.dir)
	}
}

// client is a client of the live Shearch with token.
func (l *liveFleet) client(t testing.TB, token string) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Addresses: []string{l.srv.URL}, Token: token, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// engineOver is a Shearch engine over static shards with guards gc.
func engineOver(list []shards.Shard, gc shards.GuardConfig) *engine.Engine {
	return engine.Over(search.MustNew(search.Config{DefaultStack: "prod", Timeout: 30 * time.Second, CheckQueries: true}, search.Deps{Topology: search.StaticShards(list), Log: quiet(), Guards: shards.NewGuards(gc, quiet())}))
}
