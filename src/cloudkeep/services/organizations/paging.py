"""NextToken/MaxResults paging of the Organizations List* operations.

A token names the last item of the page it ended and the listing it belongs to (the operation
and its filter), so a token of another listing, or one this server never handed out, is
InvalidInputException (INVALID_NEXT_TOKEN) rather than a wrong page. Lists are ordered by a
stable key; the next page starts after the key in the token, so items added or removed between
calls neither repeat nor shift what follows.
https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html ("NextToken")

Must not: know what is being listed.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Callable, Mapping, Sequence, TypeVar

from .errors import InvalidInputException

T = TypeVar("T")

#: page size when MaxResults is absent (the model allows 1 to 20)
DEFAULT_MAX_RESULTS = 20


def _invalid() -> InvalidInputException:
    return InvalidInputException("INVALID_NEXT_TOKEN",
                                 "You specified an invalid value for nextToken. You must get the value from the "
                                 "response to a previous call to the API.")


def encode(scope: str, key: Sequence[Any]) -> str:
    raw = json.dumps({"s": scope, "k": list(key)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(scope: str, token: str | None) -> list[Any] | None:
    """The key a token resumes after, or None without a token."""
    if token is None:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _invalid() from None
    if not isinstance(data, dict) or data.get("s") != scope or not isinstance(data.get("k"), list):
        raise _invalid()
    return data["k"]


def page(items: Sequence[T], params: Mapping[str, Any], scope: str, key: Callable[[T], Sequence[Any]],
         *, max_results: int | None = None) -> tuple[list[T], str | None]:
    """One page of ``items`` (in any order: they are sorted by ``key``) after the params'
    NextToken, at most MaxResults long; and the token of the next page (None: this is the last)."""
    after = decode(scope, params.get("NextToken"))
    limit = max_results or params.get("MaxResults") or DEFAULT_MAX_RESULTS
    ordered = sorted(items, key=lambda i: list(key(i)))
    if after is not None:
        ordered = [i for i in ordered if list(key(i)) > after]
    chunk = ordered[:limit]
    token = encode(scope, key(chunk[-1])) if len(ordered) > limit else None
    return chunk, token


def result(name: str, items: list[Any], token: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {name: items}
    if token is not None:
        out["NextToken"] = token
    return out
