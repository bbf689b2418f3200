package knife

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// Chef's encrypted data bags, as `knife data bag show BAG ITEM --secret`
// reads them (chef 16.12.3, lib/chef/encrypted_data_bag_item/decryptor.rb):
// every value but "id" is a hash {"encrypted_data", "iv", "version",
// "cipher"[, "hmac" | "auth_tag"]} whose plaintext is the JSON
// {"json_wrapper": value}. Versions 1 and 2 are AES-256-CBC under
// SHA-256(secret); version 2 adds an HMAC-SHA256, keyed with the secret
// itself, of the base64 text of encrypted_data; version 3 is AES-256-GCM
// under SHA-256(secret) with an empty AAD. Written from that source with
// Go's standard crypto: no library implements Chef's format.

// DecryptingInfo is the ui.info line knife prints before decrypting.
var DecryptingInfo = Info("Encrypted data bag detected, decrypting with provided secret.")

// DecryptDataBagItem is EncryptedDataBagItem#to_h: the item with every
// value but "id" decrypted. An error is what knife prints for it (see
// DecryptError) before exiting 100.
func DecryptDataBagItem(item map[string]any, secret string) (map[string]any, error) {
	out := make(map[string]any, len(item))
	// In the item's key order, which decides the first error; servers
	// (goiardi, and erchef for items it stored) send keys sorted.
	for _, k := range sortedKeys(item) {
		v := item[k]
		switch k {
		case "chef_type", "json_class", "data_bag":
			continue // DataBagItem.from_hash drops them
		}
		if k == "id" || v == nil {
			out[k] = v
			continue
		}
		plain, err := decryptValue(asMap(v), secret)
		if err != nil {
			return nil, err
		}
		out[k] = plain
	}
	return out, nil
}

// DecryptError renders an error from DecryptDataBagItem as
// Knife#humanize_exception does: "ERROR: <class>: <message>".
func DecryptError(err error) []byte {
	if re, ok := err.(*rubyError); ok {
		return Error(re.class + ": " + re.message)
	}
	return Error(err.Error())
}

const (
	cbcCipher = "aes-256-cbc"
	gcmCipher = "aes-256-gcm"
)

func decryptionFailure(msg string) error {
	return &rubyError{class: "Chef::EncryptedDataBagItem::DecryptionFailure", message: msg}
}

// cipherFailure is the DecryptionFailure for an OpenSSL::Cipher::CipherError,
// with its hint for a path given to --secret.
func cipherFailure(opensslMsg, secret string) error {
	hint := ""
	if len(secret) < 255 && strings.Contains(secret, "/") {
		hint = "You may need to use --secret-file rather than --secret."
	}
	return decryptionFailure("Error decrypting data bag value: '" + opensslMsg + "'. Most likely the provided key is incorrect. " + hint)
}

func decryptValue(v map[string]any, secret string) (any, error) {
	ver, _ := v["version"].(json.Number)
	want := cbcCipher
	if ver == "3" {
		want = gcmCipher
	}
	if c, _ := v["cipher"].(string); c != want {
		return nil, &rubyError{class: "Chef::EncryptedDataBagItem::UnsupportedCipher",
			message: "Cipher '" + rubyToS(v["cipher"]) + "' is not supported by this version of Chef. Available ciphers: ['" + cbcCipher + "', '" + gcmCipher + "']"}
	}
	encText, _ := v["encrypted_data"].(string)
	if ver == "2" {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(encText))
		got := rubyBase64Decode(rubyToS(v["hmac"]))
		if v["hmac"] == nil || subtle.ConstantTimeCompare(mac.Sum(nil), got) != 1 {
			return nil, decryptionFailure("Error decrypting data bag value: invalid hmac. Most likely the provided key is incorrect")
		}
	}
	key := sha256.Sum256([]byte(secret))
	block, _ := aes.NewCipher(key[:]) // a 32-byte key never fails
	data := rubyBase64Decode(encText)
	iv := rubyBase64Decode(rubyToS(v["iv"]))
	var plain []byte
	if ver == "3" {
		if v["auth_tag"] == nil {
			return nil, decryptionFailure("Error decrypting data bag value: invalid authentication tag. Most likely the data is corrupted")
		}
		tag := rubyBase64Decode(rubyToS(v["auth_tag"]))
		if len(iv) == 0 || len(tag) != 16 {
			return nil, cipherFailure("", secret)
		}
		gcm, err := cipher.NewGCMWithNonceSize(block, len(iv))
		if err != nil {
			return nil, cipherFailure("", secret)
		}
		plain, err = gcm.Open(nil, iv, append(append([]byte(nil), data...), tag...), nil)
		if err != nil {
			return nil, cipherFailure("", secret) // OpenSSL's GCM final fails without a message
		}
	} else {
		if len(iv) != aes.BlockSize {
			return nil, &rubyError{class: "ArgumentError", message: "iv must be 16 bytes"}
		}
		if len(data) == 0 || len(data)%aes.BlockSize != 0 {
			return nil, cipherFailure("wrong final block length", secret)
		}
		plain = make([]byte, len(data))
		cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, data)
		var ok bool
		if plain, ok = unpadPKCS7(plain); !ok {
			return nil, cipherFailure("bad decrypt", secret)
		}
	}
	d := json.NewDecoder(bytes.NewReader(plain))
	d.UseNumber()
	var wrapper map[string]any
	if err := d.Decode(&wrapper); err != nil {
		return nil, decryptionFailure("Error decrypting data bag value. Most likely the provided key is incorrect")
	}
	return wrapper["json_wrapper"], nil
}

func unpadPKCS7(b []byte) ([]byte, bool) {
	n := int(b[len(b)-1])
	if n == 0 || n > aes.BlockSize || n > len(b) {
		return nil, false
	}
	for _, c := range b[len(b)-n:] {
		if int(c) != n {
			return nil, false
		}
	}
	return b[:len(b)-n], true
}

// rubyBase64Decode is Base64.decode64 (unpack("m")): lenient, it skips
// anything outside the alphabet (the line breaks encode64 writes), stops at
// padding and drops a dangling character that carries no whole byte.
func rubyBase64Decode(s string) []byte {
	var clean []byte
	for i := 0; i < len(s) && s[i] != '='; i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' {
			clean = append(clean, c)
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1]
	}
	b, _ := base64.RawStdEncoding.DecodeString(string(clean))
	return b
}

// SecretFromFile is EncryptedDataBagItem.load_secret for a local path: the
// file's text stripped as Ruby's String#strip does; an error is knife's
// line for it.
func SecretFromFile(path string, read func(string) ([]byte, error)) (string, []byte) {
	b, err := read(path)
	if err != nil {
		return "", Error("Errno::ENOENT: No such file or directory - file not found '" + path + "'")
	}
	s := strings.TrimLeft(string(b), " \t\n\v\f\r\x00")
	s = strings.TrimRight(s, " \t\n\v\f\r\x00")
	if s == "" {
		return "", Error("ArgumentError: invalid zero length secret in '" + path + "'")
	}
	return s, nil
}
