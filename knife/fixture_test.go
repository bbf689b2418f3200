package knife

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Helpers that turn the fixture into what a Chef server would hand knife.

const (
	examplesDir = "../testdata/knife-examples"
	fixtureDir  = "../testdata/fixture"
	serverURL   = "http://127.0.0.1:4647"
	clock       = int64(1795348800)
)

func decode(t *testing.T, data []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return m
}

func fixture(t *testing.T, dir, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtureDir, dir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, data)
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(fixtureDir, dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		out = append(out, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	sort.Strings(out)
	return out
}

var allNodes = []string{
	"build-agent-7", "cache-01", "db-01.prod.example.com", "db-02.prod.example.com",
	"db-primary.dev.example.com", "lb-01.prod.example.com", "monitor01", "new-node-01",
	"web-01.prod.example.com", "web-02.prod.example.com", "web-03.dev.example.com",
	"win-app-01.prod.example.com",
}

var webNodes = []string{"web-01.prod.example.com", "web-02.prod.example.com", "web-03.dev.example.com"}

func nodes(t *testing.T, list []string) []map[string]any {
	var out []map[string]any
	for _, n := range list {
		out = append(out, fixture(t, "nodes", n))
	}
	return out
}

// defaultEnvironment is the _default environment goiardi creates.
func defaultEnvironment() map[string]any {
	return map[string]any{
		"name": "_default", "description": "The default Chef environment",
		"cookbook_versions": map[string]any{}, "json_class": "Chef::Environment",
		"chef_type": "environment", "default_attributes": map[string]any{},
		"override_attributes": map[string]any{},
	}
}

// clients returns the four clients of the server. goiardi regenerates the
// public keys of its built-in chef-validator and chef-webui at each start,
// so theirs are read back from 050.out.
func clients(t *testing.T) []map[string]any {
	data, err := os.ReadFile(filepath.Join(examplesDir, "050.out"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?s)name:       (chef-\w+)\npublic_key: (-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----\n)`)
	keys := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(data), -1) {
		keys[m[1]] = m[2]
	}
	return []map[string]any{
		{"name": "chef-validator", "clientname": "chef-validator", "admin": false, "validator": true, "public_key": keys["chef-validator"], "json_class": "Chef::ApiClient", "chef_type": "client"},
		{"name": "chef-webui", "clientname": "chef-webui", "admin": true, "validator": false, "public_key": keys["chef-webui"], "json_class": "Chef::ApiClient", "chef_type": "client"},
		fixture(t, "clients", "db-01.prod.example.com"),
		fixture(t, "clients", "web-01.prod.example.com"),
	}
}

// dataBagRow is a data bag search row as the Chef server returns it.
func dataBagRow(t *testing.T, bag, id string) map[string]any {
	return map[string]any{
		"name": "data_bag_item_" + bag + "_" + id, "json_class": "Chef::DataBagItem",
		"chef_type": "data_bag_item", "data_bag": bag, "raw_data": fixture(t, "data_bags/"+bag, id),
	}
}

// indexedNode is the document a server evaluates partial-search paths
// against: the merged attributes, with the node's own fields on top.
func indexedNode(m map[string]any) map[string]any {
	var merged any = map[string]any{}
	for _, level := range []string{"default", "normal", "override", "automatic"} {
		merged = hashOnlyMerge(merged, asMap(m[level]))
	}
	doc := merged.(map[string]any)
	for _, k := range []string{"name", "chef_environment", "run_list", "json_class", "chef_type"} {
		doc[k] = m[k]
	}
	return doc
}

func indexedDataBagItem(row map[string]any) map[string]any {
	doc := map[string]any{}
	for k, v := range asMap(row["raw_data"]) {
		doc[k] = v
	}
	doc["name"], doc["chef_type"], doc["data_bag"] = row["name"], row["chef_type"], row["data_bag"]
	return doc
}

// partial is the "data" hash a server returns for one object and filter.
func partial(doc map[string]any, filter map[string][]string) map[string]any {
	row := map[string]any{}
	for key, path := range filter {
		var v any = doc
		for _, step := range path {
			m, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = m[step]
		}
		row[key] = v
	}
	return row
}

func partialNodes(t *testing.T, list []string, filter map[string][]string) []map[string]any {
	var out []map[string]any
	for _, m := range nodes(t, list) {
		out = append(out, partial(indexedNode(m), filter))
	}
	return out
}

func urls(kind string, list []string) map[string]string {
	out := map[string]string{}
	for _, n := range list {
		out[n] = serverURL + "/" + kind + "/" + n
	}
	return out
}

func errBody(msg string) []byte {
	b, _ := json.Marshal(map[string]any{"error": []string{msg}})
	return b
}

type golden struct {
	cmd            string
	stdout, stderr []byte
	exit           int
}

func readGolden(t *testing.T, id string) golden {
	t.Helper()
	read := func(ext string) []byte {
		b, err := os.ReadFile(filepath.Join(examplesDir, id+ext))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rc, err := strconv.Atoi(strings.TrimSpace(string(read(".rc"))))
	if err != nil {
		t.Fatal(err)
	}
	return golden{strings.TrimSpace(string(read(".cmd"))), read(".out"), read(".err"), rc}
}

func exampleIDs(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join(examplesDir, "*.cmd"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range files {
		ids = append(ids, strings.TrimSuffix(filepath.Base(f), ".cmd"))
	}
	sort.Strings(ids)
	return ids
}

// stdoutOnly wraps a function that only writes stdout and exits 0.
func stdoutOnly(b []byte, err error) (Output, error) {
	return Output{Stdout: b}, err
}

func readGoldenOK(id string) (string, error) {
	_, err := os.Stat(filepath.Join(examplesDir, id+".cmd"))
	return id, err
}
