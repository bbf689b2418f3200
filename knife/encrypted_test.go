package knife

import (
	"os"
	"reflect"
	"testing"
)

// testdata/encrypted_item.json was written by testdata/make_encrypted_item.py,
// which encrypts the way Chef 16's Version1/2/3Encryptor do
// (lib/chef/encrypted_data_bag_item/encryptor.rb) with Python's
// cryptography package: an implementation independent of the Go one.
func encryptedFixture(t *testing.T) (secret string, item, plain map[string]any) {
	data, err := os.ReadFile("testdata/encrypted_item.json")
	if err != nil {
		t.Fatal(err)
	}
	doc := decode(t, data)
	return doc["secret"].(string), doc["item"].(map[string]any), doc["plain"].(map[string]any)
}

func TestDecryptDataBagItem(t *testing.T) {
	secret, item, plain := encryptedFixture(t)
	if !DataBagItemEncrypted(item) {
		t.Fatal("fixture not detected as encrypted")
	}
	got, err := DecryptDataBagItem(item, secret)
	if err != nil || !reflect.DeepEqual(got, plain) {
		t.Fatalf("got %v %v, want %v", got, err, plain)
	}
	// What data bag show prints for it: a plain Hash (EncryptedDataBagItem#to_h), no Mash tag.
	b, err := Show(KindHash, got, ShowOptions{Format: "json"})
	want := "{\n  \"id\": \"db\",\n  \"owner\": {\n    \"mail\": null,\n    \"name\": \"Zoë Ångström\"\n  },\n" +
		"  \"password\": \"correct horse battery staple\",\n  \"port\": 5432,\n  \"replicas\": [\n    \"db-01\",\n    \"db-02\"\n  ]\n}\n"
	if err != nil || string(b) != want {
		t.Errorf("json: got %q %v, want %q", b, err, want)
	}

	// Wrong secrets: decryptor.rb's DecryptionFailure messages, printed by
	// humanize_exception as "ERROR: <class>: <message>".
	for _, c := range []struct {
		key, secret, want string
	}{
		{"port", "wrong", "ERROR: Chef::EncryptedDataBagItem::DecryptionFailure: Error decrypting data bag value: invalid hmac. Most likely the provided key is incorrect\n"},
		{"replicas", "wrong", "ERROR: Chef::EncryptedDataBagItem::DecryptionFailure: Error decrypting data bag value: ''. Most likely the provided key is incorrect. \n"},
		{"replicas", "/etc/chef/secret", "ERROR: Chef::EncryptedDataBagItem::DecryptionFailure: Error decrypting data bag value: ''. Most likely the provided key is incorrect. You may need to use --secret-file rather than --secret.\n"},
		{"password", "wrong", "ERROR: Chef::EncryptedDataBagItem::DecryptionFailure: Error decrypting data bag value: 'bad decrypt'. Most likely the provided key is incorrect. \n"},
	} {
		_, err := DecryptDataBagItem(map[string]any{"id": "db", c.key: item[c.key]}, c.secret)
		if err == nil || string(DecryptError(err)) != c.want {
			t.Errorf("%s with %q: got %v, want %q", c.key, c.secret, err, c.want)
		}
	}
	bad := map[string]any{}
	for k, v := range item["password"].(map[string]any) {
		bad[k] = v
	}
	bad["cipher"] = "des"
	_, err = DecryptDataBagItem(map[string]any{"id": "db", "password": bad}, secret)
	if want := "ERROR: Chef::EncryptedDataBagItem::UnsupportedCipher: Cipher 'des' is not supported by this version of Chef. Available ciphers: ['aes-256-cbc', 'aes-256-gcm']\n"; err == nil || string(DecryptError(err)) != want {
		t.Errorf("cipher: got %v", err)
	}
}

// EncryptedDataBagItem.load_secret: IO.read(path).strip, Errno::ENOENT for
// a missing file, ArgumentError for an empty one.
func TestSecretFromFile(t *testing.T) {
	files := map[string]string{"/k": "  s3cret\n\n", "/empty": " \n"}
	read := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
	if s, msg := SecretFromFile("/k", read); s != "s3cret" || msg != nil {
		t.Errorf("got %q %q", s, msg)
	}
	if _, msg := SecretFromFile("/none", read); string(msg) != "ERROR: Errno::ENOENT: No such file or directory - file not found '/none'\n" {
		t.Errorf("missing: %q", msg)
	}
	if _, msg := SecretFromFile("/empty", read); string(msg) != "ERROR: ArgumentError: invalid zero length secret in '/empty'\n" {
		t.Errorf("empty: %q", msg)
	}
}
