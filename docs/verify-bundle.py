#!/usr/bin/env python3
"""Verify a Lockgate release evidence bundle with no Lockgate code.

Needs only Python 3 (standard library) and the `openssl` command (3.x) for Ed25519.
Usage:

    python3 verify-bundle.py BUNDLE.tar.gz --trust-log VKEY_OR_FILE \
        [--trust-build PEM]... [--witness VKEY_OR_FILE]... [--min-witnesses K]

Checks, in order (docs/evidence.md explains each): the checkpoint's signed-note signature by
the trusted log key; witness cosignatures; every record's DSSE signature, its RFC 9162
inclusion proof against the checkpoint root; the seal naming every record in order; each pack
manifest's digest and signature by a trusted build key. Prints "ok" and exits 0, or prints
"FAIL <CODE>: <item>: <why>" and exits 1.
"""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile

SPKI_ED25519 = bytes.fromhex("302a300506032b6570032100")


class Failure(Exception):
    def __init__(self, code, item, why):
        super().__init__(f"{code}: {item}: {why}")


def sha256(*parts):
    return hashlib.sha256(b"".join(parts)).digest()


def jcs(value):
    # RFC 8785 for the JSON Lockgate writes (strings, integers, booleans, null).
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def b64(text):
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode() != text:
        raise ValueError("not canonical base64")
    return raw


def ed25519_verify(raw_key, message, signature):
    """Ed25519 with openssl pkeyutl: the key as SPKI PEM, the message and signature as files."""
    with tempfile.TemporaryDirectory() as tmp:
        der = SPKI_ED25519 + raw_key
        pem = "-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(der).decode() + "\n-----END PUBLIC KEY-----\n"
        paths = {name: os.path.join(tmp, name) for name in ("key.pem", "msg", "sig")}
        for name, data in (("key.pem", pem.encode()), ("msg", message), ("sig", signature)):
            with open(paths[name], "wb") as f:
                f.write(data)
        done = subprocess.run(
            ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", paths["key.pem"], "-rawin",
             "-in", paths["msg"], "-sigfile", paths["sig"]],
            capture_output=True,
        )
        return done.returncode == 0


def verifier_key(text):
    """name+hex key id+base64(type || key): returns (name, key id, type, raw key)."""
    if os.path.exists(text):
        with open(text) as f:
            text = f.read().strip()
    name, key_id, material = text.split("+", 2)
    raw = b64(material)
    if len(raw) != 33 or sha256(name.encode(), b"\n", raw)[:4].hex() != key_id:
        raise SystemExit(f"the verifier key {name} does not match its key id")
    return name, bytes.fromhex(key_id), raw[0], raw[1:]


