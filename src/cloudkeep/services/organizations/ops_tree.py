"""Organizations operations on the tree below the root: OUs (CreateOrganizationalUnit,
UpdateOrganizationalUnit, DeleteOrganizationalUnit, DescribeOrganizationalUnit,
ListOrganizationalUnitsForParent), ListChildren, ListParents, and the tags of the root, OUs,
accounts and policies (TagResource, UntagResource, ListTagsForResource).

- OUs nest at most five levels below the root (ConstraintViolationException
  OU_DEPTH_LIMIT_EXCEEDED); names are unique among the children of one parent.
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateOrganizationalUnit.html
- Taggable resources: "AWS account, Organization root, Organizational unit (OU), Policy (any
  type)"; at most 50 tags each.
  https://docs.aws.amazon.com/organizations/latest/APIReference/API_TagResource.html

Must not: import the pipeline; hold SQL or rules.
"""

from __future__ import annotations

from cloudkeep.services.framework import Call, Params, Result

from . import domain as D
from . import paging
from . import repo_policies as PR
from . import repository as repo
from .authz import DELEGATED, MANAGEMENT, caller_for
from .domain import Caller, OrgUnit
from .errors import (ChildNotFoundException, DuplicateOrganizationalUnitException, OrganizationalUnitNotEmptyException,
                     invalid_enum, ou_not_found, target_not_found)
from .operations import attach_defaults, member_of, operation, parent_of, unique


def _duplicate() -> DuplicateOrganizationalUnitException:
    return DuplicateOrganizationalUnitException("An OU with the same name already exists.")


def _ou(call: Call, caller: Caller, ou_id: str) -> OrgUnit:
    found = repo.get_ou(call.uow, caller.org.org_id, ou_id) if D.OU_ID.fullmatch(ou_id) else None
    if found is None:
        raise ou_not_found()
    return found


def _ou_wire(call: Call, caller: Caller, ou: OrgUnit) -> Result:
    return ou.to_wire(call.partition, caller.org.management_account_id)


@operation("CreateOrganizationalUnit")
def create_organizational_unit(call: Call, params: Params) -> Result:
    caller = caller_for(call, MANAGEMENT)
    org_id, parent_id, name = caller.org.org_id, params["ParentId"], params["Name"]
    path, depth = parent_of(call, caller, parent_id)
    D.check_depth(depth)
    tags = D.merged_tags({}, D.check_tags(params.get("Tags") or []))
    if repo.ou_name_taken(call.uow, org_id, parent_id, name):
        raise _duplicate()
    D.check_ou_count(repo.count_ous(call.uow, org_id))
    ou_id = D.new_ou_id(call.ids, caller.org.root_id)
    ou = OrgUnit(ou_id=ou_id, org_id=org_id, parent_id=parent_id, name=name, path=D.child_path(path, ou_id),
                 depth=depth + 1)
    unique(call, lambda: repo.add_ou(call.uow, ou, call.clock.now()), _duplicate)
    attach_defaults(call, caller.org, [ou_id])
    if tags:
        repo.set_tags(call.uow, org_id, ou_id, tags)
    return {"OrganizationalUnit": _ou_wire(call, caller, ou)}


@operation("UpdateOrganizationalUnit")
def update_organizational_unit(call: Call, params: Params) -> Result:
    caller = caller_for(call, MANAGEMENT)
    ou = _ou(call, caller, params["OrganizationalUnitId"])
    name = params.get("Name")
    if name is not None and name != ou.name:
        if repo.ou_name_taken(call.uow, caller.org.org_id, ou.parent_id, name):
            raise _duplicate()
        repo.rename_ou(call.uow, ou.ou_id, name)
        ou = OrgUnit(ou_id=ou.ou_id, org_id=ou.org_id, parent_id=ou.parent_id, name=name, path=ou.path, depth=ou.depth)
    return {"OrganizationalUnit": _ou_wire(call, caller, ou)}


@operation("DeleteOrganizationalUnit")
def delete_organizational_unit(call: Call, params: Params) -> Result:
    caller = caller_for(call, MANAGEMENT)
    ou = _ou(call, caller, params["OrganizationalUnitId"])
    org_id = caller.org.org_id
    if repo.count_ous(call.uow, org_id, parent_id=ou.ou_id) or repo.count_members(call.uow, org_id,
                                                                                   parent_id=ou.ou_id):
        raise OrganizationalUnitNotEmptyException(
            "The specified OU is not empty. Move all accounts to another root or to other OUs, remove all child OUs, "
            "and try the operation again.")
    repo.delete_ou(call.uow, org_id, ou.ou_id)
    return {}


@operation("DescribeOrganizationalUnit")
def describe_organizational_unit(call: Call, params: Params) -> Result:
    caller = caller_for(call, DELEGATED)
    return {"OrganizationalUnit": _ou_wire(call, caller, _ou(call, caller, params["OrganizationalUnitId"]))}


