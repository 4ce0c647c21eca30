"""AWS Organizations: an organization of this server's accounts with its root, OUs and member
accounts (created ones are real new tenants), invitations, service control and resource control
policies attached along the tree, tags, trusted service access and delegated administrators.
Authorization reads it through ``authz_source.for_account``."""

from cloudkeep.services.framework import Service

from . import ops_accounts, ops_delegation, ops_handshakes, ops_policies, ops_tree  # noqa: F401  (register operations)
from .authz import AUTHZ
from .errors import ERRORS
from .operations import operation

SERVICE = Service(name="organizations", action_prefix="organizations", operations=operation, authz=AUTHZ,
                  errors=ERRORS)
