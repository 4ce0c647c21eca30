"""S3 Control's account-level Block Public Access operations, their authorization entries and
errors. The account the request names (x-amz-account-id) must be the caller's: S3 Control
answers 403 AccessDenied for another account's settings.

Must not: hold SQL (services/s3/repository.py does the account's row).
"""

from __future__ import annotations

from typing import Any, ClassVar

from cloudkeep.services.framework import AuthzContext, Call, Check, Operations, Params, Result
from cloudkeep.services.s3 import public as P
from cloudkeep.services.s3 import repository as repo
from cloudkeep.services.s3.authz import COMMON, transport_keys
from cloudkeep.wire.errors import AccessDenied, InvalidRequest, ServiceError

operation = Operations()


class NoSuchPublicAccessBlockConfiguration(ServiceError):
    code = "NoSuchPublicAccessBlockConfiguration"; status = 404
    MESSAGE: ClassVar[str] = "The public access block configuration was not found"


ERRORS = (NoSuchPublicAccessBlockConfiguration,)


def _keys(ctx: AuthzContext) -> dict[str, tuple[str, ...]]:
    return transport_keys(ctx, ctx.account_id)


def _check(action: str) -> Check:
    return Check(action, keys=COMMON, context=_keys, denial_style="s3")


AUTHZ: dict[str, Any] = {
    "PutPublicAccessBlock": [_check("s3:PutAccountPublicAccessBlock")],
    "GetPublicAccessBlock": [_check("s3:GetAccountPublicAccessBlock")],
    # "To use this operation, you must have the s3:PutAccountPublicAccessBlock permission"
    # (API_control_DeletePublicAccessBlock.html)
    "DeletePublicAccessBlock": [_check("s3:PutAccountPublicAccessBlock")],
}


def _account(call: Call, params: Params) -> str:
    account = params.get("AccountId")
    if account != call.account_id:
        raise AccessDenied("Access Denied")
    return account


@operation("PutPublicAccessBlock")
def put_public_access_block(call: Call, params: Params) -> Result:
    account = _account(call, params)
    config = params.get("PublicAccessBlockConfiguration")
    if not isinstance(config, dict):
        raise InvalidRequest("Missing required PublicAccessBlockConfiguration")
    repo.put_account_public_access_block(call.uow, account, P.config(config))
    return {}


@operation("GetPublicAccessBlock")
def get_public_access_block(call: Call, params: Params) -> Result:
    account = _account(call, params)
    found = repo.account_public_access_block(call.uow, account)
    if found is None:
        raise NoSuchPublicAccessBlockConfiguration(NoSuchPublicAccessBlockConfiguration.MESSAGE,
                                                   extra={"AccountId": account})
    return {"PublicAccessBlockConfiguration": P.config(found)}


@operation("DeletePublicAccessBlock")
def delete_public_access_block(call: Call, params: Params) -> Result:
    account = _account(call, params)
    repo.put_account_public_access_block(call.uow, account, None)
    return {}
