"""Refresh the AWS managed policies that cloudkeep ships as data.

Reads moto's pinned package data (``moto.iam.aws_managed_policies.aws_managed_policies_data``:
every AWS managed policy with its path, default version id, document and dates, as AWS publishes
them) and writes ``src/cloudkeep/services/iam/data/aws_managed_policies.json.gz``:

    {"source": "moto <version>", "policies": {name: {"Path", "DefaultVersionId", "Document",
     "CreateDate", "UpdateDate"}}}

The output is deterministic (sorted keys, fixed gzip mtime), so an unchanged source gives an
unchanged file. Run it after upgrading moto:

    .venv/bin/python scripts/refresh_aws_managed_policies.py
"""

from __future__ import annotations

import gzip
import json
import pathlib
import sys

OUT = (pathlib.Path(__file__).resolve().parent.parent / "src" / "cloudkeep" / "services" / "iam" / "data"
       / "aws_managed_policies.json.gz")
FIELDS = ("Path", "DefaultVersionId", "Document", "CreateDate", "UpdateDate")


def build() -> dict:
    import moto
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    raw = json.loads(aws_managed_policies_data)
    policies = {name: {f: entry[f] for f in FIELDS} for name, entry in sorted(raw.items())}
    return {"source": f"moto {moto.__version__}", "policies": policies}


def main() -> int:
    data = build()
    payload = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(payload)
    print(f"wrote {len(data['policies'])} policies from {data['source']} to {OUT} ({OUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
