// Package service assembles Shearch from its configuration: the topology
// of shards, the federated engine and the HTTP server.
package service

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/shearch/shearch/internal/auth"
	"github.com/shearch/shearch/internal/config"
	"github.com/shearch/shearch/internal/discovery"
	"github.com/shearch/shearch/internal/drift"
	"github.com/shearch/shearch/internal/engine"
	"github.com/shearch/shearch/internal/facets"
	"github.com/shearch/shearch/internal/fallback"
	"github.com/shearch/shearch/internal/replica"
	"github.com/shearch/shearch/internal/writes"
	"github.com/shearch/shearch/search"
	"github.com/shearch/shearch/server"
	"github.com/shearch/shearch/shards"
)

// Service is a configured Shearch.
type Service struct {
	Config   *config.Config
	Topology *discovery.Topology
	Engine   *search.Engine
	Server   *server.Server
	Log      *slog.Logger
	// ConfigFile, when set, is re-read on SIGHUP for auth.writers.
	ConfigFile string
	// Replica is this replica's Consul membership; nil when it runs alone
	// (no replica.advertise).
	Replica *replica.Member
	// tls, when set, makes Serve answer HTTPS only.
	tls *tls.Config
}

// ConfigError is a configuration problem: the process should exit 2.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// New checks the configuration (key files, URLs) and builds the parts;
// nothing is started.
func New(cfg *config.Config, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	tlsCfg, err := loadTLS(cfg.TLS)
	if err != nil {
		return nil, &ConfigError{err}
	}
	tc := discovery.Config{
		Defaults:  discovery.ShardDefaults{ClientName: cfg.Shards.ClientName, ClientKey: cfg.Shards.ClientKey, Timeout: cfg.Shards.Timeout.Duration},
		CacheFile: cfg.CacheFile,
	}
	for _, s := range cfg.Shards.Static {
		name, key := cfg.KeyFor(s)
		sh := shards.Shard{Name: s.Name, URL: s.URL, Stack: s.Stack, ClientName: name, ClientKey: key,
			Source: shards.SourceStatic, Health: shards.HealthUnknown, Timeout: cfg.Shards.Timeout.Duration}
		// Read every key now: a missing or bad key is a start-up error,
		// not a shard that fails on every query.
		if _, err := shards.NewClient(sh); err != nil {
			return nil, &ConfigError{err}
		}
		tc.Static = append(tc.Static, sh)
	}
	// Discovered shards sign with the default key: read it now.
	if len(cfg.Route53.Records) > 0 || cfg.Shards.ClientKey != "" {
		if err := checkKey(cfg.Shards.ClientKey, "shards.client_key"); err != nil {
			return nil, &ConfigError{err}
		}
	}
	if len(cfg.Route53.Records) > 0 {
		r := &discovery.Route53Config{Endpoint: cfg.Route53.Endpoint, ZoneID: cfg.Route53.ZoneID, URLTemplate: cfg.Route53.URLTemplate,
			Refresh: cfg.Route53.Refresh.Duration, Region: cfg.Route53.Region}
		for _, rec := range cfg.Route53.Records {
			r.Records = append(r.Records, discovery.Route53Record{Name: rec.Name, Stack: rec.Stack})
		}
		tc.Route53 = r
	}
	if cfg.Consul.Address != "" {
		tc.Consul = &discovery.ConsulConfig{Address: cfg.Consul.Address, ShardService: cfg.Consul.ShardService,
			ShardTag: cfg.Consul.ShardTag, ShardScheme: cfg.Consul.ShardScheme,
			Trust: discovery.ConsulTrust{Names: cfg.Consul.ShardNames, Networks: cfg.Consul.ShardNetworks, CAFile: cfg.Consul.ShardCAFile}}
		if cfg.Consul.ShardCAFile != "" {
			if err := shards.CheckCAFile(cfg.Consul.ShardCAFile); err != nil {
				return nil, &ConfigError{err}
			}
		}
	}
	if len(tc.Static) == 0 && tc.Route53 == nil && tc.Consul == nil {
		return nil, &ConfigError{errors.New("no shards: list shards.static, or configure route53 records or consul")}
	}
	if cfg.Replica.Advertise != "" {
		tc.Shared = &discovery.SharedConfig{Address: cfg.Consul.Address, Writer: cfg.Replica.Advertise}
	}
	// One registry for the engine's metrics and the server's: /metrics
	// serves both.
	reg := prometheus.NewRegistry()
	topo, err := discovery.NewTopology(tc, log)
	if err != nil {
		return nil, &ConfigError{err}
	}
	deps := search.Deps{Topology: snapshotLister{topo}, OnShardResult: topo.ReportShardError,
		Guards: shards.NewGuards(guardConfig(cfg), log), Log: log, Registerer: reg}
	if cfg.Search.CacheTTL.Duration > 0 {
		deps.Cache = &search.Cache{TTL: cfg.Search.CacheTTL.Duration, Size: cfg.Search.CacheSize, MaxBytes: int(cfg.Search.CacheBytes)}
	}
	if cfg.Consul.NodeFallback && cfg.Consul.Address != "" {
		fb, err := fallback.New(fallback.Config{Address: cfg.Consul.Address})
		if err != nil {
			return nil, &ConfigError{err}
		}
		deps.Fallback = fb
	}
	eng, err := search.New(search.Config{DefaultStack: cfg.DefaultStack, Timeout: cfg.Shards.Timeout.Duration,
		Concurrency: cfg.Search.Concurrency, CheckQueries: true,
		OrderTTL: cfg.Search.OrderTTL.Duration, OrderBytes: int(cfg.Search.OrderCacheBytes),
		FirstPageBytes: int(cfg.Search.FirstPageBytes), FetchChunk: cfg.Search.FetchChunk, FetchByGet: cfg.Search.ObjectFetch == "get",
		SortBytes: int(cfg.Search.SortMemoryBytes), SpillBytes: int64(cfg.Search.SpillMaxBytes), SpillDir: cfg.Search.SpillDir,
		SpillTotalBytes: int64(cfg.Search.SpillTotalBytes), MaxAnswerBytes: int64(cfg.Shards.MaxAnswerBytes),
		MaxRows: cfg.Search.MaxRows, MaxPageBytes: int64(cfg.Search.MaxPageBytes),
	}, deps)
	if err != nil {
		return nil, err
	}
	full := engine.New(eng, engine.Config{
		Writes: writes.Config{OwnerTTL: cfg.Search.NodeOwnerTTL.Duration, OwnerCacheSize: cfg.Search.NodeOwnerCacheSize},
		Drift:  drift.Config{ReportTTL: cfg.Consistency.CacheTTL.Duration},
	})
	srv := server.NewWithRegistry(full, log, reg)
	srv.PublicURL = cfg.PublicURL
	srv.Facets = facets.Config{MaxBytes: int64(cfg.Search.MaxFacetBytes),
		Rollout: facets.RolloutConfig{StaleAfter: cfg.Search.RolloutStaleAfter.Duration, MaxLagging: cfg.Search.RolloutMaxLagging}}
	srv.Limits = server.Limits{MaxQueryBytes: int(cfg.Search.MaxQueryBytes), MaxBodyBytes: int64(cfg.Server.MaxBodyBytes),
		WriteTimeout: orDefault(cfg.Server.WriteTimeout, config.Defaults().Server.WriteTimeout)}
	var member *replica.Member
	if cfg.Replica.Advertise != "" {
		scheme := "http"
		if tlsCfg != nil {
			scheme = "https"
		}
		member, err = replica.New(replica.Config{ConsulAddress: cfg.Consul.Address, Service: cfg.Replica.Service,
			Advertise: cfg.Replica.Advertise, Scheme: scheme, CheckInterval: cfg.Replica.CheckInterval.Duration,
			MaxInFlight: eng.Guards.Config().MaxInFlight, MaxWaiting: eng.Guards.Config().MaxWaiting}, eng.Guards, log)
		if err != nil {
			return nil, &ConfigError{err}
		}
	}
	srv.Topology = func() any { return shardsView(topo, eng.Guards, member) }
	if srv.TrustedProxies, err = cfg.Server.Proxies(); err != nil {
		return nil, &ConfigError{err}
	}
	srv.MetricsAuth = cfg.Server.MetricsAuth
	srv.Scans = server.ScanLimits{PerCaller: cfg.Consistency.CallerScans, Window: cfg.Consistency.CallerWindow.Duration}
	authn, err := auth.New(auth.Options{TokensFile: cfg.Auth.TokensFile, ChefKeysDir: cfg.Auth.ChefKeysDir,
		Writers: cfg.Auth.Writers, MaxBody: int64(cfg.Server.MaxBodyBytes), ReplayCacheSize: cfg.Auth.ReplayCacheSize, Log: log})
	if err != nil {
		return nil, &ConfigError{err}
	}
	if !authn.Enabled() {
		log.Warn("auth.tokens_file and auth.chef_keys_dir are empty: the API answers anyone who can reach it, and no one may write")
	}
	srv.Auth = authn
	return &Service{Config: cfg, Topology: topo, Engine: eng, Server: srv, Log: log, Replica: member, tls: tlsCfg}, nil
}

