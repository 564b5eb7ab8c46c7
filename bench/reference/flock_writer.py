#!/usr/bin/env python3
"""The reference writer for the contention benchmark: a correct flock(2) writer, the simplest one.

    flock_writer.py --dir <layout> --prefix <p> --count <n> [--fsync-dir]

For i in 0..n-1: take a blocking exclusive flock on <dir>/index.json.lock (created 0644 if missing, never
unlinked), read index.json (missing: an empty index), append an entry tagged <p>-<i> with a digest of its own,
write the result to a temp file in the same directory, fsync it, rename it over index.json (with --fsync-dir,
fsync the directory too, as ocidx does), and unlock. Prints one JSON line: {"ok": n, "failed": m}.
"""
import argparse
import fcntl
import hashlib
import json
import os
import sys


def put(directory, tag, seed, fsync_dir):
    lock_path = os.path.join(directory, "index.json.lock")
    index_path = os.path.join(directory, "index.json")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            with open(index_path, "rb") as f:
                raw = f.read()
            index = json.loads(raw) if raw.strip() else {"schemaVersion": 2, "manifests": []}
        except FileNotFoundError:
            index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}
        manifests = index.get("manifests") or []
        manifests.append(
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": "sha256:" + hashlib.sha256(seed.encode()).hexdigest(),
                "size": 1000 + len(seed) % 97,
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        )
        index["manifests"] = manifests
        data = json.dumps(index, separators=(",", ":")).encode()
        temp = os.path.join(directory, ".index.json.%d.tmp" % os.getpid())
        tf = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(tf, view):]
            os.fsync(tf)
        finally:
            os.close(tf)
        os.rename(temp, index_path)
        if fsync_dir:
            dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--fsync-dir", action="store_true")
    args = parser.parse_args()
    ok = failed = 0
    for i in range(args.count):
        try:
            put(args.dir, "%s-%d" % (args.prefix, i), "%s/%d" % (args.prefix, i), args.fsync_dir)
            ok += 1
        except Exception as error:  # report and go on: the parent counts what was lost
            failed += 1
            print("error: %s" % error, file=sys.stderr)
    print(json.dumps({"ok": ok, "failed": failed}))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
