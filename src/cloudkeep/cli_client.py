"""What the ``cloudkeep`` commands that talk to a running server share: the server and
credential options, reaching the server as the AWS CLI does, ISO 8601 times, and one-line errors.

The server is reached like the AWS CLI reaches it: ``--endpoint-url``, else the endpoint of the
profile or environment (``AWS_ENDPOINT_URL``), else the local default. Credentials come from
``--profile`` or the usual AWS sources (environment, shared files), else the first root
credentials file in ``--data-dir`` that ``cloudkeep serve`` writes.

Must not: read the store directly (the server decides what a caller may see).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path
from typing import Any, Callable

from cloudkeep import config as _config

UTC = _dt.timezone.utc
DEFAULT_ENDPOINT = f"http://{_config.DEFAULT_HOST}:{_config.DEFAULT_PORT}"


def iso_time(text: str) -> _dt.datetime:
    """An argparse type: an ISO 8601 time (``Z`` or an offset; UTC when it has none)."""
    try:
        value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r} (e.g. 2026-11-30T08:00:00Z)") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def add_server_arguments(p: argparse.ArgumentParser) -> None:
    """``--endpoint-url``, ``--profile`` and ``--data-dir``."""
    p.add_argument("--endpoint-url", default=None,
                   help=f"the server (default: AWS_ENDPOINT_URL or {DEFAULT_ENDPOINT})")
    p.add_argument("--profile", default=None, help="an AWS CLI profile with the credentials to use")
    p.add_argument("--data-dir", type=Path, default=Path(".cloudkeep"),
                   help="where to find root-credentials.json when no other credentials are set")


def clients(args: argparse.Namespace, *wanted: tuple[str, str | None]) -> tuple[Any, ...]:
    """botocore clients of (service, region) pairs, for the server and credentials the options
    name (a region of None: the profile's, else us-east-1). LookupError when no credentials."""
    import botocore.session
    from botocore.config import Config

    from cloudkeep.server import CREDENTIALS_FILE, read_credentials_file

    session = botocore.session.Session(profile=args.profile)
    default_region = session.get_config_variable("region") or "us-east-1"
    keys: dict[str, str] = {}
    if session.get_credentials() is None:
        root = read_credentials_file(args.data_dir / CREDENTIALS_FILE)
        if root is None:
            raise LookupError("no credentials: set a profile or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                              "or point --data-dir at the server's data directory")
        keys = {"aws_access_key_id": root.access_key_id, "aws_secret_access_key": root.secret_access_key}
    config = Config(retries={"max_attempts": 2})
    endpoint = args.endpoint_url
    if endpoint is None:
        probe = session.create_client(wanted[0][0], region_name=wanted[0][1] or default_region, config=config,
                                      **keys)
        # no endpoint from the profile or AWS_ENDPOINT_URL: botocore chose AWS; cloudkeep's default instead
        endpoint = (DEFAULT_ENDPOINT if probe.meta.endpoint_url.rstrip("/").endswith(".amazonaws.com")
                    else probe.meta.endpoint_url)
    return tuple(session.create_client(service, region_name=region or default_region, endpoint_url=endpoint,
                                       config=config, **keys) for service, region in wanted)


def reporting_errors(work: Callable[[], int]) -> int:
    """Runs ``work``; a missing credential (2), an unreachable server, an AWS error or another
    client error (1) is one line on stderr instead of a traceback."""
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    try:
        return work()
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
