"""cosign's encrypted private key envelope, done independently of dynpack with
hashlib.scrypt and PyNaCl's SecretBox (as the reference sheet verified).

  open PASSWORD < cosign.key   prints the PKCS#8 DER (hex) inside
  seal PASSWORD < der.hex      prints an ENCRYPTED COSIGN PRIVATE KEY PEM
"""
import base64
import hashlib
import json
import os
import sys

import nacl.secret


def key(password, salt, n, r, p):
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=128 * 1024 * 1024, dklen=32)


def open_key(password, pem):
    lines = [l for l in pem.strip().splitlines() if not l.startswith("-----")]
    env = json.loads(base64.b64decode("".join(lines)))
    assert env["kdf"]["name"] == "scrypt" and env["cipher"]["name"] == "nacl/secretbox"
    prm = env["kdf"]["params"]
    box = nacl.secret.SecretBox(key(password, base64.b64decode(env["kdf"]["salt"]), prm["N"], prm["r"], prm["p"]))
    der = box.decrypt(base64.b64decode(env["ciphertext"]), base64.b64decode(env["cipher"]["nonce"]))
    print(der.hex())


def seal_key(password, der_hex):
    salt, nonce = os.urandom(32), os.urandom(24)
    box = nacl.secret.SecretBox(key(password, salt, 32768, 8, 1))
    sealed = box.encrypt(bytes.fromhex(der_hex.strip()), nonce).ciphertext
    env = {"kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1}, "salt": base64.b64encode(salt).decode()},
           "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
           "ciphertext": base64.b64encode(sealed).decode()}
    body = base64.b64encode(json.dumps(env).encode()).decode()
    print("-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----")
    for i in range(0, len(body), 64):
        print(body[i:i + 64])
    print("-----END ENCRYPTED COSIGN PRIVATE KEY-----")


if __name__ == "__main__":
    mode, password = sys.argv[1], sys.argv[2]
    (open_key if mode == "open" else seal_key)(password, sys.stdin.read())
