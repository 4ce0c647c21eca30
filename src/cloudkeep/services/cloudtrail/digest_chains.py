"""The SQL of digest chains' lifecycle: which trails have digests to write (validating ones,
and ones whose chain still waits for its final digest), the end of a chain (after its final
digest: the next digest of that trail and region is a starting digest), and a chain's restart.

Must not: hold rules (``digest.py``) or build files.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from sqlalchemy import delete, select

from cloudkeep.storage.schema import cloudtrail_digest_chains, cloudtrail_digest_logs

from . import delivery_cursor as C
from . import trails_repo as repo
from .trails_domain import Trail

_C = cloudtrail_digest_chains.c
_L = cloudtrail_digest_logs.c


def any_chain(uow: Any) -> bool:
    """Whether some chain is open (a digest is due some time, even with no trail delivering)."""
    return uow.execute(select(_C.trail_arn).limit(1)).first() is not None


def trails_with_digests(uow: Any) -> list[Trail]:
    """Validating trails and trails with an open chain (stopped, validation turned off, or
    deleted: a retired trail's chains are stored under its ``row_arn``)."""
    arns = set(uow.execute(select(_C.trail_arn).distinct()).scalars())
    trails = {t.row_arn: t for t in repo.validating_trails(uow)}
    for arn in sorted(arns - trails.keys()):
        trail = repo.by_arn(uow, arn)
        if trail is not None:
            trails[arn] = trail
    return [trails[arn] for arn in sorted(trails)]


#: the refusal after which a deleted trail gives up at once (``delivery.finish_retired``): its
#: bucket is gone, and a bucket made later under the name (bucket names are global) may be anyone's
GONE = "NoSuchBucket"


def end(uow: Any, chain: C.Chain) -> None:
    """The chain is over (its final digest is written): the next one starts afresh."""
    where = (_C.trail_arn == chain.trail_arn, _C.region == chain.region, _C.log_account == chain.log_account)
    uow.execute(delete(cloudtrail_digest_chains).where(*where))


def restart(uow: Any, chain: C.Chain, start: _dt.datetime) -> C.Chain:
    """A new chain of the same trail, region and account from ``start`` (a starting digest next)."""
    end(uow, chain)
    C.ensure_chain(uow, chain.trail_arn, chain.region, chain.log_account, start)
    return C.Chain(chain.trail_arn, chain.region, chain.log_account, start, None, None, None, None)
