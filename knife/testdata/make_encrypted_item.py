# Writes encrypted_item.json: a data bag item encrypted the way Chef 16's
# Version1/2/3Encryptor do (lib/chef/encrypted_data_bag_item/encryptor.rb),
# with Python's cryptography package, so the Go decryptor is tested against
# an independent implementation. Run from knife/: python3 testdata/make_encrypted_item.py
import base64, hashlib, hmac, json, os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

secret = "s3cret-key"
key = hashlib.sha256(secret.encode()).digest()


def b64(b):  # base64 with line breaks, as Ruby's Base64.encode64
    return base64.encodebytes(b).decode()


def ser(v):  # FFI_Yajl::Encoder.encode(json_wrapper: value)
    return json.dumps({"json_wrapper": v}, separators=(",", ":"), ensure_ascii=False).encode()


def cbc(v, ver):
    iv = os.urandom(16)
    p = padding.PKCS7(128).padder()
    e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    enc = b64(e.update(p.update(ser(v)) + p.finalize()) + e.finalize())
    out = {"encrypted_data": enc, "iv": b64(iv), "version": ver, "cipher": "aes-256-cbc"}
    if ver == 2:  # HMAC-SHA256 keyed with the secret, over the base64 text
        out["hmac"] = b64(hmac.new(secret.encode(), enc.encode(), hashlib.sha256).digest())
    return out


def gcm(v):
    iv = os.urandom(12)
    ct = AESGCM(key).encrypt(iv, ser(v), b"")
    return {"encrypted_data": b64(ct[:-16]), "iv": b64(iv), "version": 3, "cipher": "aes-256-gcm", "auth_tag": b64(ct[-16:])}


plain = {"id": "db", "password": "correct horse battery staple", "port": 5432,
         "replicas": ["db-01", "db-02"], "owner": {"name": "Zoë Ångström", "mail": None}}
item = {"id": "db", "password": cbc(plain["password"], 1), "port": cbc(plain["port"], 2),
        "replicas": gcm(plain["replicas"]), "owner": gcm(plain["owner"])}
with open("testdata/encrypted_item.json", "w") as f:
    json.dump({"secret": secret, "item": item, "plain": plain}, f, indent=2, ensure_ascii=False)
