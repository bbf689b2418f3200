package fakeshard

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	mrand "math/rand"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/shards"
)

// Fleet spreads n synthetic nodes of about 10 KB over count shards (by
// devfleet.ShardOf, as the dev fleet does) and puts the same roles,
// environments and users data bag on each. Nodes are generated and
// encoded one at a time, so a 100k fleet costs its encoded bytes (about
// 1 GB) and no more.
func Fleet(n, count int, seed int64, o Options) ([]*Shard, error) {
	out := make([]*Shard, count)
	shared := devfleet.Synthetic(0, seed, 0)
	for i := range out {
		s, err := FromFixture(shared, o)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	g := newNodeGen(seed)
	for i := 0; i < n; i++ {
		name, raw, err := g.node(i)
		if err != nil {
			return nil, err
		}
		if err := out[devfleet.ShardOf(name, count)].AddRaw("node", name, raw); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Clock is the ohai_time synthetic nodes are set relative to: fixed, so
// a fleet is the same on every run.
const Clock = 1_790_000_000

type nodeGen struct {
	rng      *mrand.Rand
	packages [][]byte
}

func newNodeGen(seed int64) *nodeGen { return &nodeGen{rng: mrand.New(mrand.NewSource(seed))} }

var (
	genRoles     = []string{"web", "db", "cache", "lb", "worker", "monitoring"}
	genEnvs      = []string{"prod", "prod", "prod", "dev", "staging"}
	genPlatforms = [][3]string{{"ubuntu", "debian", "22.04"}, {"ubuntu", "debian", "20.04"}, {"centos", "rhel", "7.9.2009"}, {"amazon", "amazon", "2"}, {"debian", "debian", "11.6"}}
	genTags      = []string{"canary", "frontend", "backend", "pci", "spot", "legacy"}
	genAZs       = []string{"us-east-1a", "us-east-1b", "us-east-1c", "eu-west-1a"}
	genPackages  = []string{"acl", "adduser", "apt", "base-files", "bash", "bsdutils", "ca-certificates", "coreutils", "cron", "curl",
		"dash", "debconf", "diffutils", "dpkg", "e2fsprogs", "findutils", "gcc-12-base", "gpgv", "grep", "gzip", "hostname",
		"init-system-helpers", "iproute2", "iputils-ping", "less", "libacl1", "libapt-pkg6.0", "libattr1", "libaudit1",
		"libblkid1", "libbz2-1.0", "libc-bin", "libc6", "libcap-ng0", "libcap2", "libcom-err2", "libcrypt1", "libdb5.3",
		"libdebconfclient0", "libext2fs2", "libffi8", "libgcc-s1", "libgcrypt20", "libgmp10", "libgnutls30", "libgpg-error0",
		"libgssapi-krb5-2", "libhogweed6", "libidn2-0", "libk5crypto3", "libkeyutils1", "libkrb5-3", "libkrb5support0",
		"liblz4-1", "liblzma5", "libmount1", "libncurses6", "libnettle8", "libnsl2", "libp11-kit0", "libpam-modules",
		"libpam-runtime", "libpam0g", "libpcre2-8-0", "libprocps8", "libseccomp2", "libselinux1", "libsemanage2",
		"libsepol2", "libsmartcols1", "libss2", "libssl3", "libstdc++6", "libsystemd0", "libtasn1-6", "libtinfo6",
		"libtirpc3", "libudev1", "libunistring2", "libuuid1", "libxxhash0", "libzstd1", "login", "logrotate", "lsb-base",
		"mawk", "mount", "ncurses-base", "ncurses-bin", "netbase", "nginx", "ntp", "openssh-client", "openssh-server",
		"openssl", "passwd", "perl-base", "procps", "python3", "python3-minimal", "rsyslog", "sed", "sensible-utils",
		"sudo", "systemd", "systemd-sysv", "sysvinit-utils", "tar", "tzdata", "ubuntu-keyring", "util-linux", "vim-tiny",
		"wget", "zlib1g", "chef", "ruby", "git", "htop", "jq", "unzip", "zip", "xz-utils", "gnupg", "dirmngr", "lsof",
		"strace", "tcpdump", "net-tools", "dnsutils", "telnet", "rsync", "screen", "tmux", "bzip2", "file", "man-db"}
)

// node makes node i: the shape of devfleet.Synthetic's nodes, padded with
// the automatic attributes ohai reports (packages, filesystems, network)
// to about 10 KB.
func (g *nodeGen) node(i int) (string, []byte, error) {
	rng := g.rng
	role := genRoles[rng.Intn(len(genRoles))]
	env := genEnvs[rng.Intn(len(genEnvs))]
	p := genPlatforms[rng.Intn(len(genPlatforms))]
	host := fmt.Sprintf("%s-%06d", role, i)
	domain := env + ".example.com"
	fqdn := host + "." + domain
	ip := fmt.Sprintf("10.%d.%d.%d", i/62500%250, i/250%250, i%250+1)
	tags := []any{}
	for _, t := range genTags {
		if rng.Intn(5) == 0 {
			tags = append(tags, t)
		}
	}
	mac := fmt.Sprintf("02:42:0a:%02x:%02x:%02x", rng.Intn(256), i/256%256, i%256)
	node := map[string]any{
		"name": fqdn, "chef_environment": env, "json_class": "Chef::Node", "chef_type": "node",
		"run_list": []any{"role[" + role + "]"},
		"normal":   map[string]any{"tags": tags},
		"default":  map[string]any{"ntp": map[string]any{"servers": []any{"0.pool.ntp.org", "1.pool.ntp.org"}}},
		"override": map[string]any{},
		"automatic": map[string]any{
			"fqdn": fqdn, "hostname": host, "domain": domain, "ipaddress": ip, "macaddress": mac,
			"platform": p[0], "platform_family": p[1], "platform_version": p[2], "os": "linux",
			"kernel":         map[string]any{"name": "Linux", "release": "5.15.0-" + strconv.Itoa(40+rng.Intn(60)) + "-generic", "machine": "x86_64"},
			"cpu":            map[string]any{"total": json.Number(strconv.Itoa(2 << rng.Intn(4))), "real": json.Number("1"), "model_name": "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz"},
			"memory":         map[string]any{"total": strconv.Itoa(4096*(1+rng.Intn(16))*1024) + "kB", "free": strconv.Itoa(rng.Intn(4096*1024)) + "kB"},
			"uptime_seconds": json.Number(strconv.Itoa(rng.Intn(10_000_000))),
			"ohai_time":      json.Number(strconv.FormatInt(Clock-int64(rng.Intn(7200)), 10) + "." + strconv.Itoa(rng.Intn(100))),
			"roles":          []any{role, "base"},
			"recipes":        []any{"base", "ntp", role + "::default"},
			"ec2":            map[string]any{"placement_availability_zone": genAZs[rng.Intn(len(genAZs))], "instance_id": fmt.Sprintf("i-%017x", rng.Int63()), "instance_type": "m5.large"},
			"network": map[string]any{"default_interface": "eth0", "default_gateway": "10.0.0.1", "interfaces": map[string]any{
				"lo":   map[string]any{"mtu": "65536", "flags": []any{"LOOPBACK", "UP"}, "addresses": map[string]any{"127.0.0.1": map[string]any{"family": "inet", "prefixlen": "8", "scope": "Node"}}},
				"eth0": map[string]any{"mtu": "9001", "flags": []any{"BROADCAST", "MULTICAST", "UP"}, "addresses": map[string]any{ip: map[string]any{"family": "inet", "prefixlen": "16", "scope": "Global"}, mac: map[string]any{"family": "lladdr"}}},
			}},
			"filesystem": map[string]any{
				"/dev/nvme0n1p1": map[string]any{"kb_size": "101445540", "kb_used": strconv.Itoa(rng.Intn(90000000)), "mount": "/", "fs_type": "ext4", "mount_options": []any{"rw", "relatime"}},
				"tmpfs":          map[string]any{"kb_size": "1605524", "kb_used": "1012", "mount": "/run", "fs_type": "tmpfs", "mount_options": []any{"rw", "nosuid", "nodev"}},
			},
		},
	}
	raw, err := json.Marshal(node)
	if err != nil {
		return "", nil, fmt.Errorf("fakeshard: encoding node %s: %v", fqdn, err)
	}
	// The package list is most of a node's bytes; it is spliced in from
	// a few pre-encoded variants, since encoding it per node made a 100k
	// fleet take minutes to build.
	if g.packages == nil {
		if err := g.makePackages(); err != nil {
			return "", nil, err
		}
	}
	at := bytes.Index(raw, []byte(`"automatic":{`)) + len(`"automatic":{`)
	pk := g.packages[rng.Intn(len(g.packages))]
	out := make([]byte, 0, len(raw)+len(pk)+len(`"packages":,`))
	out = append(append(append(append(out, raw[:at]...), `"packages":`...), pk...), ',')
	return fqdn, append(out, raw[at:]...), nil
}

// makePackages encodes a few variants of ohai's package list.
func (g *nodeGen) makePackages() error {
	for v := 0; v < 32; v++ {
		packages := make(map[string]any, len(genPackages))
		for k, name := range genPackages {
			packages[name] = map[string]any{"version": fmt.Sprintf("%d.%d.%d-%dubuntu%d", k%7+1, g.rng.Intn(20), g.rng.Intn(30), g.rng.Intn(9)+1, g.rng.Intn(4)), "arch": "amd64"}
		}
		b, err := json.Marshal(packages)
		if err != nil {
			return fmt.Errorf("fakeshard: encoding packages: %v", err)
		}
		g.packages = append(g.packages, b)
	}
	return nil
}

var keyOnce struct {
	sync.Once
	pem []byte
	err error
}

// WriteKey writes a client key for Shearch to sign with (the fake shard
// does not check signatures) into dir and returns its path. The key is
// made once per process.
func WriteKey(dir string) (string, error) {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			keyOnce.err = err
			return
		}
		keyOnce.pem = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	})
	if keyOnce.err != nil {
		return "", fmt.Errorf("fakeshard: making a client key: %v", keyOnce.err)
	}
	path := filepath.Join(dir, "fakeshard-client.pem")
	if err := os.WriteFile(path, keyOnce.pem, 0o600); err != nil {
		return "", fmt.Errorf("fakeshard: writing the client key: %v", err)
	}
	return path, nil
}

// StartFixtures serves one fake shard per fixture, named s0, s1, ... in
// the prod stack, stopped when the test ends, and returns them with the
// shard list Shearch would be given for them.
func StartFixtures(t testing.TB, o Options, fxs ...*devfleet.Fixture) ([]*Shard, []shards.Shard) {
	t.Helper()
	key, err := WriteKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var out []*Shard
	var list []shards.Shard
	for i, fx := range fxs {
		s, err := FromFixture(fx, o)
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(s.Close)
		out = append(out, s)
		list = append(list, s.Config(fmt.Sprintf("s%d", i), "prod", key))
	}
	return out, list
}
