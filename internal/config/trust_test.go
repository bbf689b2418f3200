package config_test

import (
	"strings"
	"testing"

	"github.com/shearch/shearch/internal/config"
)

// The trust settings: their defaults, and one line naming a bad value.
func TestTrustSettings(t *testing.T) {
	c, err := config.Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.MetricsAuth != "none" || len(c.Server.TrustedProxies) != 0 || c.Auth.ReplayCacheSize != 100_000 {
		t.Fatalf("defaults: metrics_auth %q, trusted_proxies %v, replay_cache_size %d", c.Server.MetricsAuth, c.Server.TrustedProxies, c.Auth.ReplayCacheSize)
	}
	c, err = config.Parse([]byte("server:\n  trusted_proxies: [10.0.0.0/8, 192.168.1.7, '::1']\n  metrics_auth: token\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := c.Server.Proxies()
	if len(p) != 3 || p[1].String() != "192.168.1.7/32" || p[2].String() != "::1/128" || c.Server.MetricsAuth != "token" {
		t.Fatalf("parsed %v, %q", p, c.Server.MetricsAuth)
	}
	for text, words := range map[string]string{
		"server:\n  trusted_proxies: [10.0.0.0/33]\n":   "server.trusted_proxies[0]",
		"server:\n  trusted_proxies: [proxy.example]\n": "server.trusted_proxies[0]",
		"server:\n  metrics_auth: basic\n":              "server.metrics_auth",
		"auth:\n  replay_cache_size: 0\n":               "auth.replay_cache_size",
	} {
		if _, err := config.Parse([]byte(text)); err == nil || !strings.Contains(err.Error(), words) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: want one line naming %s, got %v", text, words, err)
		}
	}
}
