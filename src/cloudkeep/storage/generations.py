"""Per-account authorization generations: a counter every change to an account's policies
bumps in the same transaction, and every request reads once, so caches of parsed policy sets
stay right across worker processes and across nodes sharing one PostgreSQL.

Must not: know services (callers say when a change affects authorization).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update

from .schema import policy_generations

#: the pseudo account whose generation every change to AWS Organizations state that can change
#: authorization bumps (membership, the OU tree, policies, attachments, enabled policy types)
ORGANIZATIONS = "*org"
#: the pseudo account whose generation every change to a CloudTrail trail's row bumps (created,
#: saved with its logging state and event selectors, retired, removed): what the data event gate
#: keys its answer by (services/cloudtrail/data_events.py)
TRAILS = "*trails"

_BUMP = (update(policy_generations).where(policy_generations.c.account_id == bindparam("a"))
         .values(generation=policy_generations.c.generation + 1))
_CURRENT = select(policy_generations.c.generation).where(policy_generations.c.account_id == bindparam("account_id"))
#: the pseudo accounts' generations, read together: every authorized request reads the first
_PSEUDO = (ORGANIZATIONS, TRAILS)
_CURRENT_PSEUDO = select(policy_generations.c.account_id, policy_generations.c.generation).where(
    or_(policy_generations.c.account_id == bindparam("org"), policy_generations.c.account_id == bindparam("trails")))


def bump(uow: Any, account_id: str) -> None:
    """Mark the account's policies changed (inside the transaction that changes them)."""
    seen = getattr(uow, "generations", None)
    if seen is not None:
        seen.pop(account_id, None)          # this transaction no longer has the value it read
    if uow.execute(_BUMP, {"a": account_id}).rowcount:
        return
    try:
        with uow.savepoint():
            uow.execute(insert(policy_generations).values(account_id=account_id, generation=1))
    except Exception:
        # another transaction created the row first: it is there now, count this change too
        uow.execute(_BUMP, {"a": account_id})


def current_in(uow: Any, account_id: str) -> int:
    """The account's generation as the unit of work's transaction sees it. A pseudo account's is
    read with the other pseudo account's, in one statement; both are kept in the unit of work's
    ``generations`` (what its transaction read, until it bumps one itself)."""
    seen = getattr(uow, "generations", None)
    if account_id in _PSEUDO:
        values = dict.fromkeys(_PSEUDO, 0)
        for row in uow.run(_CURRENT_PSEUDO, {"org": ORGANIZATIONS, "trails": TRAILS}).all():
            values[row.account_id] = int(row.generation)
        if seen is not None:
            seen.update(values)
        return values[account_id]
    value = uow.run(_CURRENT, {"account_id": account_id}).scalar_one_or_none()
    return int(value) if value is not None else 0


class GenerationReader:
    """Reads an account's generation with a prepared read (sees every committed bump).

    A cache must read the generation no later than the state it caches under it. Given the
    request's unit of work, once that has begun its transaction the generation is read inside
    it (the same snapshot as what it loads next); before, with the prepared read, whose value
    is never newer than what the transaction will see."""

    def __init__(self, store: Any) -> None:
        self._query = store.prepare_read(_CURRENT)

    def current(self, account_id: str, uow: Any = None) -> int:
        """Read once per unit of work and account: the value is kept in ``uow.memo``, which every
        write statement empties (a bump in the same transaction is a write)."""
        memo = getattr(uow, "memo", None)
        ident = ("generation", account_id)
        if memo is not None and ident in memo:
            return memo[ident]
        if uow is not None and uow.begun:
            value = current_in(uow, account_id)
        else:
            row = self._query.first(account_id=account_id)
            value = int(row[0]) if row else 0
        if memo is not None:
            memo[ident] = value
        return value
