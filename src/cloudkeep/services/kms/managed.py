"""AWS managed keys: the key a service creates in an account, on first use, to encrypt that
account's resources when the caller names no key (``aws/s3`` for S3's SSE-KMS). Its alias is
``alias/aws/<service>`` (a prefix customers cannot use), its KeyManager is AWS, and its key policy
is the one AWS writes: every principal of the account may use it *through the service*
(``kms:ViaService`` and ``kms:CallerAccount``), and the account may read its metadata directly.
https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#aws-managed-key and
https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html

A service calls ``ensure`` before it asks KMS (through the port) to use the key; creating the
key is AWS's internal act, with no KMS API call of its own. ``is_aws_managed`` tells the key
policy AWS writes from any other (its ``Id`` is ``auto-<service>-…``), for KeyMetadata.

Must not: import the pipeline or another service.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

from . import domain as D
from . import repository as repo
from .domain import KmsKey

POLICY_ID_PREFIX = "auto-"
_DESCRIPTIONS = {"s3": "Default key that protects my S3 objects when no other key is defined"}


def alias_name(service: str) -> str:
    return f"alias/aws/{service}"


def key_policy(partition: str, account_id: str, region: str, service: str) -> str:
    """The key policy of an AWS managed key (as AWS writes it for aws/s3, policy id auto-s3-2)."""
    return json.dumps({
        "Version": "2012-10-17", "Id": f"{POLICY_ID_PREFIX}{service}-2",
        "Statement": [
            {"Sid": f"Allow access through {service.upper()} for all principals in the account that are authorized "
                    f"to use {service.upper()}",
             "Effect": "Allow", "Principal": {"AWS": "*"},
             "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
             "Resource": "*",
             "Condition": {"StringEquals": {"kms:CallerAccount": account_id,
                                            "kms:ViaService": f"{service}.{region}.amazonaws.com"}}},
            {"Sid": "Allow direct access to key metadata to the account", "Effect": "Allow",
             "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
             "Action": ["kms:Describe*", "kms:Get*", "kms:List*"], "Resource": "*"},
        ]}, indent=2)


def is_aws_managed(key: KmsKey) -> bool:
    try:
        return str(json.loads(key.policy).get("Id", "")).startswith(POLICY_ID_PREFIX) and \
            key.description in _DESCRIPTIONS.values()
    except (ValueError, AttributeError):
        return False


def ensure(uow: Any, sealer: Any, ids: Any, now: Any, *, partition: str, account_id: str, region: str,
           service: str) -> str:
    """The ARN of the account's AWS managed key for ``service`` in ``region``, created now (in
    ``uow``, which must be a write unit of work) when it does not exist yet."""
    name = alias_name(service)
    row = repo.get_alias(uow, account_id, region, name, now=now)
    if row is not None:
        return D.key_arn(partition, region, account_id, row.target_key_id)
    key_id = ids.uuid()
    material_id = D.new_material_id(ids.token_bytes)
    spec = D.KEY_SPECS[D.SYMMETRIC_DEFAULT]
    key = KmsKey(account_id=account_id, region=region, key_id=key_id,
                 arn=D.key_arn(partition, region, account_id, key_id), key_spec=D.SYMMETRIC_DEFAULT,
                 key_usage=D.ENCRYPT_DECRYPT, state=D.ENABLED, description=_DESCRIPTIONS.get(service, ""),
                 origin="AWS_KMS", created_at=now, deletion_date=None,
                 policy=key_policy(partition, account_id, region, service), current_material_id=material_id,
                 rotation_enabled=True, rotation_period_days=365,
                 next_rotation=now + _dt.timedelta(days=365))   # AWS managed keys rotate yearly
    repo.add_key(uow, sealer, key, D.generate_material(spec, ids.token_bytes), {})
    repo.add_alias(uow, account_id, region, name, key_id, now)
    return key.arn