@operation("ListOrganizationalUnitsForParent")
def list_organizational_units_for_parent(call: Call, params: Params) -> Result:
    caller = caller_for(call, DELEGATED)
    parent_id = params["ParentId"]
    parent_of(call, caller, parent_id)
    found = repo.ous(call.uow, caller.org.org_id, parent_id=parent_id)
    chunk, token = paging.page(found, params, "ListOrganizationalUnitsForParent:" + parent_id,
                               lambda o: (o.name, o.ou_id))
    return paging.result("OrganizationalUnits", [_ou_wire(call, caller, o) for o in chunk], token)


@operation("ListChildren")
def list_children(call: Call, params: Params) -> Result:
    caller = caller_for(call, DELEGATED)
    parent_id, child_type = params["ParentId"], params["ChildType"]
    parent_of(call, caller, parent_id)
    if child_type == D.ACCOUNT:
        ids = [m.account_id for m in repo.members(call.uow, caller.org.org_id, parent_id=parent_id)]
    elif child_type == D.ORGANIZATIONAL_UNIT:
        ids = [o.ou_id for o in repo.ous(call.uow, caller.org.org_id, parent_id=parent_id)]
    else:
        raise invalid_enum()
    chunk, token = paging.page(ids, params, f"ListChildren:{parent_id}:{child_type}", lambda i: (i,))
    return paging.result("Children", [{"Id": i, "Type": child_type} for i in chunk], token)


@operation("ListParents")
def list_parents(call: Call, params: Params) -> Result:
    """Every root, OU and account has exactly one parent (the root has none to list)."""
    caller = caller_for(call, DELEGATED)
    child_id = params["ChildId"]

    def missing() -> ChildNotFoundException:
        return ChildNotFoundException("We can't find an organizational unit (OU) or AWS account with the ChildId "
                                      "that you specified.")
    if D.ACCOUNT_ID.fullmatch(child_id):
        parent_id = member_of(call, caller, child_id, missing).parent_id
    else:
        found = repo.get_ou(call.uow, caller.org.org_id, child_id) if D.OU_ID.fullmatch(child_id) else None
        if found is None:
            raise missing()
        parent_id = found.parent_id
    kind = D.ROOT if parent_id == caller.org.root_id else D.ORGANIZATIONAL_UNIT
    chunk, token = paging.page([parent_id], params, "ListParents:" + child_id, lambda i: (i,))
    return paging.result("Parents", [{"Id": i, "Type": kind} for i in chunk], token)


# --- tags ----------------------------------------------------------------------------------------


def _taggable(call: Call, caller: Caller, resource_id: str) -> str:
    """The id of an existing root, OU, member account or customer policy of the caller's
    organization; TargetNotFoundException otherwise (AWS managed policies take no tags)."""
    org_id = caller.org.org_id
    kind = D.target_kind(resource_id)
    exists = ((kind == D.ROOT and resource_id == caller.org.root_id)
              or (kind == D.ORGANIZATIONAL_UNIT and repo.get_ou(call.uow, org_id, resource_id) is not None)
              or (kind == D.ACCOUNT and (m := repo.get_member(call.uow, resource_id)) is not None
                  and m.org_id == org_id)
              or (kind == D.POLICY and (p := PR.get_policy(call.uow, org_id, resource_id)) is not None
                  and not p.aws_managed))
    if not exists:
        raise target_not_found()
    return resource_id


@operation("TagResource")
def tag_resource(call: Call, params: Params) -> Result:
    caller = caller_for(call, MANAGEMENT)
    resource_id = _taggable(call, caller, params["ResourceId"])
    new = D.check_tags(params["Tags"])
    org_id = caller.org.org_id
    repo.set_tags(call.uow, org_id, resource_id, D.merged_tags(repo.tags_of(call.uow, org_id, resource_id), new))
    return {}


@operation("UntagResource")
def untag_resource(call: Call, params: Params) -> Result:
    caller = caller_for(call, MANAGEMENT)
    resource_id = _taggable(call, caller, params["ResourceId"])
    gone = set(params["TagKeys"])
    org_id = caller.org.org_id
    current = repo.tags_of(call.uow, org_id, resource_id)
    repo.set_tags(call.uow, org_id, resource_id, {k: v for k, v in current.items() if k not in gone})
    return {}


@operation("ListTagsForResource")
def list_tags_for_resource(call: Call, params: Params) -> Result:
    caller = caller_for(call, DELEGATED)
    resource_id = _taggable(call, caller, params["ResourceId"])
    tags = D.tags_wire(repo.tags_of(call.uow, caller.org.org_id, resource_id))
    chunk, token = paging.page(tags, params, "ListTagsForResource:" + resource_id, lambda t: (t["Key"],),
                               max_results=D.MAX_TAGS)
    return paging.result("Tags", chunk, token)
