"""axe-core (the npm package, installed by `make axe` under build/) run inside a Playwright page.

The file is injected into the page as it stands, and `axe.run` checks it with axe's default rules. Only
serious and critical violations fail a test; each is summarised so that a failure says what to fix and where.
"""

from dataclasses import dataclass
from typing import Any

from tests.support import BUILD, ROOT

AXE_JS = BUILD / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


@dataclass(frozen=True)
class Violation:
    """One axe rule broken on a page: which rule, how bad, and the elements that break it."""

    rule: str
    impact: str
    help: str
    help_url: str
    targets: tuple[str, ...]
    failures: tuple[str, ...]

    def __str__(self) -> str:
        where = "\n".join(
            f"    at {target}: {failure}" for target, failure in zip(self.targets, self.failures, strict=True)
        )
        return f"[{self.impact}] {self.rule}: {self.help} ({self.help_url})\n{where}"


def axe_version(page: Any) -> str:
    """The version of axe-core loaded into `page` (loading it first if needed)."""
    _inject(page)
    return str(page.evaluate("() => axe.version"))


def axe_violations(page: Any) -> list[Violation]:
    """Every violation of axe's default rules on `page` as it is now, of any impact."""
    _inject(page)
    result = page.evaluate("async () => (await axe.run(document, { resultTypes: ['violations'] })).violations")
    return [_violation(found) for found in result]


def blocking_violations(page: Any) -> list[Violation]:
    """The serious and critical violations on `page`: the ones a test refuses."""
    return [violation for violation in axe_violations(page) if violation.impact in BLOCKING]


def report(violations: list[Violation]) -> str:
    """A readable list of `violations`, for an assertion message."""
    return "\n".join(str(violation) for violation in violations) or "none"


def _inject(page: Any) -> None:
    if not AXE_JS.exists():
        # A missing checker must fail the test, never pass it: it is installed by the Makefile.
        raise AssertionError(f"{AXE_JS.relative_to(ROOT)} is missing: run `make axe` (npm install of axe-core)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE_JS))


def _violation(found: dict[str, Any]) -> Violation:
    nodes = found["nodes"]
    return Violation(
        rule=found["id"],
        impact=found.get("impact") or "unknown",
        help=found["help"],
        help_url=found["helpUrl"],
        targets=tuple(" ".join(map(str, node["target"])) for node in nodes),
        failures=tuple((node.get("failureSummary") or "").replace("\n", " ") for node in nodes),
    )
