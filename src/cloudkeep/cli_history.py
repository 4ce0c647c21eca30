"""``cloudkeep trail lookup``: the event history of a running cloudkeep server, through
CloudTrail's LookupEvents (the same call the AWS CLI and SDKs make), as a table or JSON.

The server is reached like the AWS CLI reaches it: ``--endpoint-url``, else the endpoint of the
profile or environment (``AWS_ENDPOINT_URL``), else the local default. Credentials come from
``--profile`` or the usual AWS sources (environment, shared files), else the first root
credentials file in ``--data-dir`` that ``cloudkeep serve`` writes.

Must not: read the store directly (the server decides what a caller may see).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from pathlib import Path
from typing import Any, Iterator

from cloudkeep import config as _config

UTC = _dt.timezone.utc
#: option → LookupAttributes key (one at most: CloudTrail filters on a single attribute)
FILTERS = (("event_name", "EventName"), ("username", "Username"), ("resource_type", "ResourceType"),
           ("resource_name", "ResourceName"), ("event_source", "EventSource"),
           ("access_key_id", "AccessKeyId"), ("read_only", "ReadOnly"), ("event_id", "EventId"))


def add_parser(trail_sub: Any) -> None:
    """The ``lookup`` subcommand of ``cloudkeep trail``."""
    p = trail_sub.add_parser("lookup", help="look up the event history (CloudTrail LookupEvents) of a running server")
    one = p.add_mutually_exclusive_group()
    for dest, key in FILTERS:
        flag = "--" + dest.replace("_", "-")
        if dest == "read_only":
            one.add_argument(flag, choices=("true", "false"), help="read-only (true) or write (false) events")
        else:
            one.add_argument(flag, metavar=key.upper(), help=f"only events whose {key} is this (one filter at most)")
    p.add_argument("--start-time", type=_time, help="ISO 8601, e.g. 2026-11-30T08:00:00Z (default: 90 days ago)")
    p.add_argument("--end-time", type=_time, help="ISO 8601 (default: now)")
    p.add_argument("--max-items", type=int, default=50, help="how many events at most (default 50)")
    p.add_argument("--region", default=None, help="the region whose history to read (default: profile's or us-east-1)")
    p.add_argument("--endpoint-url", default=None, help="the server (default: AWS_ENDPOINT_URL or "
                                                          f"http://{_config.DEFAULT_HOST}:{_config.DEFAULT_PORT})")
    p.add_argument("--profile", default=None, help="an AWS CLI profile with the credentials to use")
    p.add_argument("--data-dir", type=Path, default=Path(".cloudkeep"),
                   help="where to find root-credentials.json when no other credentials are set")
    p.add_argument("--output", choices=("table", "json"), default="table")


def _time(text: str) -> _dt.datetime:
    try:
        value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r} (e.g. 2026-11-30T08:00:00Z)") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _client(args: argparse.Namespace) -> Any:
    import botocore.session
    from botocore.config import Config

    from cloudkeep.server import CREDENTIALS_FILE, read_credentials_file

    session = botocore.session.Session(profile=args.profile)
    region = args.region or session.get_config_variable("region") or "us-east-1"
    keys: dict[str, str] = {}
    if session.get_credentials() is None:
        root = read_credentials_file(args.data_dir / CREDENTIALS_FILE)
        if root is None:
            raise LookupError(f"no credentials: set a profile or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                              f"or point --data-dir at the server's data directory")
        keys = {"aws_access_key_id": root.access_key_id, "aws_secret_access_key": root.secret_access_key}
    config = Config(retries={"max_attempts": 2})
    client = session.create_client("cloudtrail", region_name=region, endpoint_url=args.endpoint_url,
                                   config=config, **keys)
    if args.endpoint_url is None and client.meta.endpoint_url.rstrip("/").endswith(".amazonaws.com"):
        # no endpoint from the profile or AWS_ENDPOINT_URL: botocore chose AWS; cloudkeep's default instead
        client = session.create_client("cloudtrail", region_name=region, config=config, **keys,
                                       endpoint_url=f"http://{_config.DEFAULT_HOST}:{_config.DEFAULT_PORT}")
    return client


def _request(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for dest, key in FILTERS:
        value = getattr(args, dest)
        if value is not None:
            params["LookupAttributes"] = [{"AttributeKey": key, "AttributeValue": value}]
    if args.start_time is not None:
        params["StartTime"] = args.start_time
    if args.end_time is not None:
        params["EndTime"] = args.end_time
    return params


def _events(client: Any, params: dict[str, Any], max_items: int) -> Iterator[dict[str, Any]]:
    left = max_items
    while left > 0:
        out = client.lookup_events(**params, MaxResults=min(50, left))
        for event in out["Events"][:left]:
            yield event
            left -= 1
        if "NextToken" not in out:
            return
        params = {**params, "NextToken": out["NextToken"]}


def _wire(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "EventTime": event["EventTime"].astimezone(UTC).isoformat().replace("+00:00", "Z")}


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    if args.max_items < 1:
        print("cloudkeep: --max-items must be at least 1", file=sys.stderr)
        return 2
    try:
        client = _client(args)
        events = [_wire(e) for e in _events(client, _request(args), args.max_items)]
    except LookupError as exc:
        print(f"cloudkeep: {exc}", file=sys.stderr)
        return 2
    except EndpointConnectionError as exc:
        print(f"cloudkeep: cannot reach the server at {exc.kwargs.get('endpoint_url')}: start it with "
              f"'cloudkeep serve' or pass --endpoint-url", file=sys.stderr)
        return 1
    except ClientError as exc:
        error = exc.response.get("Error", {})
        print(f"cloudkeep: {error.get('Code')}: {error.get('Message')}", file=sys.stderr)
        return 1
    except BotoCoreError as exc:
        print(f"cloudkeep: {exc}", file=sys.stderr)
        return 1
    if args.output == "json":
        print(json.dumps({"Events": events}, indent=2))
        return 0
    _table(events)
    return 0


def _table(events: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Event history ({len(events)} events, newest first)")
    for column in ("Event time", "Event name", "User name", "Event source", "Resources", "Read only",
                   "Error", "Event ID"):
        table.add_column(column, overflow="fold")
    for e in events:
        record = json.loads(e["CloudTrailEvent"])
        resources = "\n".join(f"{r.get('ResourceType')}: {r.get('ResourceName')}" for r in e.get("Resources") or ())
        table.add_row(e["EventTime"], e["EventName"], e.get("Username", "-"), e["EventSource"], resources or "-",
                      e["ReadOnly"], record.get("errorCode") or "-", e["EventId"])
    Console(highlight=False, width=200).print(table)
