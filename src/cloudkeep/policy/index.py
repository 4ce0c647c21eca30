"""Statements indexed by action: for a policy and an action, the statements whose Action /
NotAction element covers that action, split into Deny and Allow, in statement order.

The index is built lazily, once per ``Policy`` object and lower-cased action, and cached, so a
decision only looks at statements that can possibly match (usually a handful out of dozens) and
skips policies that say nothing about the action. The cache is one table per action, keyed by
``id(policy)``: ``Policy`` is a frozen slotted dataclass without ``__weakref__``, and hashing it
would hash every statement, so each entry keeps its policy alive beside it (an id cannot be
reused while the entry holds the object; ``lookup`` checks identity anyway). The whole cache is
bounded: past ``MAX_ENTRIES`` entries it starts afresh.

Must not: decide anything beyond the action element (Resource, Principal and Condition are the
evaluator's, through ``match.statement_matches``); import anything outside the standard library
and ``cloudkeep.policy``; do I/O.
"""

from __future__ import annotations

from cloudkeep.policy.match import action_matches
from cloudkeep.policy.model import Effect, Policy, Statement

MAX_ENTRIES = 200_000

#: a candidate statement and whether it matches every request whose action it covers (no
#: Condition, and Resource "*" or none at all — a resource policy's own resource), so the
#: evaluator need not ask ``statement_matches``
Candidate = tuple[Statement, bool]
Candidates = tuple[tuple[Candidate, ...], tuple[Candidate, ...]]   # (denies, allows)
Table = dict[int, tuple[Policy, Candidates]]

EMPTY: Candidates = ((), ())
_TABLES: dict[str, Table] = {}
_entries = 0


def _covers(statement: Statement, action: str) -> bool:
    if statement.actions is not None:
        return action_matches(statement.actions, action)
    if statement.not_actions is not None:
        return not action_matches(statement.not_actions, action)
    return False


def always(statement: Statement) -> bool:
    """Whether a statement that covers the action matches whatever the resource and context."""
    if statement.conditions or statement.not_resources is not None:
        return False
    return statement.resources is None or "*" in statement.resources


def build(policy: Policy, action: str) -> Candidates:
    """The candidates of ``policy`` for ``action``, computed without any cache."""
    denies: list[Candidate] = []
    allows: list[Candidate] = []
    for statement in policy.statements:
        if _covers(statement, action):
            (denies if statement.effect is Effect.DENY else allows).append((statement, always(statement)))
    if not denies and not allows:
        return EMPTY
    return tuple(denies), tuple(allows)


def table(action: str) -> Table:
    """The cache table of one action (any case); fill it through ``lookup``."""
    key = action.lower()
    found = _TABLES.get(key)
    if found is None:
        found = _TABLES[key] = {}
    return found


def lookup(tab: Table, policy: Policy, action: str) -> Candidates:
    """The candidates of ``policy`` in ``tab`` (the table of ``action``), building them once.
    Hot loops inline the ``tab.get(id(policy))`` fast path and call this on a miss."""
    global _entries
    entry = tab.get(id(policy))
    if entry is not None and entry[0] is policy:
        return entry[1]
    if _entries >= MAX_ENTRIES:
        clear()                       # empties every table, the caller's included
        _TABLES[action.lower()] = tab
    found = build(policy, action.lower())
    tab[id(policy)] = (policy, found)
    _entries += 1
    return found


def candidates(policy: Policy, action: str) -> Candidates:
    """The Deny and the Allow statements of ``policy`` whose action element covers ``action``
    (case-insensitive), each in statement order."""
    return lookup(table(action), policy, action)


def clear() -> None:
    """Forget every index (tests; a server never needs to: the cache is bounded)."""
    global _entries
    for tab in _TABLES.values():
        tab.clear()
    _TABLES.clear()
    _entries = 0
