package discovery

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/shearch/shearch/shards"
)

// cacheFile is what survives a restart; static shards are not in it, they
// come from the config.
type cacheFile struct {
	Version      uint64                   `json:"version"`
	UpdatedAt    time.Time                `json:"updated_at"`
	Route53      []shards.Shard           `json:"route53"`
	Consul       []shards.Shard           `json:"consul"`
	ConsulHealth map[string]shards.Health `json:"consul_health"`
}

func (t *Topology) loadCache() {
	if t.cfg.CacheFile == "" {
		return
	}
	data, err := os.ReadFile(t.cfg.CacheFile)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	var c cacheFile
	if err == nil {
		err = json.Unmarshal(data, &c)
	}
	if err != nil {
		// A broken cache only costs the outage protection; it must not stop
		// a start-up that live sources can serve.
		t.log.Warn("ignoring unreadable shard cache", "file", t.cfg.CacheFile, "error", err)
		return
	}
	t.cached = &c
}

func (t *Topology) cacheShards(src shards.Source) []shards.Shard {
	if src == shards.SourceRoute53 {
		return t.cached.Route53
	}
	// Cached under older rules, perhaps: they must pass today's.
	return t.consul.cfg.Trust.trustedOf(t.cached.Consul)
}

// writeCacheLocked persists the sources' shards when they differ from what
// the file holds. The file is replaced by rename, so a crash mid-write never
// leaves a torn cache behind.
func (t *Topology) writeCacheLocked(s *Snapshot) {
	if t.cfg.CacheFile == "" || (!t.r53State.have && !t.consulState.have) {
		return
	}
	c := cacheFile{Version: s.Version, UpdatedAt: s.UpdatedAt.UTC()}
	if t.r53State.have {
		c.Route53 = t.r53State.shards
	}
	if t.consulState.have {
		c.Consul, c.ConsulHealth = t.consulState.shards, t.consulState.health
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil || bytes.Equal(data, t.cacheBytes) {
		return
	}
	if err := writeFileAtomic(t.cfg.CacheFile, data); err != nil {
		t.log.Warn("cannot write shard cache", "file", t.cfg.CacheFile, "error", err)
		return
	}
	t.cacheBytes = data
	t.cached = &c
}

func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	// Sync before rename: otherwise a crash can leave the new name pointing
	// at an empty file.
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
