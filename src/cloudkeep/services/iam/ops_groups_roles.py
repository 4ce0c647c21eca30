"""IAM operations for groups, roles, instance profiles, and role and user tags.

Registered on the service's one registry (``operations.operation``). Messages follow IAM's
wording (https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html and the
operations' pages); quotas answer ``LimitExceeded`` "Cannot exceed quota for <Name>: <n>".

Must not: import the pipeline; hold SQL (repositories) or rules (domain modules).
"""

from __future__ import annotations

from cloudkeep.policy.model import PolicyError, PolicyKind
from cloudkeep.services.framework import Call, Params, Result
from cloudkeep.storage.engine import is_unique_violation

from . import domain
from . import domain_groups_roles as dom
from .domain_groups_roles import Group, InstanceProfile, Role
from .errors import DeleteConflict, EntityAlreadyExists, InvalidInput, LimitExceeded, MalformedPolicyDocument, \
    NoSuchEntity
from .operations import _decode_marker, _encode_marker, operation
from .repo_groups_roles import GroupsRolesRepository, entity_policy_conflict

#: DeleteUser / DeleteGroup while the user is in a group (AWS answers the same words for both:
#: https://github.com/mozilla-services/userplex/issues/17, https://github.com/go-to-k/delstack/issues/40)
MEMBERS_CONFLICT = "Cannot delete entity, must remove users from group first."
#: DeleteRole / DeleteInstanceProfile (https://github.com/99designs/iamy/pull/68, /issues/47)
PROFILE_CONFLICT = "Cannot delete entity, must remove roles from instance profile first."


def _repo(call: Call) -> GroupsRolesRepository:
    return GroupsRolesRepository(call.uow)


def _no_group(name: str) -> NoSuchEntity:
    return NoSuchEntity(f"The group with name {name} cannot be found.")


def _no_role(name: str) -> NoSuchEntity:
    return NoSuchEntity(f"The role with name {name} cannot be found.")


def _no_user(name: str) -> NoSuchEntity:
    return NoSuchEntity(f"The user with name {name} cannot be found.")


def _no_profile(name: str) -> NoSuchEntity:
    return NoSuchEntity(f"Instance Profile {name} cannot be found.")


def _require_group(call: Call, name: str, *, lock: bool = False) -> Group:
    group = _repo(call).get_group(call.account_id, name, lock=lock)
    if group is None:
        raise _no_group(name)
    return group


def _require_role(call: Call, name: str, *, with_tags: bool = False, lock: bool = False) -> Role:
    role = _repo(call).get_role(call.account_id, name, with_tags=with_tags, lock=lock)
    if role is None:
        raise _no_role(name)
    return role


def _require_profile(call: Call, name: str, *, lock: bool = False) -> InstanceProfile:
    profile = _repo(call).get_profile(call.account_id, name, lock=lock)
    if profile is None:
        raise _no_profile(name)
    return profile


def _require_user(call: Call, name: str) -> None:
    """The user exists; its row stays locked until commit (membership and tags change under it)."""
    if not _repo(call).lock_user(call.account_id, name):
        raise _no_user(name)


def _page(call: Call, params: Params) -> tuple[int, str | None]:
    return params.get("MaxItems", 100), _decode_marker(params.get("Marker"))


def _paged(items: list, limit: int, member: str, wire, key) -> Result:
    """A List* result: at most ``limit`` items; Marker is the last returned item's name key."""
    out: Result = {member: [wire(x) for x in items[:limit]], "IsTruncated": len(items) > limit}
    if len(items) > limit:
        out["Marker"] = _encode_marker(domain.name_key(key(items[limit - 1])))
    return out


def _check_trust_policy(document: str) -> None:
    """Validated when written, by the policy language's parser (a role's trust policy is a
    resource policy: Principal required). Size above the quota is LimitExceeded."""
    from cloudkeep.policy.parse import parse_policy

    try:
        parse_policy(document, PolicyKind.TRUST, quota=dom.TRUST_POLICY_QUOTA)
    except PolicyError as exc:
        if exc.code == "LimitExceeded":
            raise LimitExceeded(str(exc)) from None
        raise MalformedPolicyDocument(str(exc)) from None


def _insert(add, conflict: str) -> None:
    """Run an insert; a concurrent insert of the same name becomes EntityAlreadyExists."""
    try:
        add()
    except Exception as exc:
        if is_unique_violation(exc):
            raise EntityAlreadyExists(conflict) from None
        raise


def check_user_deletable(call: Call, user_name: str) -> None:
    """DeleteUser's extra rule: a user still in a group cannot be deleted (called by
    ``operations.delete_user``)."""
    if _repo(call).count_groups_of_user(call.account_id, user_name):
        raise DeleteConflict(MEMBERS_CONFLICT)


