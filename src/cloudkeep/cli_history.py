"""``cloudkeep trail lookup``: the event history of a running cloudkeep server, through
CloudTrail's LookupEvents (the same call the AWS CLI and SDKs make), as a table or JSON.

The server and the credentials are found as ``cli_client.py`` says (as the AWS CLI finds them,
else the root credentials file in ``--data-dir``).

Must not: read the store directly (the server decides what a caller may see).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from typing import Any, Iterator

from cloudkeep.cli_client import add_server_arguments, clients, iso_time, reporting_errors

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
    p.add_argument("--start-time", type=iso_time, help="ISO 8601, e.g. 2026-11-30T08:00:00Z (default: 90 days ago)")
    p.add_argument("--end-time", type=iso_time, help="ISO 8601 (default: now)")
    p.add_argument("--max-items", type=int, default=50, help="how many events at most (default 50)")
    p.add_argument("--region", default=None, help="the region whose history to read (default: profile's or us-east-1)")
    add_server_arguments(p)
    p.add_argument("--output", choices=("table", "json"), default="table")


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
    if args.max_items < 1:
        print("cloudkeep: --max-items must be at least 1", file=sys.stderr)
        return 2

    def lookup() -> int:
        (client,) = clients(args, ("cloudtrail", args.region))
        events = [_wire(e) for e in _events(client, _request(args), args.max_items)]
        if args.output == "json":
            print(json.dumps({"Events": events}, indent=2))
        else:
            _table(events)
        return 0
    return reporting_errors(lookup)


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