// guardConfig maps the config's bounds; a zero (a config built in code
// rather than parsed) takes the default.
func guardConfig(cfg *config.Config) shards.GuardConfig {
	return shards.GuardConfig{MaxInFlight: cfg.Shards.MaxInFlight, MaxWaiting: cfg.Search.MaxWaiting, MaxWait: cfg.Search.MaxWait.Duration,
		BreakerFailures: cfg.Shards.BreakerFailures, BreakerInterval: cfg.Shards.BreakerInterval.Duration, RetryBudget: cfg.Shards.RetryBudget,
		MinRetryAfter: cfg.Search.RetryAfterMin.Duration, MaxRetryAfter: cfg.Search.RetryAfterMax.Duration}
}

func checkKey(path, key string) error {
	if path == "" {
		return fmt.Errorf("%s is empty: discovered shards need a client key", key)
	}
	if _, err := os.ReadFile(path); err != nil {
		return fmt.Errorf("%s: cannot read %s: %v", key, path, errors.Unwrap(err))
	}
	return nil
}

// snapshotLister reads the current topology on every request, so a
// refresh takes effect without a restart.
type snapshotLister struct{ t *discovery.Topology }

func (l snapshotLister) Shards(stack string) []shards.Shard { return l.t.Snapshot().Shards(stack) }

