"""IAM operations: thin functions from request params to response, one per operation.

Rules live in ``domain.py``, SQL in ``repository.py``. Messages follow IAM's wording, e.g.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUser.html (DeleteConflict).

Must not: import the pipeline; build wire formats by hand (results follow the model's shapes).
"""

from __future__ import annotations

import base64
import binascii

from cloudkeep.auth.principal import PrincipalType
from cloudkeep.services.framework import Call, Operations, Params, Result
from cloudkeep.storage.engine import is_unique_violation

from . import domain
from .credentials import secret_context
from .domain import ACCESS_KEYS_PER_USER, ACTIVE, AccessKey, User
from .errors import DeleteConflict, EntityAlreadyExists, InvalidInput, LimitExceeded, NoSuchEntity
from .repository import IamRepository

operation = Operations()


def _repo(call: Call) -> IamRepository:
    return IamRepository(call.uow)


def _no_user(name: str) -> NoSuchEntity:
    return NoSuchEntity(f"The user with name {name} cannot be found.")


def _no_key(key_id: str) -> NoSuchEntity:
    return NoSuchEntity(f"The Access Key with id {key_id} cannot be found.")


def _require_user(call: Call, name: str) -> User:
    user = _repo(call).get_user(call.account_id, name)
    if user is None:
        raise _no_user(name)
    return user


def _target_user_name(call: Call, params: Params) -> str | None:
    """The user an access-key call is about: the named one, else the caller (None: root)."""
    name = params.get("UserName")
    if name is not None:
        return name
    if call.principal.type is PrincipalType.IAM_USER:
        return call.principal.user_name
    return None


