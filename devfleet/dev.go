package devfleet

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	consulapi "github.com/hashicorp/consul/api"
	"golang.org/x/sync/errgroup"

	"github.com/shearch/shearch/devfleet/consulagent"
	"github.com/shearch/shearch/devfleet/route53stub"
	"github.com/shearch/shearch/internal/config"
	"github.com/shearch/shearch/internal/discovery"
	"github.com/shearch/shearch/shards"
)

// DevOptions shape a development fleet.
type DevOptions struct {
	Shards int
	// Nodes is the size of the synthetic fleet (ignored with FixtureDir).
	Nodes      int
	FixtureDir string
	// Dir holds keys and the topology cache; a temporary one when empty.
	Dir string
	// Log hears progress lines.
	Log io.Writer
}

// Dev is a whole fleet on this machine: goiardi shards on their own
// loopback addresses, a consul dev agent knowing every node and shard,
// and a Route53 stand-in holding the weighted record set, so Shearch
// discovers its shards the production way.
type Dev struct {
	Cluster *Cluster
	Consul  *consulagent.Agent
	Route53 *route53stub.Server
	// Config is a Shearch configuration for this fleet.
	Config  *config.Config
	Fixture *Fixture
	Dir     string
	ownsDir bool
}

// DevZone and DevRecord are the stand-in's hosted zone and record set.
const (
	DevZone   = "Z0SHEARCHDEV"
	DevRecord = "chef.prod.example.com."
	// DevClock is the clock the knife examples were made at; synthetic
	// ohai_time values are set relative to now instead.
	DevClock = 1795348800
)

