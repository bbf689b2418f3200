package knife

import (
	"encoding/json"
	"sort"
	"strings"
)

// Messages `knife data bag show BAG ITEM` prints about encryption
// (lib/chef/knife/data_bag_show.rb), through ui.warn.
var (
	EncryptedNoSecret  = Warning("Encrypted data bag detected, but no secret provided for decoding. Displaying encrypted data.")
	UnencryptedSecret  = Warning("Unencrypted data bag detected, ignoring any provided secret options.")
	TwoSecretsGiven    = Fatal("Please specify only one of --secret, --secret-file")
	encryptorKeysByVer = map[int64][]string{
		1: {"cipher", "encrypted_data", "iv", "version"},
		2: {"cipher", "encrypted_data", "hmac", "iv", "version"},
		3: {"auth_tag", "cipher", "encrypted_data", "iv", "version"},
	}
)

// DataBagItemEncrypted is Chef::EncryptedDataBagItem::CheckEncrypted#encrypted?
// on the item as DataBagItem.from_hash keeps it (without chef_type,
// json_class and data_bag): every value but "id" is a hash with exactly
// the keys of the encryptor its "version" names
// (Version1/2/3Encryptor.encryptor_keys), and there is at least one.
func DataBagItemEncrypted(item map[string]any) bool {
	n := 0
	for k, v := range item {
		switch k {
		case "id", "chef_type", "json_class", "data_bag":
			continue
		}
		if !looksEncrypted(v) {
			return false
		}
		n++
	}
	return n > 0
}

func looksEncrypted(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	var ver int64
	switch x := m["version"].(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil || f != float64(int64(f)) {
			return false
		}
		ver = int64(f)
	case float64:
		ver = int64(x)
		if float64(ver) != x {
			return false
		}
	case int:
		ver = int64(x)
	default:
		return false
	}
	want, ok := encryptorKeysByVer[ver]
	if !ok {
		return false
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",") == strings.Join(want, ",")
}
