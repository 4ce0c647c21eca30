"""Credential resolution: an access key id → the secret to verify with and the ``Principal``.

The resolver is implemented by the service that owns the credentials (IAM for long-term keys,
STS for temporary ones) and handed to the authenticate stage, which knows only this interface.

Must not: hold policy logic; hand secrets to anything but the signature check.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from .principal import Principal


@dataclass(frozen=True, slots=True)
class ResolvedCredential:
    principal: Principal
    secret: str = field(repr=False)
    active: bool = True
    expires_at: _dt.datetime | None = None     # temporary credentials only
    session_token: str | None = field(default=None, repr=False)


class CredentialResolver(Protocol):
    def resolve(self, access_key_id: str) -> ResolvedCredential | None:
        """The credential as committed now, or None when the key is unknown."""
