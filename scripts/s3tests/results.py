"""The s3-tests runner's results: each test's outcome from pytest's JUnit file (or, when pytest was
stopped before writing it, from its verbose log), sorted into areas, failures grouped by reason,
and the table the runner prints.

Must not: run anything; it reads files and formats what they say.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: (area, -k words selecting it, how a test name is classified into it); first match wins
AREAS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("POST object", ("post_object",), ("post_object",)),
    ("public access block", ("public",), ("public_block", "block_public", "ignore_public")),
    ("bucket policy", ("policy",), ("policy",)),
    ("presigned URL", ("presigned",), ("presigned",)),
    ("SSE", ("sse", "encrypt", "copy_enc", "copy_part_enc"), ("sse", "encrypt", "_enc[", "_enc_")),
    ("ACL", ("acl",), ("acl", "test_access_bucket_")),
    ("multipart", ("multipart",), ("multipart",)),
    ("listing", ("list",), ("list",)),
)


def area_of(test: str, markers: str = "") -> str:
    """The first area whose needles are in the test's name or its markers' names."""
    name = f"{test} {markers}".lower()
    for area, _, needles in AREAS:
        if any(n in name for n in needles):
            return area
    return "other"


#: a verbose pytest line: "<file>::<test> PASSED  [ 42%]"
TEST_LINE = re.compile(r"^(?P<id>\S+::\S+) (?P<outcome>PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b")
_CLIENT_ERROR = re.compile(r"An error occurred \((?P<code>[^)]*)\) when calling the (?P<op>\w+) operation")
_STATUS = ("passed", "failed", "error", "skipped")


@dataclass
class Outcome:
    test: str
    area: str
    status: str
    message: str = ""
    phase: str = ""        # setup | call | teardown, for failures and errors


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)

    def counts(self, area: str | None = None) -> dict[str, int]:
        c = Counter(o.status for o in self.outcomes if area is None or o.area == area)
        return {s: c.get(s, 0) for s in _STATUS} | {"total": sum(c.values())}

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status in ("failed", "error")]

    def reasons(self) -> list[tuple[str, int, str]]:
        """(reason, how many, one test it failed) by decreasing count."""
        example: dict[str, str] = {}
        for o in self.failures():
            example.setdefault(reason(o), o.test)
        return [(r, n, example[r]) for r, n in Counter(reason(o) for o in self.failures()).most_common()]


def reason(o: Outcome) -> str:
    """A failure's message reduced to what groups alike failures: the S3 error code and operation
    when there is one, else its first line with bucket names blurred."""
    m = _CLIENT_ERROR.search(o.message)
    if m:
        return f"{o.phase}: {m.group('code')} from {m.group('op')}"
    first = o.message.strip().splitlines()[0] if o.message.strip() else "(no message)"
    first = re.sub(r"s3tests-[a-z0-9]+-\d+", "<bucket>", first)
    return f"{o.phase}: {first[:140]}"


def parse_junit(path: Path) -> Summary:
    order = {"failed": 3, "error": 2, "skipped": 1, "passed": 0}
    by_test: dict[str, Outcome] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        test = case.get("name", "?")
        markers = " ".join(p.get("value", "") for p in case.iter("property") if p.get("name") == "markers")
        status, message, phase = "passed", "", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                kind = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                if order[kind] > order[status]:
                    status, message = kind, child.get("message") or (child.text or "")
                    phase = "call" if kind == "failed" else ""
                    if kind == "error":
                        phase = "teardown" if "teardown" in message[:40] else "setup"
                        message = re.sub(r'^failed on (setup|teardown) with "?', "", message)
        prev = by_test.get(test)
        if prev is None or order[status] > order[prev.status]:
            by_test[test] = Outcome(test, area_of(test, markers), status, message, phase)
    return Summary(list(by_test.values()))


def parse_log(path: Path) -> Summary:
    """The outcomes from pytest's verbose lines, when it was stopped before writing its JUnit file
    (the suite's teardown swallows KeyboardInterrupt in a bare ``except``, so a stopped run may be
    killed). No messages: those are in the log."""
    order = {"failed": 3, "error": 2, "skipped": 1, "passed": 0}
    status_of = {"PASSED": "passed", "XPASS": "passed", "FAILED": "failed", "ERROR": "error",
                 "SKIPPED": "skipped", "XFAIL": "skipped"}
    by_test: dict[str, Outcome] = {}
    for line in path.read_text(errors="replace").splitlines():
        if m := TEST_LINE.match(line):
            test = m.group("id").split("::", 1)[1]
            status = status_of[m.group("outcome")]
            prev = by_test.get(test)
            if prev is None or order[status] > order[prev.status]:
                by_test[test] = Outcome(test, area_of(test), status, "(no JUnit file: see pytest.log)",
                                        "call" if status == "failed" else "")
    return Summary(list(by_test.values()))


def report(summary: Summary, title: str, console: Any, top: int, list_failures: bool) -> None:
    from rich.table import Table

    table = Table(title=title)
    for col in ("area", "tests", "passed", "failed", "error", "skipped", "pass rate"):
        table.add_column(col, justify="left" if col == "area" else "right")
    areas = [a for a, _, _ in AREAS] + ["other"]
    for area in areas:
        c = summary.counts(area)
        if c["total"]:
            table.add_row(area, *_row(c))
    table.add_row("[bold]all[/bold]", *_row(summary.counts()), end_section=True)
    console.print(table)
    reasons = summary.reasons()
    if reasons:
        console.print(f"[bold]Failures and errors by reason[/bold] ({len(reasons)} distinct):")
        for text, n, test in reasons[:top]:
            console.print(f"  {n:5d}  {text}  (e.g. {test})", markup=False, highlight=False)
        if len(reasons) > top:
            console.print(f"  … {len(reasons) - top} more reasons in summary.json")
    if list_failures:
        for o in summary.failures():
            console.print(f"  {o.status:6} {o.test}: {reason(o)}", markup=False, highlight=False)


def _row(c: dict[str, int]) -> list[str]:
    rate = f"{100 * c['passed'] / c['total']:.0f} %" if c["total"] else "—"
    return [str(c["total"]), str(c["passed"]), str(c["failed"]), str(c["error"]), str(c["skipped"]), rate]