# --- groups ------------------------------------------------------------------------------


@operation("CreateGroup")
def create_group(call: Call, params: Params) -> Result:
    group = Group.new(account_id=call.account_id, partition=call.partition, group_name=params["GroupName"],
                      path=params.get("Path"), group_id=call.ids.unique_id("AGPA"), now=call.clock.now())
    repo = _repo(call)
    exists = f"Group with name {group.group_name} already exists."
    if repo.count_groups(call.account_id) >= dom.GROUPS_PER_ACCOUNT:
        raise LimitExceeded(dom.quota_message("GroupsPerAccount", dom.GROUPS_PER_ACCOUNT))
    if repo.get_group(call.account_id, group.group_name) is not None:
        raise EntityAlreadyExists(exists)
    _insert(lambda: repo.add_group(group), exists)
    return {"Group": group.to_wire()}


@operation("GetGroup")
def get_group(call: Call, params: Params) -> Result:
    group = _require_group(call, params["GroupName"])
    limit, after = _page(call, params)
    users = _repo(call).members(call.account_id, group.group_name, after_key=after, limit=limit + 1)
    out = _paged(users, limit, "Users", _user_wire, lambda u: u.user_name)
    out["Group"] = group.to_wire()
    return out


def _user_wire(row) -> dict:
    out = {"Path": row.path, "UserName": row.user_name, "UserId": row.user_id, "Arn": row.arn,
           "CreateDate": row.created_at}
    if row.password_last_used:
        out["PasswordLastUsed"] = row.password_last_used
    return out


@operation("ListGroups")
def list_groups(call: Call, params: Params) -> Result:
    limit, after = _page(call, params)
    groups = _repo(call).list_groups(call.account_id, path_prefix=params.get("PathPrefix", "/"),
                                     after_key=after, limit=limit + 1)
    return _paged(groups, limit, "Groups", Group.to_wire, lambda g: g.group_name)


@operation("DeleteGroup")
def delete_group(call: Call, params: Params) -> Result:
    group = _require_group(call, params["GroupName"], lock=True)
    repo = _repo(call)
    if repo.count_members(call.account_id, group.group_name):
        raise DeleteConflict(MEMBERS_CONFLICT)
    conflict = entity_policy_conflict(call.uow, call.account_id, "group", domain.name_key(group.group_name))
    if conflict:
        raise DeleteConflict(conflict)
    repo.delete_group(call.account_id, group.group_name)
    return {}


@operation("AddUserToGroup")
def add_user_to_group(call: Call, params: Params) -> Result:
    group = _require_group(call, params["GroupName"], lock=True)
    _require_user(call, params["UserName"])
    repo = _repo(call)
    if repo.is_member(call.account_id, group.group_name, params["UserName"]):
        return {}  # adding a member again succeeds and changes nothing
    if repo.count_groups_of_user(call.account_id, params["UserName"]) >= dom.GROUPS_PER_USER:
        raise LimitExceeded(dom.quota_message("GroupsPerUser", dom.GROUPS_PER_USER))
    repo.add_member(call.account_id, group.group_name, params["UserName"], call.clock.now())
    return {}


@operation("RemoveUserFromGroup")
def remove_user_from_group(call: Call, params: Params) -> Result:
    # Removing a user who is not a member succeeds (https://github.com/cloud-custodian/cloud-custodian/pull/4730).
    group = _require_group(call, params["GroupName"])
    _require_user(call, params["UserName"])
    _repo(call).remove_member(call.account_id, group.group_name, params["UserName"])
    return {}


@operation("ListGroupsForUser")
def list_groups_for_user(call: Call, params: Params) -> Result:
    _require_user(call, params["UserName"])
    limit, after = _page(call, params)
    groups = _repo(call).groups_of_user(call.account_id, params["UserName"], after_key=after, limit=limit + 1)
    return _paged(groups, limit, "Groups", Group.to_wire, lambda g: g.group_name)


# --- roles -------------------------------------------------------------------------------