def _encode_marker(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _decode_marker(marker: str | None) -> str | None:
    if marker is None:
        return None
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("Invalid Marker.") from None


# --- users -------------------------------------------------------------------------------


@operation("CreateUser")
def create_user(call: Call, params: Params) -> Result:
    boundary = params.get("PermissionsBoundary")
    if boundary is not None:
        if not domain.is_policy_arn(boundary, call.partition):
            raise InvalidInput(f"ARN {boundary} is not valid.")
        from .ops_policies import require_boundary_policy  # late: that module imports this one
        require_boundary_policy(call, boundary)
    tags = tuple(domain.check_tags(params.get("Tags", [])))
    user = User.new(account_id=call.account_id, partition=call.partition, user_name=params["UserName"],
                    path=params.get("Path"), user_id=call.ids.user_id(), now=call.clock.now(),
                    permissions_boundary_arn=boundary, tags=tags)
    repo = _repo(call)
    if repo.get_user(call.account_id, user.user_name) is not None:
        raise EntityAlreadyExists(f"User with name {user.user_name} already exists.")
    try:
        repo.add_user(user)
    except Exception as exc:
        if is_unique_violation(exc):
            raise EntityAlreadyExists(f"User with name {user.user_name} already exists.") from None
        raise
    return {"User": user.to_wire()}


@operation("GetUser")
def get_user(call: Call, params: Params) -> Result:
    name = params.get("UserName")
    if name is None:
        if call.principal.type is PrincipalType.ROOT:
            # The root user has no user name or path.
            created = _repo(call).account_created_at(call.account_id)
            return {"User": {"UserId": call.account_id, "Arn": call.principal.arn, "CreateDate": created}}
        if call.principal.type is PrincipalType.IAM_USER and call.principal.user_name:
            name = call.principal.user_name
        else:
            raise InvalidInput("Must specify userName when calling with non-User credentials")
    user = _repo(call).get_user(call.account_id, name, with_tags=True)
    if user is None:
        raise _no_user(name)
    return {"User": user.to_wire()}


@operation("ListUsers")
def list_users(call: Call, params: Params) -> Result:
    limit = params.get("MaxItems", 100)
    after = _decode_marker(params.get("Marker"))
    users = _repo(call).list_users(call.account_id, path_prefix=params.get("PathPrefix", "/"),
                                   after_key=after, limit=limit + 1)
    # ListUsers does not return tags (https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListUsers.html)
    out: Result = {"Users": [u.to_wire(with_tags=False) for u in users[:limit]], "IsTruncated": len(users) > limit}
    if len(users) > limit:
        out["Marker"] = _encode_marker(domain.name_key(users[limit - 1].user_name))
    return out


@operation("DeleteUser")
def delete_user(call: Call, params: Params) -> Result:
    name = params["UserName"]
    repo = _repo(call)
    _require_user(call, name)
    if repo.count_access_keys(call.account_id, name):
        raise DeleteConflict("Cannot delete entity, must delete access keys first.")
    from . import repo_policies  # late: these modules import this one
    from .ops_groups_roles import check_user_deletable
    if repo_policies.entity_has_policies(call.uow, call.account_id, "user", domain.name_key(name)):
        raise DeleteConflict("Cannot delete entity, must detach all policies first.")
    check_user_deletable(call, name)
    from . import repo_account
    conflict = repo_account.user_delete_conflict(call.uow, call.account_id, name)
    if conflict:
        raise DeleteConflict(conflict)
    repo.delete_user(call.account_id, name)
    return {}


# --- access keys ---------------------------------------------------------------------------


@operation("CreateAccessKey")
def create_access_key(call: Call, params: Params) -> Result:
    name = _target_user_name(call, params)
    repo = _repo(call)
    owner_name = _require_user(call, name).user_name if name is not None else None
    if repo.count_access_keys(call.account_id, owner_name) >= ACCESS_KEYS_PER_USER:
        raise LimitExceeded(f"Cannot exceed quota for AccessKeysPerUser: {ACCESS_KEYS_PER_USER}")
    key_id, secret = call.ids.access_key_id(), call.ids.secret_access_key()
    key = AccessKey(access_key_id=key_id, account_id=call.account_id, user_name=owner_name,
                    status=ACTIVE, created_at=call.clock.now())
    repo.add_access_key(key, call.sealer.seal(secret.encode(), context=secret_context(key_id)))
    wire = key.metadata_wire(owner_name or call.account_id)
    wire["SecretAccessKey"] = secret
    return {"AccessKey": wire}


@operation("ListAccessKeys")
def list_access_keys(call: Call, params: Params) -> Result:
    name = _target_user_name(call, params)
    owner_name = _require_user(call, name).user_name if name is not None else None
    keys = _repo(call).list_access_keys(call.account_id, owner_name)
    return {"AccessKeyMetadata": [k.metadata_wire(owner_name or call.account_id) for k in keys],
            "IsTruncated": False}


@operation("UpdateAccessKey")
def update_access_key(call: Call, params: Params) -> Result:
    name = _target_user_name(call, params)
    owner_name = _require_user(call, name).user_name if name is not None else None
    if not _repo(call).set_access_key_status(call.account_id, owner_name, params["AccessKeyId"],
                                             params["Status"]):
        raise _no_key(params["AccessKeyId"])
    return {}


@operation("DeleteAccessKey")
def delete_access_key(call: Call, params: Params) -> Result:
    name = _target_user_name(call, params)
    owner_name = _require_user(call, name).user_name if name is not None else None
    if not _repo(call).delete_access_key(call.account_id, owner_name, params["AccessKeyId"]):
        raise _no_key(params["AccessKeyId"])
    return {}


@operation("GetAccessKeyLastUsed")
def get_access_key_last_used(call: Call, params: Params) -> Result:
    found = _repo(call).get_access_key(call.account_id, params["AccessKeyId"])
    if found is None:
        raise _no_key(params["AccessKeyId"])
    key, owner = found
    out: Result = {"AccessKeyLastUsed": key.last_used_wire()}
    if owner is not None:
        out["UserName"] = owner
    return out
