"""Plain HTTP request and response values that the wire layer and the pipeline pass around.

The ASGI adapter builds an ``HttpRequest`` from what it received and writes an ``HttpResponse``
back; nothing else touches the HTTP framework.

Must not: decode or interpret any AWS protocol (that is the parsers' job).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO, Iterable, Iterator
from urllib.parse import parse_qsl


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str                                  # upper-case, e.g. "POST"
    path: str                                    # raw path as sent, still percent-encoded, e.g. "/"
    query: str                                   # raw query string without "?", still encoded
    headers: tuple[tuple[str, str], ...]         # (lower-case name, value) in the order received
    body: bytes = b""                            # the whole body, when it is small (see body_file)
    client_ip: str = "127.0.0.1"
    secure: bool = False                         # True when received over TLS
    #: a large body (S3 uploads) is not held in memory: the adapter spools it to a temporary
    #: file (seekable, positioned at 0) and ``body`` stays b"". ``body_size`` is its length.
    body_file: BinaryIO | None = field(default=None, compare=False)
    body_size: int = 0
    #: TLS details for CloudTrail's tlsDetails (tlsVersion, cipherSuite, clientProvidedHostHeader)
    tls: tuple[tuple[str, str], ...] = ()
    _index: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[str, str] = {}
        for name, value in self.headers:
            # repeated headers are joined with "," as HTTP allows
            index[name] = f"{index[name]},{value}" if name in index else value
        object.__setattr__(self, "_index", index)

    def header(self, name: str, default: str | None = None) -> str | None:
        """The value of a header by case-insensitive name (repeats joined with ',')."""
        return self._index.get(name.lower(), default)

    def header_items(self) -> Iterable[tuple[str, str]]:
        """Each header once, (lower-case name, value), repeats joined with ','."""
        return self._index.items()

    @property
    def host(self) -> str:
        return self._index.get("host", "")

    def iter_body(self, chunk_size: int = 1 << 16):
        """The raw body, in memory or spooled, as chunks (the file is rewound first)."""
        if self.body_file is None:
            if self.body:
                yield self.body
            return
        self.body_file.seek(0)
        while chunk := self.body_file.read(chunk_size):
            yield chunk

    def query_params(self) -> list[tuple[str, str]]:
        """The query string decoded into (name, value) pairs, blank values kept."""
        return parse_qsl(self.query, keep_blank_values=True)


#: the key of a result under which a handler gives the HTTP status of a success the model has no
#: member for (S3's 206 Partial Content for a ranged GET or HEAD); serializers pop it
STATUS_KEY = "$status"


@dataclass(frozen=True, slots=True)
class BodyStream:
    """A response body produced piece by piece (an S3 object's bytes): ``chunks`` yields bytes,
    ``length`` is their total (the Content-Length), or None when not known up front. Whoever
    ends the response calls ``close`` (a generator is closed, releasing its files), also when
    the body is never sent (HEAD, an error)."""

    chunks: Iterable[bytes]
    length: int | None = None

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.chunks)

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    #: a streamed body in place of ``body`` (which is then b""): written as it is produced,
    #: so memory stays bounded whatever its size
    stream: BodyStream | None = field(default=None, compare=False)
