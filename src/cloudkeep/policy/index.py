"""Statements indexed by action: for a policy and an action, the statements whose Action /
NotAction element covers that action, split into Deny and Allow, in statement order.

The index is built lazily, once per ``Policy`` object and lower-cased action, and cached, so a
decision only looks at statements that can possibly match (usually a handful out of dozens).
``Policy`` is a frozen slotted dataclass without ``__weakref__``, and hashing it would hash every
statement, so the cache is keyed by ``id(policy)`` and keeps the policy alive beside its entry
(an id cannot be reused while the entry holds its object). Both levels are bounded: past
``MAX_POLICIES`` policies or ``MAX_ACTIONS`` actions for one policy the cache starts afresh.

Must not: decide anything beyond the action element (Resource, Principal and Condition are the
evaluator's, through ``match.statement_matches``); import anything outside the standard library
and ``cloudkeep.policy``; do I/O.
"""

from __future__ import annotations

from cloudkeep.policy.match import action_matches
from cloudkeep.policy.model import Effect, Policy, Statement

MAX_POLICIES = 8192
MAX_ACTIONS = 4096

Candidates = tuple[tuple[Statement, ...], tuple[Statement, ...]]   # (denies, allows)

_EMPTY: Candidates = ((), ())
_CACHE: dict[int, tuple[Policy, dict[str, Candidates]]] = {}


def _covers(statement: Statement, action: str) -> bool:
    if statement.actions is not None:
        return action_matches(statement.actions, action)
    if statement.not_actions is not None:
        return not action_matches(statement.not_actions, action)
    return False


def _build(policy: Policy, action: str) -> Candidates:
    denies: list[Statement] = []
    allows: list[Statement] = []
    for statement in policy.statements:
        if _covers(statement, action):
            (denies if statement.effect is Effect.DENY else allows).append(statement)
    if not denies and not allows:
        return _EMPTY
    return tuple(denies), tuple(allows)


def candidates(policy: Policy, action: str) -> Candidates:
    """The Deny and the Allow statements of ``policy`` whose action element covers ``action``
    (case-insensitive), each in statement order."""
    entry = _CACHE.get(id(policy))
    if entry is None or entry[0] is not policy:
        if len(_CACHE) >= MAX_POLICIES:
            _CACHE.clear()
        entry = (policy, {})
        _CACHE[id(policy)] = entry
    by_action = entry[1]
    key = action.lower()
    found = by_action.get(key)
    if found is None:
        found = _build(policy, key)
        if len(by_action) >= MAX_ACTIONS:
            by_action.clear()
        by_action[key] = found
    return found


def clear() -> None:
    """Forget every index (tests; a server never needs to: entries are bounded)."""
    _CACHE.clear()
