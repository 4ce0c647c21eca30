"""Policy variables and glob text (spec §6): ``${key}``, ``${key, 'default'}``, ``${*}``, ``${?}``,
``${$}``, and the translation of resolved text into glob regular expressions.

A policy string is parsed once (cached) into a *template*: a tuple of parts, each

* ``("t", text)``   — policy text as written; in a glob context ``*`` and ``?`` are wildcards;
* ``("l", text)``   — literal text (``${*}`` → ``*``): never a wildcard;
* ``("v", key_lower, default, key_as_written)`` — a variable; ``default`` is ``None`` when absent.

Resolving a template against a request gives ``(is_literal, text)`` pieces, or ``None`` when a
variable has no value and no default. Substituted values are always literal text.

Rules [doc, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html]:
key names are case-insensitive (request contexts hold lower-cased names); a multivalued key cannot
be a variable (it resolves like an absent key: the default, else unresolvable); a default is
single-quoted (``''`` inside it is one quote); whitespace around the key and the default is
ignored; a malformed ``${…`` is kept as ordinary text. Substitution is done once (no recursion).

Whether variables apply at all (Version 2012-10-17) and where (Resource after the fifth colon,
String and ARN condition values) is the caller's business.

Must not: import anything outside the standard library; do I/O; compile a regex per request for
a pattern without variables (``glob_regex`` is cached by its source).
"""

from __future__ import annotations

import functools
import re
from typing import Iterable, Union

from cloudkeep.policy.model import AuthzRequest

Part = Union[tuple[str, str], tuple[str, str, Union[str, None], str]]
Template = tuple[Part, ...]
Piece = tuple[bool, str]            # (is_literal, text)

_SPECIAL = {"*": "*", "?": "?", "$": "$"}
_KEY_RE = re.compile(r"[^\s,'{}$]+")


def has_variable(text: str) -> bool:
    """Cheap test: could ``text`` hold a variable? (``parse_template`` decides.)"""
    return "${" in text


@functools.lru_cache(maxsize=8192)
def parse_template(text: str) -> Template:
    """Split ``text`` into raw text, literals and variables (see module docstring)."""
    parts: list[Part] = []
    raw: list[str] = []
    i, n = 0, len(text)
    while i < n:
        start = text.find("${", i)
        if start < 0:
            raw.append(text[i:])
            break
        raw.append(text[i:start])
        parsed = _parse_variable(text, start)
        if parsed is None:
            raw.append("${")
            i = start + 2
            continue
        part, i = parsed
        if raw and "".join(raw):
            parts.append(("t", "".join(raw)))
        raw = []
        parts.append(part)
    if "".join(raw):
        parts.append(("t", "".join(raw)))
    return tuple(parts)


def _parse_variable(text: str, start: int) -> tuple[Part, int] | None:
    """Parse the variable starting at ``text[start] == '$'``; ``(part, end)`` or ``None``."""
    i = start + 2
    n = len(text)
    while i < n and text[i].isspace():
        i += 1
    if i < n and text[i] in _SPECIAL:
        j = i + 1
        while j < n and text[j].isspace():
            j += 1
        if j < n and text[j] == "}":
            return ("l", _SPECIAL[text[i]]), j + 1
        return None
    m = _KEY_RE.match(text, i)
    if m is None:
        return None
    key = m.group(0)
    i = m.end()
    while i < n and text[i].isspace():
        i += 1
    if i < n and text[i] == "}":
        return ("v", key.lower(), None, key), i + 1
    if i >= n or text[i] != ",":
        return None
    i += 1
    while i < n and text[i].isspace():
        i += 1
    if i >= n or text[i] != "'":
        return None
    i += 1
    default: list[str] = []
    while True:
        if i >= n:
            return None
        ch = text[i]
        if ch == "'":
            if i + 1 < n and text[i + 1] == "'":
                default.append("'")
                i += 2
                continue
            i += 1
            break
        default.append(ch)
        i += 1
    while i < n and text[i].isspace():
        i += 1
    if i < n and text[i] == "}":
        return ("v", key.lower(), "".join(default), key), i + 1
    return None


def lookup(key_lower: str, request: AuthzRequest) -> str | None:
    """The value of a single-valued context key, or ``None`` (absent, empty or multivalued)."""
    if key_lower in request.multivalued:
        return None
    values = request.context.get(key_lower)
    if not values or len(values) != 1:
        return None
    return values[0]


def resolve(template: Template, request: AuthzRequest) -> tuple[Piece, ...] | None:
    """Substitute every variable; ``None`` when one has neither a value nor a default."""
    pieces: list[Piece] = []
    for part in template:
        tag = part[0]
        if tag == "t":
            pieces.append((False, part[1]))
        elif tag == "l":
            pieces.append((True, part[1]))
        else:
            value = lookup(part[1], request)  # type: ignore[misc]
            if value is None:
                value = part[2]  # type: ignore[misc]
                if value is None:
                    return None
            pieces.append((True, value))
    return tuple(pieces)


def variable_keys(text: str) -> tuple[str, ...]:
    """The keys (as written) of the variables in ``text`` that have no default."""
    return tuple(p[3] for p in parse_template(text) if p[0] == "v" and p[2] is None)  # type: ignore[misc]


def substitute(text: str, request: AuthzRequest) -> str | None:
    """``text`` with its variables replaced by their values (literal text); ``None`` when a
    variable is unresolvable. ``${*}``, ``${?}``, ``${$}`` become ``*``, ``?``, ``$``."""
    if not has_variable(text):
        return text
    pieces = resolve(parse_template(text), request)
    if pieces is None:
        return None
    return "".join(text for _, text in pieces)


def glob_source(pieces: Iterable[Piece]) -> str:
    """Regex source for a glob: in raw pieces ``*`` is any run and ``?`` one character; literal
    pieces match themselves. Use with ``glob_regex`` (``fullmatch``)."""
    out: list[str] = []
    for literal, text in pieces:
        if literal:
            out.append(re.escape(text))
            continue
        for ch in text:
            if ch == "*":
                out.append(".*")
            elif ch == "?":
                out.append(".")
            else:
                out.append(re.escape(ch))
    return "".join(out)


@functools.lru_cache(maxsize=8192)
def resolved_glob(prefix: str, pieces: tuple[Piece, ...]) -> re.Pattern[str]:
    """``prefix`` (regex source) followed by the glob of resolved ``pieces``, compiled once per
    distinct input: the per-request path of a pattern with variables."""
    return glob_regex(prefix + glob_source(pieces))


@functools.lru_cache(maxsize=8192)
def glob_regex(source: str) -> re.Pattern[str]:
    """Compile (once per source) a glob source built by ``glob_source``; use ``fullmatch``."""
    return re.compile(source, re.DOTALL)
