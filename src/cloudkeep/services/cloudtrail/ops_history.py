"""CloudTrail's event history: LookupEvents over the last 90 days of management events of the
caller's account in the request's region (data events are not in the event history).

https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html

Must not: import the pipeline; hold SQL (``history_repository``) or rules (``history``).
"""

from __future__ import annotations

from cloudkeep.audit.recorder import drain_all, journal_waiting
from cloudkeep.services.framework import Call, Params, Result
from cloudkeep.storage.uow import NeedsWrite

from . import history
from .history_repository import entry_texts, lookup
from .operations import operation


@operation("LookupEvents")
def lookup_events(call: Call, params: Params) -> Result:
    query = history.parse_request(params, account_id=call.account_id, region=call.region, now=call.clock.now())
    if query is None:                       # Insights events: this server has none
        return {"Events": []}
    if journal_waiting(call.uow):
        # mutating calls' records the recorder has not moved into the history yet: moved now
        # (in a write unit of work: the pipeline runs the call again in one), so a lookup
        # shows every change acknowledged before it
        if not call.uow.write:
            raise NeedsWrite("audit journal")
        drain_all(call.uow, wait=True)
    entries, cursor = lookup(call.uow.execute, query)
    out: Result = {"Events": [history.event_wire(text) for text in entry_texts(call.uow.execute, entries)
                              if text is not None]}
    if cursor is not None:
        out["NextToken"] = history.encode_token(params, cursor)
    return out
