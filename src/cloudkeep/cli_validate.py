"""``cloudkeep trail validate``: log file integrity validation of a trail from its bucket, as
``aws cloudtrail validate-logs`` does it: the trail's bucket and prefix from DescribeTrails (or
``--s3-bucket``/``--s3-prefix``, as for a deleted trail: then DescribeTrails is not asked and
the files are looked for without an organization's id, as the AWS CLI does), the public keys
from ListPublicKeys, the digest and log files read through the S3 API, every check made here
(``services/cloudtrail/validation.py``). Exit status 0 when every file is valid, 1 when one is
not, when no digest file is found in the range (nothing proves the logs intact), or when the
server cannot be asked; 2 for a usage error.

The server and the credentials are found as ``cli_client.py`` says (as the AWS CLI finds them,
else the root credentials file in ``--data-dir``).

Must not: read the store directly; trust a file before it is verified.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from typing import Any, Mapping

from cloudkeep.cli_client import add_server_arguments, clients, iso_time, reporting_errors
from cloudkeep.storage.clock import wall_now



def add_parser(trail_sub: Any) -> None:
    p = trail_sub.add_parser("validate", help="validate a trail's log files and digests in its bucket "
                                              "(like aws cloudtrail validate-logs)")
    p.add_argument("--trail-arn", required=True, help="arn:aws:cloudtrail:<region>:<account>:trail/<name>")
    p.add_argument("--start-time", required=True, type=iso_time, help="ISO 8601, e.g. 2026-11-30T08:00:00Z")
    p.add_argument("--end-time", type=iso_time, help="ISO 8601 (default: now)")
    p.add_argument("--s3-bucket", help="the bucket of the digest files (default: the trail's, from DescribeTrails)")
    p.add_argument("--s3-prefix", help="their key prefix (with --s3-bucket; default: the trail's)")
    p.add_argument("--account-id", help="the member account whose files to validate (organization trails)")
    p.add_argument("--region", default=None, help="the region whose files to validate (a multi-region trail has "
                                                  "files of every region; default: the trail's home region)")
    add_server_arguments(p)
    p.add_argument("--verbose", action="store_true", help="print every valid file too")
    p.add_argument("--json", action="store_true", help="print the counts and problems as JSON")


def _reader(s3: Any) -> tuple[Any, Any]:
    from botocore.exceptions import ClientError

    def list_keys(bucket: str, prefix: str) -> list[str]:
        out: list[str] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            out += [o["Key"] for o in page.get("Contents", [])]
        return out

    def get(bucket: str, key: str) -> tuple[bytes, Mapping[str, str]] | None:
        try:
            found = s3.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return found["Body"].read(), found.get("Metadata") or {}
    return list_keys, get


def run(args: argparse.Namespace) -> int:
    from cloudkeep.services.cloudtrail.validation import validate

    parts = args.trail_arn.split(":")
    if len(parts) != 6 or parts[2] != "cloudtrail" or not parts[5].startswith("trail/"):
        print(f"cloudkeep: not a trail ARN: {args.trail_arn}", file=sys.stderr)
        return 2
    home, owner, name = parts[3], parts[4], parts[5][len("trail/"):]
    end = args.end_time or wall_now()
    if args.start_time > end:
        print("cloudkeep: --start-time must be before --end-time", file=sys.stderr)
        return 2
    source = args.region or home
    found: dict[str, Any] = {}

    def check() -> int:
        cloudtrail, s3, organizations, source_cloudtrail = clients(
            args, ("cloudtrail", home), ("s3", home), ("organizations", home), ("cloudtrail", source))
        if args.s3_bucket:
            trail: dict[str, Any] | None = {"S3BucketName": args.s3_bucket, "S3KeyPrefix": args.s3_prefix}
        else:
            trail = next((t for t in cloudtrail.describe_trails()["trailList"]
                          if t.get("TrailARN") == args.trail_arn), None)
        if trail is None:
            print(f"cloudkeep: no trail {args.trail_arn} is visible to these credentials", file=sys.stderr)
            return 1
        org_id = organizations.describe_organization()["Organization"]["Id"] if trail.get("IsOrganizationTrail") \
            else None
        # digests are signed with the key of the region whose files they list
        keys = {k["Fingerprint"]: bytes(k["Value"]) for k in source_cloudtrail.list_public_keys(
            StartTime=args.start_time, EndTime=end + _dt.timedelta(hours=2))["PublicKeyList"]}
        list_keys, get = _reader(s3)
        found["report"] = validate(list_keys=list_keys, get=get, public_keys=keys, bucket=trail["S3BucketName"],
                                   prefix=trail.get("S3KeyPrefix"), org_id=org_id, account=args.account_id or owner,
                                   region=source, trail_name=name, home_region=home, start=args.start_time, end=end)
        return 0
    status = reporting_errors(check)
    if "report" not in found:
        return status
    report = found["report"]
    if args.json:
        print(json.dumps({"validDigests": report.valid_digests, "invalidDigests": report.invalid_digests,
                          "validLogs": report.valid_logs, "invalidLogs": report.invalid_logs,
                          "problems": report.problems}, indent=2))
        return 0 if report.ok else 1
    for line in report.lines if args.verbose else report.problems:
        print(line, file=sys.stdout if line.endswith("\tvalid") else sys.stderr)
    total_digests = report.valid_digests + report.invalid_digests
    total_logs = report.valid_logs + report.invalid_logs
    print(f"{report.valid_digests}/{total_digests} digest files valid"
          + (f", {report.invalid_digests}/{total_digests} digest files INVALID" if report.invalid_digests else ""))
    print(f"{report.valid_logs}/{total_logs} log files valid"
          + (f", {report.invalid_logs}/{total_logs} log files INVALID" if report.invalid_logs else ""))
    if not total_digests:      # nothing proves the logs intact: never a success
        print("cloudkeep: no digest files found in range", file=sys.stderr)
        return 1
    return 0 if report.ok else 1