// StartDev starts everything and loads the fleet.
func StartDev(ctx context.Context, o DevOptions) (d *Dev, err error) {
	if o.Shards <= 0 {
		o.Shards = 3
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	d = &Dev{Dir: o.Dir}
	// The error returns below set d to nil: stop what was started
	// through a copy.
	started := d
	defer func() {
		if err != nil {
			started.Stop()
		}
	}()
	if d.Dir == "" {
		if d.Dir, err = os.MkdirTemp("", "shearch-dev-"); err != nil {
			return nil, err
		}
		d.ownsDir = true
	}
	if o.FixtureDir != "" {
		if d.Fixture, err = ReadFixture(o.FixtureDir); err != nil {
			return nil, err
		}
		// The examples' ages are relative to DevClock; keep them so.
		d.Fixture.ShiftOhaiTime(time.Now().Unix() - DevClock)
	} else {
		d.Fixture = Synthetic(o.Nodes, 1, time.Now().Unix())
	}
	keyPath := filepath.Join(d.Dir, "shearch.pem")
	pub, err := writeKey(keyPath)
	if err != nil {
		return nil, err
	}

	fmt.Fprintf(o.Log, "starting %d goiardi shards and a consul agent...\n", o.Shards)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		d.Cluster, err = startLoopbackCluster(gctx, o.Shards)
		return err
	})
	g.Go(func() error {
		var err error
		d.Consul, err = consulagent.Start(gctx, consulagent.Options{})
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	parts := d.Fixture.Spread(o.Shards)
	d.Cluster.Parts = parts
	cc, err := consulapi.NewClient(&consulapi.Config{Address: d.Consul.Addr()})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "loading %d nodes over %d shards and registering them in consul...\n", len(d.Fixture.Nodes), o.Shards)
	g, gctx = errgroup.WithContext(ctx)
	for i, s := range d.Cluster.Shards {
		g.Go(func() error {
			admin, err := s.Client()
			if err != nil {
				return err
			}
			// Shearch signs as its own admin client, the same key on every
			// shard, as discovered shards share the configured key.
			if _, err := admin.Do(gctx, "POST", shards.CollectionPath(shards.Clients), Object{"name": "shearch", "admin": true, "public_key": pub}); err != nil {
				return fmt.Errorf("creating the shearch client on %s: %v", s.Name, err)
			}
			if err := Load(gctx, admin, parts[i]); err != nil {
				return err
			}
			if err := RegisterShard(gctx, cc, discovery.DefaultShardService, s.Shard("prod")); err != nil {
				return err
			}
			return RegisterNodes(gctx, cc, s.Name, parts[i].Nodes)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	d.Route53 = route53stub.New(route53stub.Options{})
	d.Route53.AddZone(DevZone)
	r53URL, err := d.Route53.Start("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	for i, s := range d.Cluster.Shards {
		// The last shard is full: weight 0 takes no new nodes but still
		// holds its old ones, and Shearch must search it.
		w := int64(100 / o.Shards)
		if i == o.Shards-1 && o.Shards > 1 {
			w = 0
		}
		host := loopbackHost(i)
		if err := d.Route53.Upsert(DevZone, route53stub.Record{Name: DevRecord, Type: "CNAME", SetIdentifier: s.Name, Weight: w, Target: host + ".", TTL: 60}); err != nil {
			return nil, err
		}
	}
	port := strconv.Itoa(d.Cluster.Shards[0].Port)
	d.Config = &config.Config{
		Listen:       "127.0.0.1:4000",
		DefaultStack: "prod",
		Shards:       config.Shards{Timeout: config.Duration{Duration: 10 * time.Second}, ClientName: "shearch", ClientKey: keyPath},
		Route53: config.Route53{Endpoint: r53URL, Region: "us-east-1", ZoneID: DevZone, URLTemplate: "http://{target}:" + port,
			Refresh: config.Duration{Duration: 10 * time.Second}, Records: []config.Route53Record{{Name: DevRecord, Stack: "prod"}}},
		// goiardi serves plain HTTP on loopback here; production shards are https.
		Consul: config.Consul{Address: d.Consul.Addr(), ShardService: discovery.DefaultShardService, ShardTag: discovery.DefaultShardTag,
			ShardScheme: "http", NodeFallback: true, ShardNames: []string{"chef-*"}, ShardNetworks: []string{"127.0.0.0/8"}},
		CacheFile: filepath.Join(d.Dir, "topology.json"),
		// goiardi's term search is slow (see search.object_fetch).
		Search: config.Search{ObjectFetch: "get"},
	}
	return d, nil
}

// loopbackHost gives shard i its own loopback address, 127.0.0.(i+2), so
// every shard listens on the same port as the URL template requires.
func loopbackHost(i int) string { return "127.0.0." + strconv.Itoa(i+2) }

// startLoopbackCluster starts n goiardi, one per loopback address, all on
// one port (retrying with another port when one is taken somewhere).
func startLoopbackCluster(ctx context.Context, n int) (*Cluster, error) {
	var last error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := FreePort(loopbackHost(0))
		if err != nil {
			return nil, err
		}
		c := &Cluster{Stack: "prod", Shards: make([]*Goiardi, n)}
		g, gctx := errgroup.WithContext(ctx)
		for i := range c.Shards {
			g.Go(func() error {
				s, err := StartGoiardi(gctx, GoiardiOptions{Name: "chef-" + strconv.Itoa(i+1), Host: loopbackHost(i), Port: port})
				c.Shards[i] = s
				return err
			})
		}
		if last = g.Wait(); last == nil {
			return c, nil
		}
		c.Stop()
	}
	return nil, last
}

func writeKey(path string) (publicPEM string, err error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	if err := os.WriteFile(path, priv, 0o600); err != nil {
		return "", err
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// Stop stops every part. Safe on a half-started fleet.
func (d *Dev) Stop() {
	if d == nil {
		return
	}
	if d.Route53 != nil {
		d.Route53.Close()
	}
	if d.Consul != nil {
		d.Consul.Stop()
	}
	if d.Cluster != nil {
		d.Cluster.Stop()
	}
	if d.ownsDir {
		os.RemoveAll(d.Dir)
	}
}

// Banner is what `shearch dev` prints once it serves: what runs, and the
// gnife lines to try.
func Banner(d *Dev, addr string) string {
	s := fmt.Sprintf("\nshearch dev is serving on http://%s\n", addr)
	for _, g := range d.Cluster.Shards {
		s += fmt.Sprintf("  shard %-8s %s  (%d nodes)\n", g.Name, g.URL, len(d.Cluster.Parts[indexOf(d.Cluster, g)].Nodes))
	}
	s += fmt.Sprintf("  consul      http://%s\n  route53     %s (zone %s, record %s)\n\nTry:\n", d.Consul.Addr(), d.Route53.URL(), DevZone, DevRecord)
	env := "SHEARCH_URL=http://" + addr + " "
	for _, l := range []string{
		"bin/gnife search node '*:*' -i",
		"bin/gnife search node 'role:web AND chef_environment:prod' -a ipaddress",
		"bin/gnife node list",
		"bin/gnife status",
		"bin/gnife shards",
		"curl -s 'http://" + addr + "/v1/search/node?q=role:db&rows=2'",
	} {
		if l[0] == 'b' {
			l = env + l
		}
		s += "  " + l + "\n"
	}
	return s + "\nCtrl-C stops everything.\n"
}

func indexOf(c *Cluster, g *Goiardi) int {
	for i, s := range c.Shards {
		if s == g {
			return i
		}
	}
	return 0
}
