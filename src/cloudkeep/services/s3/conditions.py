"""Byte ranges and conditional requests as S3 answers them: Range (206, 416, or ignored),
If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since on reads (412, 304), the
x-amz-copy-source-if-* pair on copies (412), and conditional writes.

Pages: https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html (Range, the
conditional headers and their order), https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html; RFC 9110.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Any, Final, Mapping

from . import errors as X

# --- ranges --------------------------------------------------------------------------------------------

_RANGE: Final = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The byte range [start, end) a Range header asks for, or None for the whole object.

    A header S3 cannot parse as one range (another unit, several ranges, garbage) is ignored
    and the whole object sent, as S3 does; a syntactically valid range that starts beyond the
    object (so any first-byte range of an empty object) is 416 InvalidRange, with
    ``Content-Range: bytes */<size>`` (RFC 9110 §15.5.17)."""
    if header is None:
        return None
    match = _RANGE.fullmatch(header)
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:                                # suffix: the last N bytes
        length = int(last)
        if length == 0:
            raise _unsatisfiable(header, size)
        if size == 0:
            # the tail of an empty object is the empty object (readers such as Trino's rely on
            # S3 answering it: https://github.com/floci-io/floci/issues/1141)
            return None
        return max(size - length, 0), size
    start = int(first)
    end = size if not last else int(last) + 1
    if last and int(last) < start:
        return None                              # an invalid range is ignored
    if start >= size:
        raise _unsatisfiable(header, size)
    return start, min(end, size)


def _unsatisfiable(header: str, size: int) -> X.InvalidRange:
    return X.InvalidRange(X.InvalidRange.MESSAGE, extra={"RangeRequested": header.strip(),
                                                        "ActualObjectSize": str(size)},
                          headers={"Content-Range": f"bytes */{size}"})


def content_range(start: int, end: int, size: int) -> str:
    return f"bytes {start}-{end - 1}/{size}"


# --- conditional requests -------------------------------------------------------------------------


def _etag_matches(header: str, current: str) -> bool:
    """An If-Match / If-None-Match list ("*", or ETags with or without quotes, W/ ignored)."""
    bare = current.strip('"')
    for item in header.split(","):
        item = item.strip()
        if item == "*":
            return True
        if item.startswith("W/"):
            item = item[2:]
        if item.strip('"') == bare:
            return True
    return False


def _seconds(moment: _dt.datetime) -> _dt.datetime:
    return moment.replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class Conditions:
    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: _dt.datetime | None = None
    if_unmodified_since: _dt.datetime | None = None

    @classmethod
    def of(cls, params: Mapping[str, Any], prefix: str = "") -> "Conditions":
        return cls(params.get(f"{prefix}IfMatch"), params.get(f"{prefix}IfNoneMatch"),
                   params.get(f"{prefix}IfModifiedSince"), params.get(f"{prefix}IfUnmodifiedSince"))


def check_read_conditions(cond: Conditions, current_etag: str, last_modified: _dt.datetime) -> None:
    """GET/HEAD: If-Match (412), else If-Unmodified-Since (412); then If-None-Match (304), else
    If-Modified-Since (304) — If-Match true overrides a false If-Unmodified-Since, and a false
    If-None-Match (no match) overrides a true If-Modified-Since, as S3 documents.
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_RequestSyntax"""
    modified = _seconds(last_modified)
    if cond.if_match is not None:
        if not _etag_matches(cond.if_match, current_etag):
            raise X.precondition_failed("If-Match")
    elif cond.if_unmodified_since is not None and modified > cond.if_unmodified_since:
        raise X.precondition_failed("If-Unmodified-Since")
    if cond.if_none_match is not None:
        if _etag_matches(cond.if_none_match, current_etag):
            raise X.NotModified(X.NotModified.MESSAGE, headers={"ETag": current_etag})
    elif cond.if_modified_since is not None and modified <= cond.if_modified_since:
        raise X.NotModified(X.NotModified.MESSAGE, headers={"ETag": current_etag})


def check_copy_conditions(cond: Conditions, current_etag: str, last_modified: _dt.datetime) -> None:
    """x-amz-copy-source-if-*: the same pairs, every failure 412 PreconditionFailed.
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html"""
    modified = _seconds(last_modified)
    if cond.if_match is not None:
        if not _etag_matches(cond.if_match, current_etag):
            raise X.precondition_failed("x-amz-copy-source-If-Match")
    elif cond.if_unmodified_since is not None and modified > cond.if_unmodified_since:
        raise X.precondition_failed("x-amz-copy-source-If-Unmodified-Since")
    if cond.if_none_match is not None:
        if _etag_matches(cond.if_none_match, current_etag):
            raise X.precondition_failed("x-amz-copy-source-If-None-Match")
    elif cond.if_modified_since is not None and modified <= cond.if_modified_since:
        raise X.precondition_failed("x-amz-copy-source-If-Modified-Since")


def check_write_conditions(if_match: str | None, if_none_match: str | None, current_etag: str | None,
                           key: str) -> None:
    """Conditional writes (PutObject, CompleteMultipartUpload, CopyObject): If-None-Match "*"
    fails with 412 when the key exists; If-Match fails with 412 on another ETag and 404
    NoSuchKey when there is no object.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html"""
    if if_none_match is not None:
        if if_none_match.strip() != "*":
            raise X.NotImplementedS3(X.NotImplementedS3.MESSAGE,
                                     extra={"Header": "If-None-Match", "additionalMessage":
                                            "We don't accept the provided value of If-None-Match header "
                                            "for this API"})
        if current_etag is not None:
            raise X.precondition_failed("If-None-Match")
    if if_match is not None:
        if current_etag is None:
            raise X.no_such_key(key)
        if not _etag_matches(if_match, current_etag):
            raise X.precondition_failed("If-Match")