// Serve starts the topology and serves on listen until ctx ends, then
// shuts down gracefully. ready, when not nil, gets the bound address.
func (s *Service) Serve(ctx context.Context, listen string, ready func(addr string)) error {
	if err := s.Topology.Start(ctx); err != nil {
		return err
	}
	defer s.Topology.Close()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return &ConfigError{fmt.Errorf("cannot listen on %s: %v", listen, err)}
	}
	def := config.Defaults().Server
	hs := &http.Server{Handler: s.Server, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:  orDefault(s.Config.Server.ReadTimeout, def.ReadTimeout),
		WriteTimeout: orDefault(s.Config.Server.WriteTimeout, def.WriteTimeout),
		IdleTimeout:  orDefault(s.Config.Server.IdleTimeout, def.IdleTimeout),
		TLSConfig:    s.tls,
		ErrorLog:     slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	scheme := "http"
	if s.tls != nil {
		scheme = "https"
		go func() { errc <- hs.ServeTLS(ln, "", "") }()
	} else {
		go func() { errc <- hs.Serve(ln) }()
	}
	s.Log.Info("shearch serving", "addr", ln.Addr().String(), "scheme", scheme, "shards", len(s.Topology.Snapshot().All))
	if s.Replica != nil {
		// Registered once listening, so Consul's first check can pass.
		s.Replica.Start(ctx)
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return s.drain(hs)
	}
}

// orDefault reads a timeout a hand-built Config may have left zero.
func orDefault(d, def config.Duration) time.Duration {
	if d.Duration > 0 {
		return d.Duration
	}
	return def.Duration
}

// loadTLS reads the certificate and key once at start-up, so a bad file
// is one line and exit 2, not a failed handshake per client.
func loadTLS(c config.TLS) (*tls.Config, error) {
	if c.CertFile == "" && c.KeyFile == "" {
		return nil, nil
	}
	if c.CertFile == "" || c.KeyFile == "" {
		return nil, errors.New("tls: set both cert_file and key_file to serve HTTPS, or neither")
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: cannot load cert_file %s with key_file %s: %v", c.CertFile, c.KeyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// drain hands off cleanly: out of Consul first (the other replicas take
// this one's share), /readyz at 503, still serving for shutdown_delay so
// load balancers stop sending here; then it stops accepting and lets
// in-flight requests finish within shutdown_timeout, and only then
// returns: a SIGTERM'd Shearch exits 0 without cutting anyone's answer.
func (s *Service) drain(hs *http.Server) error {
	if s.Replica != nil {
		s.Replica.Leave()
	}
	s.Server.Drain()
	if d := s.Config.ShutdownDelay.Duration; d > 0 {
		s.Log.Info("shutting down: /readyz answers 503; still serving while load balancers notice", "shutdown_delay", d.String())
		time.Sleep(d)
	}
	timeout := s.Config.ShutdownTimeout.Duration
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	s.Log.Info("draining: no new connections; waiting for in-flight requests", "shutdown_timeout", timeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
		return fmt.Errorf("shutdown_timeout %s passed with requests still in flight; they were cut: %v", timeout, err)
	}
	s.Log.Info("drained; exiting")
	return nil
}
