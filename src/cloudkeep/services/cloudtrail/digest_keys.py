"""The per-region RSA key pairs that sign digest files, and ListPublicKeys.

One 2048-bit key pair per region, made on first use; the private key is stored sealed under the
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
#: how long ListPublicKeys says a key is valid for, from its creation (keys are not rotated yet)
VALIDITY = _dt.timedelta(days=365)
ALGORITHM = "SHA256withRSA"


def _context(region: str, fingerprint: str) -> bytes:
    return f"cloudtrail-digest-key:{region}:{fingerprint}".encode()


def public_der(private_key: rsa.RSAPrivateKey) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)


def signing_key(uow: Any, sealer: Any, region: str, now: _dt.datetime) -> tuple[str, rsa.RSAPrivateKey]:
    """(fingerprint, private key) of the region's current key, made and stored on first use."""
    row = uow.execute(select(cloudtrail_signing_keys).where(_K.region == region, _K.valid_to.is_(None))
                      .order_by(_K.valid_from.desc())).first()
    if row is not None:
        der = sealer.open(row.sealed_private_key, context=_context(region, row.fingerprint))
        key = serialization.load_der_private_key(der, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return row.fingerprint, key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = public_der(key)
    fingerprint = hashlib.md5(public).hexdigest()
    private = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    uow.execute(insert(cloudtrail_signing_keys).values(
        region=region, fingerprint=fingerprint, sealed_private_key=sealer.seal(private, context=_context(region, fingerprint)),
        public_key=public, valid_from=now.replace(microsecond=0), valid_to=None))
    return fingerprint, key


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
        valid_to = row.valid_to or row.valid_from + VALIDITY
        if row.valid_from <= end and valid_to >= start:
            # the DER (base64 on the wire; the AWS CLI keeps blobs as that text and decodes it itself)
            out.append({"Value": bytes(row.public_key), "ValidityStartTime": row.valid_from,
                        "ValidityEndTime": valid_to, "Fingerprint": row.fingerprint})
    return {"PublicKeyList": out}
