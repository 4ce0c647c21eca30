"""The data event gate (services/cloudtrail/data_events.py) and the trails' generation it keys
its answer by (storage/generations.TRAILS), read by every authorized request with the
organizations' one. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from cloudkeep.services.cloudtrail.data_events import DataEventGate
from cloudkeep.storage import generations

from storage_backends import store, store_url  # noqa: F401  (pytest fixtures)


def test_the_data_event_gate_knows_a_transactions_answer_by_the_trails_generation(store) -> None:  # type: ignore[no-untyped-def]
    """``DataEventGate.known``: a request's transaction read the trails' generation with the
    organizations' one; the gate's newest read (trails and generation in one statement) answers
    for every transaction of that generation, and for no other."""
    gate = DataEventGate(store)
    reader = generations.GenerationReader(store)

    def request_uow():  # type: ignore[no-untyped-def]
        uow = store.unit_of_work()
        uow.connection                                       # begun, as the authorize stage has it
        assert reader.current(generations.ORGANIZATIONS, uow) == 0
        return uow

    uow = request_uow()
    assert uow.generations == {generations.ORGANIZATIONS: 0, generations.TRAILS: 0}
    assert gate.known(uow) is None                           # the gate has read nothing yet
    assert gate.wanted() is False and gate.known(uow) is False
    uow.rollback()
    with store.unit_of_work(write=True) as writer:           # a change to a trail bumps it
        generations.bump(writer, generations.TRAILS)
    changed = request_uow()
    assert changed.generations[generations.TRAILS] == 1
    assert gate.known(changed) is None and gate.known(uow) is False    # gen 0: still the answer
    assert gate.wanted() is False and gate.known(changed) is False
    with store.unit_of_work(write=True) as writer:           # a bump forgets what its transaction read
        writer.connection
        assert reader.current(generations.ORGANIZATIONS, writer) == 0 and generations.TRAILS in writer.generations
        generations.bump(writer, generations.TRAILS)
        assert generations.TRAILS not in writer.generations and gate.known(writer) is None
    changed.rollback()
