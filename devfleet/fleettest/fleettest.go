// Package fleettest gives tests a whole Shearch: real goiardi shards
// holding a fixture, the engine, the HTTP server and the Go client.
package fleettest

import (
	"context"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server"
)

// Fleet is n shards behind a Shearch.
type Fleet struct {
	Cluster *devfleet.Cluster
	Engine  *engine.Engine
	Server  *server.Server
	HTTP    *httptest.Server
	Client  *api.Client
}

// Start starts n goiardi shards named chef-1..n in the prod stack,
// spreads fx over them and serves Shearch in front of them. configure,
// when not nil, adjusts the engine and server before serving.
func Start(ctx context.Context, n int, fx *devfleet.Fixture, configure func(*Fleet)) (*Fleet, error) {
	c, err := devfleet.StartCluster(ctx, "chef", "prod", n, fx)
	if err != nil {
		return nil, err
	}
	f := &Fleet{Cluster: c}
	f.Engine = engine.Over(search.MustNew(search.Config{DefaultStack: "prod", Timeout: 5 * time.Second, FetchByGet: true, CheckQueries: true}, search.Deps{Topology: search.StaticShards(c.ShardList())}))
	f.Server = server.New(f.Engine, nil)
	if configure != nil {
		configure(f)
	}
	f.HTTP = httptest.NewServer(f.Server)
	if f.Client, err = api.NewClient(&api.Config{Addresses: []string{f.HTTP.URL}}); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Close stops the server and the shards.
func (f *Fleet) Close() {
	if f.HTTP != nil {
		f.HTTP.Close()
	}
	f.Cluster.Stop()
}

// Shared starts one fleet for a whole test binary, on first use: starting
// shards is the slow part of a test. Stop it from TestMain with Close.
type Shared struct {
	FixtureDir string
	Shards     int
	Configure  func(*Fleet)

	once  sync.Once
	fleet *Fleet
	err   error
}

// Get returns the shared fleet, starting it the first time.
func (s *Shared) Get() (*Fleet, error) {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		fx, err := devfleet.ReadFixture(s.FixtureDir)
		if err != nil {
			s.err = err
			return
		}
		s.fleet, s.err = Start(ctx, s.Shards, fx, s.Configure)
	})
	return s.fleet, s.err
}

// Close stops the shared fleet if it was started.
func (s *Shared) Close() {
	if s.fleet != nil {
		s.fleet.Close()
	}
}
