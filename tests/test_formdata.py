"""wire/formdata.py: multipart/form-data read as browsers write it, whatever the pieces the body
arrives in (a delimiter split across reads, CRLFs and dashes inside the file)."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudkeep.wire import formdata

BOUNDARY = "----WebKitFormBoundaryAbC123"


def _body(fields, data: bytes, filename: str = "f.bin", after=()) -> bytes:
    out = bytearray(b"preamble\r\n")
    for name, value in fields:
        out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    out += (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: image/png\r\n\r\n").encode() + data + b"\r\n"
    for name, value in after:
        out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    return bytes(out + f"--{BOUNDARY}--\r\n".encode())


class Trickle(io.RawIOBase):
    """A reader that hands out at most ``step`` bytes per read."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._pos, self._step = data, 0, step

    def read(self, n: int = -1) -> bytes:
        take = self._step if n is None or n < 0 else min(n, self._step)
        out = self._data[self._pos:self._pos + take]
        self._pos += len(out)
        return out


def _read_all(part: formdata.FilePart, size: int) -> bytes:
    out = bytearray()
    while chunk := part.read(size):
        out += chunk
    return bytes(out)


def test_boundary_of_reads_the_content_type_parameter() -> None:
    assert formdata.boundary_of(f"multipart/form-data; boundary={BOUNDARY}") == BOUNDARY.encode()
    assert formdata.boundary_of('Multipart/Form-Data; charset=utf-8; boundary="a b"') == b"a b"
    assert formdata.boundary_of("application/x-www-form-urlencoded") is None
    assert formdata.boundary_of("multipart/form-data") is None


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=3000) | st.sampled_from([b"", b"\r\n--", f"\r\n--{BOUNDARY[:-1]}".encode()]),
       step=st.integers(min_value=1, max_value=97), size=st.integers(min_value=1, max_value=4096))
def test_the_file_is_read_back_exactly_whatever_the_read_sizes(data: bytes, step: int, size: int) -> None:
    body = _body([("key", "a/${filename}"), ("Content-Type", "text/plain")], data, after=[("late", "x")])
    head, part = formdata.read_head(Trickle(body, step), BOUNDARY.encode(), limit=20480)
    assert head.fields == (("key", "a/${filename}"), ("Content-Type", "text/plain"))
    assert (head.has_file, head.filename, head.file_content_type) == (True, "f.bin", "image/png")
    assert part is not None and _read_all(part, size) == data and part.size == len(data)


def test_a_form_without_a_file_part_has_only_fields() -> None:
    body = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n--{BOUNDARY}--\r\n').encode()
    head, part = formdata.read_head(io.BytesIO(body), BOUNDARY.encode(), limit=1000)
    assert (head.fields, head.has_file, part) == ((("key", "k"),), False, None)


def test_fields_beyond_the_limit_and_a_file_without_its_closing_delimiter_are_errors() -> None:
    body = _body([("x-ignore-pad", "p" * 5000)], b"data")
    with pytest.raises(formdata.FormTooLarge):
        formdata.read_head(io.BytesIO(body), BOUNDARY.encode(), limit=1000)
    head, part = formdata.read_head(io.BytesIO(_body([], b"data" * 10)[:-30]), BOUNDARY.encode(), limit=1000)
    with pytest.raises(formdata.FormError):
        _read_all(part, 7)
    with pytest.raises(formdata.FormError):
        formdata.read_head(io.BytesIO(b"no boundary here"), BOUNDARY.encode(), limit=1000)


def test_file_names_keep_backslashes_and_unescape_quotes() -> None:
    body = _body([], b"x", filename='C:\\Users\\me\\a \\"b\\".txt')
    head, _ = formdata.read_head(io.BytesIO(body), BOUNDARY.encode(), limit=1000)
    assert head.filename == 'C:\\Users\\me\\a "b".txt'