@operation("CreateRole")
def create_role(call: Call, params: Params) -> Result:
    boundary = params.get("PermissionsBoundary")
    if boundary is not None:
        if not domain.is_policy_arn(boundary, call.partition):
            raise InvalidInput(f"ARN {boundary} is not valid.")
        from .ops_policies import require_boundary_policy  # late: that module imports this package's registry
        require_boundary_policy(call, boundary)
    tags = tuple(domain.check_tags(params.get("Tags", [])))
    _check_trust_policy(params["AssumeRolePolicyDocument"])
    role = Role.new(account_id=call.account_id, partition=call.partition, role_name=params["RoleName"],
                    path=params.get("Path"), role_id=call.ids.unique_id("AROA"), now=call.clock.now(),
                    assume_role_policy=params["AssumeRolePolicyDocument"],
                    max_session_duration=params.get("MaxSessionDuration"), description=params.get("Description"),
                    permissions_boundary_arn=boundary, tags=tags)
    repo = _repo(call)
    exists = f"Role with name {role.role_name} already exists."
    if repo.count_roles(call.account_id) >= dom.ROLES_PER_ACCOUNT:
        raise LimitExceeded(dom.quota_message("RolesPerAccount", dom.ROLES_PER_ACCOUNT))
    if repo.get_role(call.account_id, role.role_name) is not None:
        raise EntityAlreadyExists(exists)
    _insert(lambda: repo.add_role(role), exists)
    out = role.to_wire(full=False)
    if role.permissions_boundary_arn:
        out["PermissionsBoundary"] = role.to_wire()["PermissionsBoundary"]
    if role.tags:
        out["Tags"] = dom.tags_wire(role.tags)
    return {"Role": out}


@operation("GetRole")
def get_role(call: Call, params: Params) -> Result:
    return {"Role": _require_role(call, params["RoleName"], with_tags=True).to_wire()}


@operation("ListRoles")
def list_roles(call: Call, params: Params) -> Result:
    limit, after = _page(call, params)
    roles = _repo(call).list_roles(call.account_id, path_prefix=params.get("PathPrefix", "/"),
                                   after_key=after, limit=limit + 1)
    return _paged(roles, limit, "Roles", lambda r: r.to_wire(full=False), lambda r: r.role_name)


@operation("DeleteRole")
def delete_role(call: Call, params: Params) -> Result:
    role = _require_role(call, params["RoleName"], lock=True)
    repo = _repo(call)
    if repo.count_profiles_of_role(call.account_id, role.role_name):
        raise DeleteConflict(PROFILE_CONFLICT)
    conflict = entity_policy_conflict(call.uow, call.account_id, "role", domain.name_key(role.role_name))
    if conflict:
        raise DeleteConflict(conflict)
    repo.delete_role(call.account_id, role.role_name)
    return {}


@operation("UpdateRole")
def update_role(call: Call, params: Params) -> Result:
    role = _require_role(call, params["RoleName"])
    values: dict = {}
    if "Description" in params:
        values["description"] = params["Description"]
    if "MaxSessionDuration" in params:
        values["max_session_duration"] = params["MaxSessionDuration"]
    if values:
        _repo(call).update_role(call.account_id, role.role_name, **values)
    return {}


@operation("UpdateRoleDescription")
def update_role_description(call: Call, params: Params) -> Result:
    role = _require_role(call, params["RoleName"])
    _repo(call).update_role(call.account_id, role.role_name, description=params["Description"])
    return {"Role": _require_role(call, role.role_name, with_tags=True).to_wire()}


@operation("UpdateAssumeRolePolicy")
def update_assume_role_policy(call: Call, params: Params) -> Result:
    role = _require_role(call, params["RoleName"])
    _check_trust_policy(params["PolicyDocument"])
    _repo(call).update_role(call.account_id, role.role_name, assume_role_policy=params["PolicyDocument"])
    return {}


# --- tags of roles and users -------------------------------------------------------------------


def _tagged(current: tuple, params: Params) -> tuple:
    tags = dom.merge_tags(current, domain.check_tags(params["Tags"]))
    if len(tags) > domain.MAX_TAGS:
        raise LimitExceeded(f"The number of tags has reached the maximum limit of {domain.MAX_TAGS}.")
    return tags


def _tags_page(tags: tuple, params: Params) -> Result:
    """ListRoleTags/ListUserTags: tags in the order they were added; Marker is a position."""
    limit = params.get("MaxItems", 100)
    marker = params.get("Marker")
    start = 0
    if marker is not None:
        raw = _decode_marker(marker)
        if raw is None or not raw.isdigit():
            raise InvalidInput("Invalid Marker.")
        start = int(raw)
    page = tags[start:start + limit]
    out: Result = {"Tags": dom.tags_wire(page), "IsTruncated": start + limit < len(tags)}
    if out["IsTruncated"]:
        out["Marker"] = _encode_marker(str(start + limit))
    return out


@operation("TagRole")
def tag_role(call: Call, params: Params) -> Result:
    role = _require_role(call, params["RoleName"], with_tags=True, lock=True)
    _repo(call).set_role_tags(call.account_id, role.role_name, _tagged(role.tags, params))
    return {}


@operation("UntagRole")
def untag_role(call: Call, params: Params) -> Result:
    role = _require_role(call, params["RoleName"], with_tags=True, lock=True)
    _repo(call).set_role_tags(call.account_id, role.role_name, dom.remove_tags(role.tags, params["TagKeys"]))
    return {}


