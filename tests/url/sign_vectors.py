#!/usr/bin/env python3
"""Test vectors for signed pixel URLs (pixel-sig-v1), computed with Python's own hmac,
hashlib and base64 from the format's rules, never by the library.

  sign_vectors.py --write tests/url/vectors/signature.json   (regenerate)
  sign_vectors.py --check tests/url/vectors/signature.json   (the test: recompute, compare)

The C++ signer and verifier, the C API, the three bindings, `pixel edge` and the CloudFront
Function all read the same file.
"""
import argparse
import base64
import hashlib
import hmac
import json
import sys
import urllib.parse

UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def enc(text):
    return "".join(chr(b) if b in UNRESERVED else "%%%02X" % b for b in text.encode("utf-8"))


def raw_key(text):
    text = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def sign(vector):
    path = urllib.parse.urlsplit(vector["endpoint"]).path
    pairs = list(vector["params"]) + [["kid", vector["kid"]], ["exp", str(vector["exp"])]]
    canonical = "&".join(sorted((enc(k) + "=" + enc(v) for k, v in pairs),
                                key=lambda s: s.encode("ascii")))
    to_sign = "pixel-sig-v1\n" + path + "\n" + canonical
    mac = hmac.new(raw_key(vector["key"]), to_sign.encode("ascii"), hashlib.sha256).digest()
    sig = base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")
    query = "&".join(enc(k) + "=" + enc(v) for k, v in pairs) + "&sig=" + sig
    return dict(vector, string_to_sign=to_sign, sig=sig, url=vector["endpoint"] + "?" + query)


KEY_A = base64.b64encode(bytes(range(32))).decode()              # standard, padded
KEY_B = base64.urlsafe_b64encode(bytes(range(200, 232))).decode().rstrip("=")  # URL-safe
KEY_C = base64.b64encode(b"sixteen byte key").decode()          # the shortest allowed

INPUTS = [
    dict(name="typical", key=KEY_A, kid="k2026a", exp=4102444800,
         endpoint="https://d111111abcdef8.cloudfront.net/1x1.png",
         params=[["userid", "aws_user"], ["thirdpartyname", "example.com"],
                 ["eid", "01JEXAMPLE0000000000000000"], ["ts", "1767225600000"]]),
    dict(name="no_params", key=KEY_A, kid="k2026a", exp=2000000000,
         endpoint="https://d111111abcdef8.cloudfront.net/1x1.png", params=[]),
    dict(name="encoded_values", key=KEY_B, kid="rot_2-B", exp=4070908800,
         endpoint="https://pixel.example.com/1x1.png",
         params=[["q", "a b+c&d=e/f?g#h%i"], ["name", "Zo\u00eb \u00e9t\u00e9 \u65e5\u672c"],
                 ["emoji", "\U0001F600"], ["tilde", "~._-"], ["empty", ""]]),
    dict(name="sort_by_bytes", key=KEY_C, kid="K", exp=4102444800,
         endpoint="https://d111111abcdef8.cloudfront.net/t/1x1.png",
         params=[["b", "2"], ["a_b", "3"], ["a", "1"], ["A", "0"], ["a%", "4"], ["a", "0"],
                 ["\u00e9", "5"], ["Z", ""]]),
    dict(name="repeated_keys", key=KEY_A, kid="a" * 32, exp=3000000000,
         endpoint="http://127.0.0.1:8080/1x1.png",
         params=[["tag", "x"], ["tag", "y"], ["tag", "x"]]),
]


def main():
    ap = argparse.ArgumentParser()
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--write")
    group.add_argument("--check")
    args = ap.parse_args()
    doc = {"scheme": "pixel-sig-v1",
           "about": "computed by tests/url/sign_vectors.py with Python's hmac, hashlib, base64",
           "vectors": [sign(v) for v in INPUTS]}
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if args.write:
        with open(args.write, "w", encoding="utf-8") as f:
            f.write(text)
        return 0
    with open(args.check, encoding="utf-8") as f:
        committed = f.read()
    if committed != text:
        print("signature vectors differ from what Python computes; regenerate with --write",
              file=sys.stderr)
        return 1
    print("%d vectors agree with Python's hmac/hashlib/base64" % len(doc["vectors"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
