"""The rotation of digest signing keys on both storage backends: the key valid at a time signs,
a key is valid 30 days from where the one before it ends (also after a long idle spell: whole
validity periods are skipped, keys never overlap), regions have keys of their own, and the
private half is stored sealed (what is stored is not the key).
https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_ListPublicKeys.html"""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from sqlalchemy import select

from cloudkeep.crypto.envelope import Sealer
from cloudkeep.services.cloudtrail import digest_keys as K
from cloudkeep.storage.schema import cloudtrail_signing_keys
from storage_backends import store, store_url  # noqa: F401  (pytest fixtures)

T0 = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)
SEALER = Sealer(bytes(range(32)))


def _key(store, region: str, when: dt.datetime):
    with store.unit_of_work(write=True) as uow:
        return K.signing_key(uow, SEALER, region, when)


def _rows(store, region: str):
    with store.unit_of_work() as uow:
        return uow.execute(select(cloudtrail_signing_keys).where(cloudtrail_signing_keys.c.region == region)
                           .order_by(cloudtrail_signing_keys.c.valid_from)).all()


def test_keys_rotate_every_30_days_and_never_overlap(store):
    first, key = _key(store, "us-east-1", T0)
    assert _key(store, "us-east-1", T0 + dt.timedelta(days=29, hours=23))[0] == first
    second, _ = _key(store, "us-east-1", T0 + dt.timedelta(days=30))
    assert second != first
    assert _key(store, "us-east-1", T0 + dt.timedelta(days=10))[0] == first        # an older time: its key
    idle, _ = _key(store, "us-east-1", T0 + dt.timedelta(days=100))                  # after an idle spell
    rows = _rows(store, "us-east-1")
    assert [r.fingerprint for r in rows] == [first, second, idle]
    assert [(r.valid_from, r.valid_to) for r in rows] == [
        (T0, T0 + dt.timedelta(days=30)), (T0 + dt.timedelta(days=30), T0 + dt.timedelta(days=60)),
        (T0 + dt.timedelta(days=90), T0 + dt.timedelta(days=120))]
    public = serialization.load_der_public_key(bytes(rows[0].public_key))
    public.verify(bytes.fromhex(K.sign(key, b"to sign")), b"to sign",
                  padding.PKCS1v15(), hashes.SHA256())
    private = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    assert private not in bytes(rows[0].sealed_private_key)


def test_each_region_has_its_own_keys(store):
    east, _ = _key(store, "us-east-1", T0)
    west, _ = _key(store, "eu-west-1", T0)
    assert east != west and [r.fingerprint for r in _rows(store, "eu-west-1")] == [west]