@operation("ListRoleTags")
def list_role_tags(call: Call, params: Params) -> Result:
    return _tags_page(_require_role(call, params["RoleName"], with_tags=True).tags, params)


@operation("TagUser")
def tag_user(call: Call, params: Params) -> Result:
    _require_user(call, params["UserName"])
    repo = _repo(call)
    repo.set_user_tags(call.account_id, params["UserName"],
                       _tagged(repo.user_tags(call.account_id, params["UserName"]), params))
    return {}


@operation("UntagUser")
def untag_user(call: Call, params: Params) -> Result:
    _require_user(call, params["UserName"])
    repo = _repo(call)
    repo.set_user_tags(call.account_id, params["UserName"],
                       dom.remove_tags(repo.user_tags(call.account_id, params["UserName"]), params["TagKeys"]))
    return {}


@operation("ListUserTags")
def list_user_tags(call: Call, params: Params) -> Result:
    _require_user(call, params["UserName"])
    return _tags_page(_repo(call).user_tags(call.account_id, params["UserName"]), params)


# --- instance profiles -----------------------------------------------------------------------


@operation("CreateInstanceProfile")
def create_instance_profile(call: Call, params: Params) -> Result:
    tags = tuple(domain.check_tags(params.get("Tags", [])))
    profile = InstanceProfile.new(account_id=call.account_id, partition=call.partition,
                                  name=params["InstanceProfileName"], path=params.get("Path"),
                                  instance_profile_id=call.ids.unique_id("AIPA"), now=call.clock.now(), tags=tags)
    repo = _repo(call)
    exists = f"Instance Profile {profile.instance_profile_name} already exists."
    if repo.count_profiles(call.account_id) >= dom.INSTANCE_PROFILES_PER_ACCOUNT:
        raise LimitExceeded(dom.quota_message("InstanceProfilesPerAccount", dom.INSTANCE_PROFILES_PER_ACCOUNT))
    if repo.get_profile(call.account_id, profile.instance_profile_name) is not None:
        raise EntityAlreadyExists(exists)
    _insert(lambda: repo.add_profile(profile), exists)
    return {"InstanceProfile": profile.to_wire()}


@operation("GetInstanceProfile")
def get_instance_profile(call: Call, params: Params) -> Result:
    return {"InstanceProfile": _require_profile(call, params["InstanceProfileName"]).to_wire()}


@operation("ListInstanceProfiles")
def list_instance_profiles(call: Call, params: Params) -> Result:
    limit, after = _page(call, params)
    profiles = _repo(call).list_profiles(call.account_id, path_prefix=params.get("PathPrefix", "/"),
                                         after_key=after, limit=limit + 1)
    return _paged(profiles, limit, "InstanceProfiles", InstanceProfile.to_wire, lambda p: p.instance_profile_name)


@operation("ListInstanceProfilesForRole")
def list_instance_profiles_for_role(call: Call, params: Params) -> Result:
    role = _require_role(call, params["RoleName"])
    limit, after = _page(call, params)
    profiles = _repo(call).list_profiles(call.account_id, path_prefix="/", after_key=after, limit=limit + 1,
                                         role_name=role.role_name)
    return _paged(profiles, limit, "InstanceProfiles", InstanceProfile.to_wire, lambda p: p.instance_profile_name)


@operation("DeleteInstanceProfile")
def delete_instance_profile(call: Call, params: Params) -> Result:
    profile = _require_profile(call, params["InstanceProfileName"], lock=True)
    if profile.roles:
        raise DeleteConflict(PROFILE_CONFLICT)
    _repo(call).delete_profile(call.account_id, profile.instance_profile_name)
    return {}


@operation("AddRoleToInstanceProfile")
def add_role_to_instance_profile(call: Call, params: Params) -> Result:
    profile = _require_profile(call, params["InstanceProfileName"], lock=True)
    role = _require_role(call, params["RoleName"], lock=True)
    if len(profile.roles) >= dom.ROLES_PER_INSTANCE_PROFILE:
        # https://github.com/getmoto/moto/issues/6404 (AWS's answer, quoted by moto's maintainer)
        raise LimitExceeded(dom.quota_message("InstanceSessionsPerInstanceProfile", dom.ROLES_PER_INSTANCE_PROFILE))
    _repo(call).add_profile_role(call.account_id, profile.instance_profile_name, role.role_name)
    return {}


@operation("RemoveRoleFromInstanceProfile")
def remove_role_from_instance_profile(call: Call, params: Params) -> Result:
    profile = _require_profile(call, params["InstanceProfileName"], lock=True)
    role = _require_role(call, params["RoleName"])
    if not _repo(call).remove_profile_role(call.account_id, profile.instance_profile_name, role.role_name):
        raise _no_role(params["RoleName"])
    return {}
