// Package api is the Go client of Shearch: every /v1 endpoint and the
// Chef-compatible object endpoints, typed; searches as pages, as a cursor
// walk (Pages) or as a stream of rows (Rows); overload (429, 503 with
// Retry-After) retried with backoff and reads failed over between
// replicas. It is a module of its own, so a backend gets it without the
// server's dependencies.
package api

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"

	"github.com/go-chef/chef"
)

// DefaultAddress is where the client looks for Shearch when nothing is set.
const DefaultAddress = "http://127.0.0.1:4000"

// Defaults of Config's bounds.
const (
	DefaultMaxRetries       = 3
	DefaultMaxResponseBytes = 256 << 20
)

// Config says how to reach Shearch. Its zero values are the defaults.
type Config struct {
	// Addresses are the base URLs of Shearch's replicas. The client
	// starts at a random one; see the package's failover rules.
	Addresses []string
	// Token is sent as a bearer token when set.
	Token string
	// ChefUser and ChefKey (or ChefKeyFile, a PEM file) sign each request
	// as go-chef does (X-Ops-Authorization, protocol 1.3), instead of a
	// token: Shearch accepts both.
	ChefUser    string
	ChefKey     *rsa.PrivateKey
	ChefKeyFile string
	// CAFile is a PEM file of the certificate authorities trusted for an
	// https address, instead of the system's. Ignored when HTTPClient is set.
	CAFile string
	// HTTPClient sends the requests. A Timeout set on it bounds every
	// request, streams included; leave it 0 and bound calls with their
	// context.
	HTTPClient *http.Client
	// Stack is the stack every call names unless its options name
	// another (as consul/api's Datacenter); "" is Shearch's default stack.
	Stack string
	// Deny sends partial=deny on every call: a shard that fails fails the
	// request (502) instead of leaving a gap.
	Deny bool
	// MaxRetries bounds the retries of a request Shearch shed (429, or
	// 503 with Retry-After); 0 means DefaultMaxRetries, negative none.
	MaxRetries int
	// MaxResponseBytes bounds an answer the client holds whole (a page, an
	// object, a report) and each line of a stream; 0 means
	// DefaultMaxResponseBytes. Stream larger results with Rows.
	MaxResponseBytes int64
	// Logger gets one line each time the client moves to another
	// address; nil is slog.Default().
	Logger *slog.Logger
}

// DefaultConfig reads SHEARCH_URL (a comma-separated list of addresses),
// SHEARCH_TOKEN and SHEARCH_CACERT.
func DefaultConfig() *Config {
	c := &Config{Addresses: []string{DefaultAddress}, MaxRetries: DefaultMaxRetries}
	if v := os.Getenv("SHEARCH_URL"); v != "" {
		c.Addresses = SplitAddresses(v)
	}
	c.Token = os.Getenv("SHEARCH_TOKEN")
	c.CAFile = os.Getenv("SHEARCH_CACERT")
	return c
}

// SplitAddresses reads a comma-separated list of URLs (SHEARCH_URL,
// gnife's server_url), blanks dropped.
func SplitAddresses(list string) []string {
	var out []string
	for _, a := range strings.Split(list, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// Client calls Shearch. It is safe for concurrent use.
type Client struct {
	cfg   Config
	bases []*url.URL
	// cur is the address calls start at: random at first, then the last
	// one that answered.
	cur    atomic.Int32
	http   *http.Client
	signer *chef.AuthConfig
	log    *slog.Logger
}

// NewClient checks the configuration and builds a client; nil is
// DefaultConfig().
func NewClient(cfg *Config) (*Client, error) {
	if cfg == nil {
		cfg = DefaultConfig()
	}
	c := &Client{cfg: *cfg, log: cfg.Logger}
	if c.log == nil {
		c.log = slog.Default()
	}
	addrs := cfg.Addresses
	if len(addrs) == 0 {
		addrs = []string{DefaultAddress}
	}
	for _, a := range addrs {
		u, err := url.Parse(strings.TrimSuffix(a, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return nil, fmt.Errorf("bad Shearch URL %q: want http(s)://host:port (set SHEARCH_URL or server_url)", a)
		}
		c.bases = append(c.bases, u)
	}
	c.cur.Store(int32(rand.IntN(len(c.bases))))
	c.http = cfg.HTTPClient
	if c.http == nil {
		t, err := cfg.transport()
		if err != nil {
			return nil, err
		}
		c.http = &http.Client{Transport: t}
	}
	if cfg.ChefUser != "" || cfg.ChefKey != nil || cfg.ChefKeyFile != "" {
		s, err := cfg.chefSigner()
		if err != nil {
			return nil, err
		}
		c.signer = s
	}
	return c, nil
}

// Address is the base URL calls start at.
func (c *Client) Address() string { return c.bases[c.cur.Load()].String() }

// Addresses are every base URL, in configured order.
func (c *Client) Addresses() []string {
	out := make([]string, len(c.bases))
	for i, b := range c.bases {
		out[i] = b.String()
	}
	return out
}

func (c *Client) maxRetries() int {
	switch {
	case c.cfg.MaxRetries < 0:
		return 0
	case c.cfg.MaxRetries == 0:
		return DefaultMaxRetries
	}
	return c.cfg.MaxRetries
}

func (c *Client) maxBytes() int64 {
	if c.cfg.MaxResponseBytes > 0 {
		return c.cfg.MaxResponseBytes
	}
	return DefaultMaxResponseBytes
}

// transport trusts CAFile's authorities when set. It is the default
// transport otherwise, with no overall timeout: contexts bound calls.
func (cfg *Config) transport() (http.RoundTripper, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CAFile == "" {
		return t, nil
	}
	pem, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("CA file (SHEARCH_CACERT or ca_file): %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s (SHEARCH_CACERT or ca_file) holds no PEM certificate", cfg.CAFile)
	}
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return t, nil
}

func (cfg *Config) chefSigner() (*chef.AuthConfig, error) {
	if cfg.ChefUser == "" {
		return nil, fmt.Errorf("a Chef key is set but no ChefUser: set the user the key belongs to")
	}
	key := cfg.ChefKey
	if key == nil {
		if cfg.ChefKeyFile == "" {
			return nil, fmt.Errorf("ChefUser %q has no key: set ChefKey or ChefKeyFile", cfg.ChefUser)
		}
		pem, err := os.ReadFile(cfg.ChefKeyFile)
		if err != nil {
			return nil, fmt.Errorf("Chef key of %s: %w", cfg.ChefUser, err)
		}
		if key, err = chef.PrivateKeyFromString(pem); err != nil {
			return nil, fmt.Errorf("Chef key file %s: %w", cfg.ChefKeyFile, err)
		}
	}
	return &chef.AuthConfig{PrivateKey: key, ClientName: cfg.ChefUser, AuthenticationVersion: "1.3"}, nil
}

// CloseIdleConnections closes the kept-alive connections the client is
// not using, as http.Client's does.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }
