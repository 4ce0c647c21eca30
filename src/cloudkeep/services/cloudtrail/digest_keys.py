"""The per-region RSA key pairs that sign digest files, and ListPublicKeys.

Each region has a 2048-bit key pair valid for 30 days on the domain clock, then the next one
(rotation): a digest is signed by the key valid at its end time, made on first use; old public
keys stay listed by ListPublicKeys for the time ranges they cover, so digests signed before a
rotation still validate. 30 days is what AWS's keys show (ValidityEndTime - ValidityStartTime
= 2592000 s in the AWS CLI's list-public-keys example,
https://docs.aws.amazon.com/cli/latest/reference/cloudtrail/list-public-keys.html).
The private key is stored sealed under the
root of trust (context: the region and fingerprint), the public key as PKCS#1 DER, the form the
AWS CLI loads (``rsa.PublicKey.load_pkcs1(..., format='DER')`` of ``Value``, base64 on the wire).
The fingerprint is the hex MD5 of that DER, as digest files name it
(``digestPublicKeyFingerprint``, 32 hex digits).
https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_ListPublicKeys.html

Must not: hold delivery rules.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import insert, select

from cloudkeep.storage.schema import cloudtrail_signing_keys

from .errors import InvalidTimeRangeException
from .operations import operation

_K = cloudtrail_signing_keys.c
#: how long a key signs digests, from its ValidityStartTime; the next key starts where it ends
VALIDITY = _dt.timedelta(days=30)
ALGORITHM = "SHA256withRSA"


def _context(region: str, fingerprint: str) -> bytes:
    return f"cloudtrail-digest-key:{region}:{fingerprint}".encode()


def public_der(private_key: rsa.RSAPrivateKey) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)


def valid_to(row: Any) -> _dt.datetime:
    """The end of a key's validity (rows of before rotation have none stored)."""
    return row.valid_to or row.valid_from + VALIDITY


def signing_key(uow: Any, sealer: Any, region: str, when: _dt.datetime) -> tuple[str, rsa.RSAPrivateKey]:
    """(fingerprint, private key) of the region's key valid at ``when`` (a digest's end time),
    made and stored when no key covers it yet: the first one from ``when``, later ones from
    where the newest one ends, in whole validity periods (keys never overlap)."""
    when = when.replace(microsecond=0)
    rows = uow.execute(select(cloudtrail_signing_keys).where(_K.region == region)
                       .order_by(_K.valid_from)).all()
    for row in reversed(rows):
        if row.valid_from <= when < valid_to(row):
            return row.fingerprint, _private(sealer, region, row)
    if rows and when < rows[0].valid_from:      # before every key (the domain clock went back)
        return rows[0].fingerprint, _private(sealer, region, rows[0])
    start = when
    if rows:
        newest_end = valid_to(rows[-1])
        start = newest_end + VALIDITY * ((when - newest_end) // VALIDITY)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = public_der(key)
    fingerprint = hashlib.md5(public).hexdigest()
    private = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    uow.execute(insert(cloudtrail_signing_keys).values(
        region=region, fingerprint=fingerprint, sealed_private_key=sealer.seal(private, context=_context(region, fingerprint)),
        public_key=public, valid_from=start, valid_to=start + VALIDITY))
    return fingerprint, key


def _private(sealer: Any, region: str, row: Any) -> rsa.RSAPrivateKey:
    der = sealer.open(row.sealed_private_key, context=_context(region, row.fingerprint))
    key = serialization.load_der_private_key(der, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def sign(key: rsa.RSAPrivateKey, data: bytes) -> str:
    """SHA256withRSA (PKCS#1 v1.5) signature, hex, as the ``signature`` metadata carries it."""
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256()).hex()


@operation("ListPublicKeys")
def list_public_keys(call: Any, params: Any) -> dict[str, Any]:
    """The region's keys valid at some time in [StartTime, EndTime] (default: now)."""
    now = call.clock.now()
    start, end = params.get("StartTime") or now, params.get("EndTime") or now
    if start > end:
        raise InvalidTimeRangeException("Start time must be before end time.")
    rows = call.uow.execute(select(cloudtrail_signing_keys).where(_K.region == call.region)
                            .order_by(_K.valid_from)).all()
    out = []
    for row in rows:
        until = valid_to(row)
        if row.valid_from <= end and until >= start:
            # the DER (base64 on the wire; the AWS CLI keeps blobs as that text and decodes it itself)
            out.append({"Value": bytes(row.public_key), "ValidityStartTime": row.valid_from,
                        "ValidityEndTime": until, "Fingerprint": row.fingerprint})
    return {"PublicKeyList": out}
