"""multipart/form-data bodies as browsers send them (RFC 7578), read as a stream: the fields
before the file part are read into memory (up to a limit), the file part's content is read
piece by piece until its closing delimiter, so a large upload never sits in memory.

S3's POST Object (browser-based uploads) is the one user: "the file or content must be the last
field in the form", fields after it are ignored
(https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html).

Must not: know S3 (its field names and rules are ``services/s3/post_form.py``'s); raise AWS
errors (``FormError`` says what is wrong; the caller answers with its service's error).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, BinaryIO

from .http import HttpRequest

#: read size when scanning the body
PIECE = 1 << 20
#: longest part header block accepted
_MAX_PART_HEADERS = 16 * 1024


class FormError(ValueError):
    """The body is not well-formed multipart/form-data."""


class FormTooLarge(FormError):
    """The fields before the file part are larger than the limit."""


@dataclass(frozen=True, slots=True)
class FormHead:
    """What precedes the file part: the fields (name as sent, value) in order, and the file
    part's file name and Content-Type (None when the form has no file part)."""

    fields: tuple[tuple[str, str], ...]
    has_file: bool
    filename: str | None = None
    file_content_type: str | None = None


def boundary_of(content_type: str | None) -> bytes | None:
    """The boundary parameter of a multipart/form-data Content-Type, or None for any other type."""
    if not content_type:
        return None
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        return None
    for param in params.split(";"):
        name, eq, value = param.strip().partition("=")
        if eq and name.strip().lower() == "boundary":
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if value and len(value) <= 200:
                return value.encode("latin-1", "replace")
    return None


def is_form(request: HttpRequest) -> bool:
    return boundary_of(request.header("content-type")) is not None


def body_reader(request: HttpRequest) -> BinaryIO:
    """A reader over the request's raw body from its start (the spooled file is rewound)."""
    if request.body_file is not None:
        request.body_file.seek(0)
        return request.body_file
    return io.BytesIO(request.body)


class _Scanner:
    """Buffered reads over a raw body, with delimiter search across read boundaries."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.buf = bytearray()
        self.eof = False
        self.consumed = 0                   # bytes taken out of the buffer so far

    def fill(self, want: int) -> bool:
        while len(self.buf) < want and not self.eof:
            piece = self.raw.read(max(PIECE, want - len(self.buf)))
            if not piece:
                self.eof = True
            else:
                self.buf += piece
        return len(self.buf) >= want

    def take(self, count: int) -> bytes:
        out = bytes(self.buf[:count])
        del self.buf[:count]
        self.consumed += count
        return out

    def until(self, token: bytes, limit: int) -> bytes:
        """The bytes before ``token`` (the token is consumed too); FormTooLarge past ``limit``."""
        start = 0
        while True:
            found = self.buf.find(token, start)
            if found >= 0:
                if found > limit:
                    raise FormTooLarge("form fields too large")
                data = self.take(found)
                self.take(len(token))
                return data
            if len(self.buf) > limit + len(token):
                raise FormTooLarge("form fields too large")
            start = max(0, len(self.buf) - len(token) + 1)
            if self.eof or not self.fill(len(self.buf) + 1):
                raise FormError("unexpected end of the form")


def _disposition(value: str) -> tuple[str | None, str | None]:
    """(name, filename) of a Content-Disposition: form-data header."""
    kind, _, rest = value.partition(";")
    if kind.strip().lower() != "form-data":
        return None, None
    found: dict[str, str] = {}
    text = rest
    while text:
        text = text.lstrip(" ;\t")
        if not text:
            break
        key, eq, text = text.partition("=")
        if not eq:
            break
        text = text.lstrip()
        if text.startswith('"'):
            # browsers send a backslash as is (a Windows path) and escape only the quote
            end, chars = 1, []
            while end < len(text):
                ch = text[end]
                if ch == "\\" and text[end + 1:end + 2] == '"':
                    chars.append('"')
                    end += 2
                    continue
                if ch == '"':
                    break
                chars.append(ch)
                end += 1
            found[key.strip().lower()] = "".join(chars)
            text = text[end + 1:]
        else:
            val, _, text = text.partition(";")
            found[key.strip().lower()] = val.strip()
    return found.get("name"), found.get("filename")


def _part_headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.decode("utf-8", "replace").split("\r\n"):
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise FormError("malformed part header")
        headers[name.strip().lower()] = value.strip()
    return headers


def read_head(raw: Any, boundary: bytes, *, limit: int, file_field: str = "file") -> tuple[FormHead, "FilePart | None"]:
    """The fields up to the part named ``file_field`` (case-insensitive) and a reader of that
    part's content, positioned at its first byte. FormTooLarge when what precedes the file's
    content exceeds ``limit`` bytes; FormError when the body is not a well-formed form."""
    scan = _Scanner(raw)
    dash = b"--" + boundary
    scan.until(dash, limit)                  # the preamble, normally empty
    fields: list[tuple[str, str]] = []
    while True:
        if not scan.fill(2):
            raise FormError("unexpected end of the form")
        if scan.buf[:2] == b"--":
            return FormHead(tuple(fields), False), None      # the close delimiter: no file part
        scan.until(b"\r\n", 64)              # transport padding after the delimiter
        room = min(_MAX_PART_HEADERS, max(limit - scan.consumed, 0))
        if not scan.fill(2):
            raise FormError("unexpected end of the form")
        if scan.buf[:2] == b"\r\n":             # a part without headers
            scan.take(2)
            block = b""
        else:
            block = scan.until(b"\r\n\r\n", room)
        headers = _part_headers(block)
        name, filename = _disposition(headers.get("content-disposition", ""))
        if name is None:
            raise FormError("a part without a form-data name")
        if name.lower() == file_field:
            reader = FilePart(scan, b"\r\n" + dash)
            head = FormHead(tuple(fields), True, filename, headers.get("content-type"))
            return head, reader
        value = scan.until(b"\r\n" + dash, max(limit - scan.consumed, 0))
        fields.append((name, value.decode("utf-8", "replace")))


class FilePart:
    """The file part's content as a reader: ``read(n)`` gives bytes until the delimiter that
    closes the part; a body that ends before it is a FormError. ``size`` counts what was read."""

    def __init__(self, scan: _Scanner, delimiter: bytes) -> None:
        self._scan = scan
        self._delimiter = delimiter
        self._done = False
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        if self._done:
            return b""
        want = PIECE if n is None or n < 0 else max(n, 1)
        scan, delim = self._scan, self._delimiter
        scan.fill(want + len(delim))
        found = scan.buf.find(delim)
        if found >= 0:
            if found <= want:
                data = scan.take(found)
                self._done = True
                self.size += len(data)
                return data
            data = scan.take(want)
            self.size += len(data)
            return data
        if scan.eof:
            raise FormError("the file part is not closed by the form's boundary")
        safe = min(want, len(scan.buf) - len(delim) + 1)
        data = scan.take(safe)
        self.size += len(data)
        return data
