package gnife

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shearch/shearch/api"
	"github.com/shearch/shearch/devfleet"
	"github.com/shearch/shearch/devfleet/fleettest"
	"github.com/shearch/shearch/internal/integration"
)

// TestEncryptedDataBag: `data bag show BAG ITEM` on an encrypted item, as
// knife's data_bag_show.rb does it, against a goiardi shard holding the
// item from knife/testdata/encrypted_item.json (encrypted by an
// independent implementation of Chef's encryptors).
func TestEncryptedDataBag(t *testing.T) {
	integration.Needs(t, "goiardi")
	raw, err := os.ReadFile("../knife/testdata/encrypted_item.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Secret string         `json:"secret"`
		Item   map[string]any `json:"item"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f, err := fleettest.Start(ctx, 1, &devfleet.Fixture{DataBags: map[string][]devfleet.Object{"secrets": {doc.Item}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(doc.Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	decrypted := "{\n  \"id\": \"db\",\n  \"owner\": {\n    \"mail\": null,\n    \"name\": \"Zoë Ångström\"\n  },\n" +
		"  \"password\": \"correct horse battery staple\",\n  \"port\": 5432,\n  \"replicas\": [\n    \"db-01\",\n    \"db-02\"\n  ]\n}\n"
	info := "Encrypted data bag detected, decrypting with provided secret.\n"
	for _, c := range []struct {
		args           []string
		stdout, stderr string
		rc             int
	}{
		{[]string{"--secret", doc.Secret, "-F", "json"}, decrypted, info, 0},
		{[]string{"--secret-file", secretFile, "-F", "json"}, decrypted, info, 0},
		// The first value in key order is "owner", version 3 (AES-GCM).
		{[]string{"--secret", "wrong"}, "", info + "ERROR: Chef::EncryptedDataBagItem::DecryptionFailure: Error decrypting data bag value: ''. Most likely the provided key is incorrect. \n", 100},
		{[]string{"--secret-file", "/nonexistent/secret"}, "", "ERROR: Errno::ENOENT: No such file or directory - file not found '/nonexistent/secret'\n", 100},
	} {
		var out, errOut bytes.Buffer
		env := &Env{Now: time.Now, clientConfig: &api.Config{Addresses: []string{f.HTTP.URL}}}
		args := append([]string{"data", "bag", "show", "secrets", "db"}, c.args...)
		rc := Run(args, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, env)
		if out.String() != c.stdout || errOut.String() != c.stderr || rc != c.rc {
			t.Errorf("%v:\n--- exit %d, want %d\n--- stdout:\n%s\n--- want:\n%s\n--- stderr:\n%s\n--- want:\n%s", args, rc, c.rc, out.String(), c.stdout, errOut.String(), c.stderr)
		}
	}
	// Without a secret knife shows the stored item after a warning.
	var out, errOut bytes.Buffer
	env := &Env{Now: time.Now, clientConfig: &api.Config{Addresses: []string{f.HTTP.URL}}}
	rc := Run([]string{"data", "bag", "show", "secrets", "db", "-F", "json"}, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, env)
	if rc != 0 || errOut.String() != "WARNING: Encrypted data bag detected, but no secret provided for decoding. Displaying encrypted data.\n" ||
		!strings.Contains(out.String(), `"cipher": "aes-256-gcm"`) {
		t.Errorf("no secret: exit %d, stderr %q, stdout %q", rc, errOut.String(), out.String())
	}
}
