"""Findings as data: what ``breaking`` and ``lint`` report, and the rules that produce them."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

__all__ = ["Finding", "Level", "Rule", "RuleSet", "failing", "sort_key"]


class Level(enum.StrEnum):
    """How much a finding matters: ``error`` fails the run, the others never do."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


_RANK = {Level.ERROR: 0, Level.WARNING: 1, Level.INFO: 2}


@dataclass(frozen=True, slots=True)
class Rule:
    """A stable rule: users match on ``id`` (in ignores, in CI), so it never changes meaning."""

    id: str
    category: str
    severity: Level
    summary: str

    def at(self, file: str, position: tuple[int, int], message: str) -> Finding:
        """A finding of this rule about ``file`` at ``(line, col)``."""
        line, col = position
        return Finding(self.id, self.category, self.severity, message, file, line, col)


class RuleSet:
    """The rules of one command, by ID, in table order."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: dict[str, Rule] = {}
        for rule in rules:
            assert rule.id not in self.rules, rule.id
            self.rules[rule.id] = rule

    def __getitem__(self, rule_id: str) -> Rule:
        return self.rules[rule_id]

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self.rules

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules.values())

    def table(self) -> str:
        """The rules as aligned text: ID, category, severity, summary (``--list-rules``)."""
        rules = list(self.rules.values())
        width = max(len(r.id) for r in rules)
        cat = max(len(r.category) for r in rules)
        return "".join(
            f"{r.id:<{width}}  {r.category:<{cat}}  {r.severity.value:<7}  {r.summary}\n"
            for r in rules
        )


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """One finding at ``file:line:col`` (1-based; 0 when unknown).

    ``file`` is the new definition (for something removed: where its parent still is, or the old
    file). An ignored finding keeps its severity but carries the reason and never fails the run.
    """

    rule: str
    category: str
    severity: Level
    message: str
    file: str
    line: int
    col: int
    ignored: bool = False
    reason: str = ""

    @property
    def breaking(self) -> bool:
        """Whether the finding is an error (a breaking change, or a lint error), ignored or not."""
        return self.severity is Level.ERROR

    def ignore(self, reason: str) -> Finding:
        return replace(self, ignored=True, reason=reason)


def sort_key(finding: Finding) -> tuple[int, str, int, int, str, str]:
    """The order of every report: errors, warnings, info, then the ignored; by place within."""
    rank = 3 if finding.ignored else _RANK[finding.severity]
    return (rank, finding.file, finding.line, finding.col, finding.rule, finding.message)


def failing(findings: Iterable[Finding], fail_on: Level = Level.ERROR) -> list[Finding]:
    """The findings that fail the run: not ignored, at ``fail_on`` or worse."""
    return [f for f in findings if not f.ignored and _RANK[f.severity] <= _RANK[fail_on]]
