"""The AWS managed policies, as data: loaded once, lazily, from ``data/aws_managed_policies.json.gz``
(written by ``scripts/refresh_aws_managed_policies.py`` from moto's pinned copy of AWS's list).

AWS managed policies exist in every account at ``arn:<partition>:iam::aws:policy<path><name>``
(e.g. ``arn:aws:iam::aws:policy/AdministratorAccess``,
``arn:aws:iam::aws:policy/service-role/AWS_ConfigRole``); they can be read and attached, never
changed by a customer. https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html

AWS's data carries no policy id; each gets a stable ANPA id derived from its name.

Must not: touch storage (attachment counts are the repository's).
"""

from __future__ import annotations

import base64
import datetime as _dt
import functools
import gzip
import hashlib
import json
from dataclasses import dataclass
from importlib import resources

from .domain_policies import AWS_ACCOUNT, ManagedPolicy, PolicyVersion, policy_arn, version_number

DATA_FILE = "aws_managed_policies.json.gz"


@dataclass(frozen=True, slots=True)
class AwsManagedPolicy:
    name: str
    path: str
    default_version_id: str
    document: str                # the default version's document, as JSON text
    created_at: _dt.datetime
    updated_at: _dt.datetime

    @property
    def policy_id(self) -> str:
        digest = hashlib.sha256(("aws-managed:" + self.name).encode()).digest()
        return "ANPA" + base64.b32encode(digest).decode()[:17]

    def policy(self, partition: str, *, attachment_count: int = 0, boundary_usage_count: int = 0) -> ManagedPolicy:
        return ManagedPolicy(account=AWS_ACCOUNT, name=self.name, policy_id=self.policy_id, path=self.path,
                             arn=policy_arn(partition, AWS_ACCOUNT, self.path, self.name),
                             default_version_id=self.default_version_id, created_at=self.created_at,
                             updated_at=self.updated_at, attachment_count=attachment_count,
                             boundary_usage_count=boundary_usage_count)

    def default_version(self) -> PolicyVersion:
        return PolicyVersion(number=version_number(self.default_version_id) or 1, document=self.document,
                             is_default=True, created_at=self.updated_at)


def _time(text: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(text).astimezone(_dt.timezone.utc)


@functools.lru_cache(maxsize=1)
def _load() -> tuple[str, dict[str, AwsManagedPolicy]]:
    raw = resources.files(__package__).joinpath("data", DATA_FILE).read_bytes()
    data = json.loads(gzip.decompress(raw))
    policies = {
        name: AwsManagedPolicy(name=name, path=entry["Path"], default_version_id=entry["DefaultVersionId"],
                               document=json.dumps(entry["Document"], indent=4),
                               created_at=_time(entry["CreateDate"]), updated_at=_time(entry["UpdateDate"]))
        for name, entry in data["policies"].items()
    }
    return data["source"], policies


def source() -> str:
    """Where the data came from, e.g. ``moto 5.2.5``."""
    return _load()[0]


def all_policies() -> dict[str, AwsManagedPolicy]:
    """Every AWS managed policy by name."""
    return _load()[1]


def find(path: str, name: str) -> AwsManagedPolicy | None:
    """The AWS managed policy at ``path`` named ``name`` (exactly as AWS spells it), or None."""
    policy = all_policies().get(name)
    return policy if policy is not None and policy.path == path else None