def pem_raw_key(pem_text):
    body = "".join(line for line in pem_text.splitlines() if "-----" not in line)
    der = base64.b64decode(body)
    if not der.startswith(SPKI_ED25519) or len(der) != 44:
        raise SystemExit("a build key is not an Ed25519 SPKI PEM")
    return hashlib.sha256(der).hexdigest(), der[len(SPKI_ED25519):]


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = sha256(b"\x01", p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = sha256(b"\x01", r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def pae(payload_type, payload):
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def verify(bundle, trust_log, trust_build, witnesses, min_witnesses):
    with tarfile.open(bundle, "r:gz") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    index = json.loads(files["bundle.json"])
    release = index["release"]

    # 1. the checkpoint: a C2SP signed note by the log key
    log_name, log_id, log_type, log_key = verifier_key(trust_log)
    note = files["checkpoint.txt"].decode()
    cut = note.rindex("\n\n")
    body, lines = note[: cut + 1], note[cut + 2 :].splitlines()
    mine = [l for l in lines if l.startswith(f"\u2014 {log_name} ")]
    if not mine:
        raise Failure("CHECKPOINT_SIGNER_UNTRUSTED", "checkpoint.txt", f"no signature by {log_name}")
    for line in mine:
        sig = b64(line.split(" ")[2])
        if sig[:4] != log_id or not ed25519_verify(log_key, body.encode(), sig[4:]):
            raise Failure("CHECKPOINT_SIGNATURE_INVALID", "checkpoint.txt", "the log signature does not verify")
    origin, size_text, root_text = body.splitlines()[:3]
    if origin != log_name:
        raise Failure("CHECKPOINT_SIGNER_UNTRUSTED", "checkpoint.txt", f"origin {origin}")
    size, root = int(size_text), b64(root_text)

    # 2. witnesses: cosignature/v1 lines (type 0x04) over "cosignature/v1\ntime T\n" + body
    cosigned = []
    for w in witnesses:
        name, key_id, _, key = verifier_key(w)
        for line in (l for l in lines if l.startswith(f"\u2014 {name} ")):
            sig = b64(line.split(" ")[2])
            t = int.from_bytes(sig[4:12], "big")
            message = f"cosignature/v1\ntime {t}\n{body}".encode()
            if sig[:4] != key_id or not ed25519_verify(key, message, sig[12:]):
                raise Failure("COSIGNATURE_INVALID", "checkpoint.txt", f"the cosignature of {name}")
            cosigned.append(name)
    if len(set(cosigned)) < min_witnesses:
        raise Failure("WITNESS_QUORUM_NOT_MET", "checkpoint.txt", f"{len(set(cosigned))} of {min_witnesses}")

    # 3. every record: DSSE signature by the log key, inclusion in the checkpoint's tree
    facts = []
    previous = 0
    for seq in index["records"]:
        if seq <= previous:
            raise Failure("RECORD_MISSING", f"record {seq}", "duplicated or out of order")
        previous = seq
        name = f"records/{seq:010d}"
        envelope = json.loads(files[f"{name}.dsse.json"])
        payload = b64(envelope["payload"])
        good = any(ed25519_verify(log_key, pae(envelope["payloadType"], payload), b64(s["sig"]))
                   for s in envelope["signatures"])
        if not good or envelope["payloadType"] != "application/vnd.in-toto+json":
            raise Failure("RECORD_SIGNATURE_INVALID", f"{name}.dsse.json", "the log signature does not verify")
        record = json.loads(payload)["predicate"]
        unsealed = {k: v for k, v in record.items() if k not in ("seq", "digest")}
        if "sha256:" + hashlib.sha256(jcs(unsealed)).hexdigest() != record["digest"]:
            raise Failure("RECORD_SIGNATURE_INVALID", f"{name}.dsse.json", "the record digest is not its own")
        if record["seq"] != seq or record["release"] != release:
            raise Failure("RECORD_MISSING", f"{name}.dsse.json", "holds another record")
        proof = json.loads(files[f"{name}.proof.json"])
        hashes = [b64(h) for h in proof["proof"]]
        if proof["treeSize"] != size or not verify_inclusion(seq - 1, size, sha256(b"\x00", payload), hashes, root):
            raise Failure("RECORD_NOT_INCLUDED", f"{name}.proof.json", "the proof does not lead to the root")
        facts.append(record)

    # 4. completeness: the last record is the seal and names every other one, in order
    seal = facts[-1]
    if seal["kind"] != "release.sealed":
        raise Failure("RECORD_MISSING", "seal", "the last record is not the release's seal")
    listed = [{"digest": r["digest"], "seq": r["seq"]} for r in facts[:-1]]
    named = [{"digest": r["digest"], "seq": r["seq"]} for r in seal["inputs"]["records"]]
    if listed != named or "sha256:" + hashlib.sha256(jcs(listed)).hexdigest() != seal["inputs"]["recordsDigest"]:
        raise Failure("RECORD_MISSING", "seal", "the bundle's records are not those the seal names")

    # 5. pack manifests: digest = sha256(JCS(manifest without signatures)), signed by a build key
    keys = dict(pem_raw_key(open(p).read()) for p in trust_build)
    for digest in index["packs"]:
        item = f"packs/{digest[7:]}.manifest.json"
        manifest = json.loads(files[item])
        unsigned = jcs({k: v for k, v in manifest.items() if k != "signatures"})
        if "sha256:" + hashlib.sha256(unsigned).hexdigest() != digest:
            raise Failure("PACK_DIGEST_MISMATCH", item, "the manifest has another digest")
        signed = [s for s in manifest["signatures"] if s["keyId"] in keys]
        if not signed:
            raise Failure("PACK_SIGNER_UNTRUSTED", item, "no signature by a trusted build key")
        for s in signed:
            if not ed25519_verify(keys[s["keyId"]], unsigned, b64(s["sig"])):
                raise Failure("PACK_SIGNATURE_INVALID", item, f"the signature by {s['keyId']}")
    if seal["inputs"]["pack"] not in index["packs"]:
        raise Failure("BUNDLE_INVALID", "bundle.json", "the released pack's manifest is missing")
    return release, len(facts), seal["inputs"]["outcome"], size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle")
    parser.add_argument("--trust-log", required=True)
    parser.add_argument("--trust-build", action="append", default=[])
    parser.add_argument("--witness", action="append", default=[])
    parser.add_argument("--min-witnesses", type=int, default=0)
    args = parser.parse_args()
    try:
        release, records, outcome, size = verify(
            args.bundle, args.trust_log, args.trust_build, args.witness, args.min_witnesses)
    except Failure as failure:
        print(f"FAIL {failure}")
        return 1
    except (KeyError, ValueError, IndexError, TypeError) as error:
        print(f"FAIL BUNDLE_INVALID: {type(error).__name__}: {error}")
        return 1
    print(f"ok: {release} {outcome}, {records} records sealed and included in the checkpoint of {size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
