"""The output formats shared by ``breaking`` and ``lint``: text, json, github and markdown.

Every format lists findings in the same order (errors, warnings, info, then the ignored, each by
file and position) and ends with, or starts with, the same counts. Formatters return text; only
the CLI writes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from leveret_codegen._diagnostics import printable
from leveret_codegen._review.findings import Finding, Level, sort_key

__all__ = ["FORMATS", "Report", "render"]


@dataclass(frozen=True, slots=True)
class Report:
    """What a formatter needs: the command, its findings, whether the run fails."""

    tool: str  # "breaking" or "lint"
    findings: Sequence[Finding]
    failed: bool

    @property
    def ordered(self) -> list[Finding]:
        return sorted(self.findings, key=sort_key)

    def count(self, severity: Level) -> int:
        return sum(f.severity is severity and not f.ignored for f in self.findings)

    @property
    def ignored(self) -> int:
        return sum(f.ignored for f in self.findings)

    def noun(self, severity: Level) -> tuple[str, str]:
        """(singular, plural) of a finding of ``severity`` for this command."""
        if self.tool == "breaking":
            return {
                Level.ERROR: ("breaking change", "breaking changes"),
                Level.WARNING: ("warning", "warnings"),
                Level.INFO: ("non-breaking change", "non-breaking changes"),
            }[severity]
        return {
            Level.ERROR: ("error", "errors"),
            Level.WARNING: ("warning", "warnings"),
            Level.INFO: ("note", "notes"),
        }[severity]

    def summary(self) -> str:
        if not self.findings:
            return f"leveret {self.tool}: " + ("no changes" if self.tool == "breaking" else "clean")
        parts = []
        for severity in Level:
            count = self.count(severity)
            singular, plural = self.noun(severity)
            parts.append(f"{count} {singular if count == 1 else plural}")
        parts.append(f"{self.ignored} ignored")
        return f"leveret {self.tool}: " + ", ".join(parts)


_COLOURS: Final = {
    Level.ERROR: "\033[1;31m",
    Level.WARNING: "\033[1;33m",
    Level.INFO: "\033[36m",
}
_IGNORED_COLOUR: Final = "\033[2m"
_RESET: Final = "\033[0m"


def _where(finding: Finding) -> str:
    return f"{printable(finding.file)}:{finding.line}:{finding.col}"


# Messages name keys and values of the definitions, which may come from someone else (a service
# described by reflection, a pull request): every format shows their control characters escaped.


def render_text(report: Report, *, colour: bool = False) -> str:
    """``file:line:col: severity[RULE] CATEGORY: message``, one a line, then the counts."""
    lines = []
    for finding in report.ordered:
        label = f"{finding.severity.value}[{finding.rule}]"
        if finding.ignored:
            label = f"ignored {label}"
        if colour:
            start = _IGNORED_COLOUR if finding.ignored else _COLOURS[finding.severity]
            label = f"{start}{label}{_RESET}"
        message = printable(finding.message)
        lines.append(f"{_where(finding)}: {label} {finding.category}: {message}")
        if finding.ignored:
            lines.append(f"    reason: {printable(finding.reason)}")
    lines.append(report.summary())
    return "\n".join(lines) + "\n"


def render_json(report: Report) -> str:
    findings = [
        {
            "rule": f.rule,
            "category": f.category,
            "severity": f.severity.value,
            "breaking": f.breaking,
            "ignored": f.ignored,
            "reason": printable(f.reason) if f.ignored else None,
            "message": printable(f.message),
            "file": printable(f.file),
            "line": f.line,
            "col": f.col,
        }
        for f in report.ordered
    ]
    document = {
        "tool": report.tool,
        "failed": report.failed,
        "summary": {
            **{severity.value: report.count(severity) for severity in Level},
            "ignored": report.ignored,
        },
        "findings": findings,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


_GITHUB_COMMANDS: Final = {Level.ERROR: "error", Level.WARNING: "warning", Level.INFO: "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: Report) -> str:
    """GitHub Actions workflow commands: an annotation per finding at the new definition's line.

    Ignored findings become notices that carry their reason; the counts follow as a plain line.
    """
    lines = []
    for finding in report.ordered:
        command = "notice" if finding.ignored else _GITHUB_COMMANDS[finding.severity]
        title = f"{finding.rule} (ignored)" if finding.ignored else finding.rule
        properties = [f"file={_escape_property(printable(finding.file))}"]
        if finding.line:
            properties += [f"line={finding.line}", f"col={finding.col}"]
        properties.append(f"title={_escape_property(title)}")
        message = f"{finding.category}: {printable(finding.message)}"
        if finding.ignored:
            message += f" (ignored: {printable(finding.reason)})"
        lines.append(f"::{command} {','.join(properties)}::{_escape_data(message)}")
    lines.append(report.summary())
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return " ".join(printable(text).split()).replace("|", "\\|")


def _table(findings: Sequence[Finding], *, reasons: bool = False) -> list[str]:
    head = "| Rule | Category | Where | Finding |" + (" Reason |" if reasons else "")
    rule = "| --- | --- | --- | --- |" + (" --- |" if reasons else "")
    rows = [head, rule]
    for f in findings:
        row = f"| `{f.rule}` | {f.category} | `{_where(f)}` | {_cell(f.message)} |"
        rows.append(row + (f" {_cell(f.reason)} |" if reasons else ""))
    return rows


def render_markdown(report: Report) -> str:
    """A pull-request comment: the counts, the failing findings first, the rest folded away."""
    lines = [f"### {report.summary()}"]
    ordered = report.ordered
    sections: list[tuple[str, list[Finding], bool]] = []
    for severity in Level:
        found = [f for f in ordered if f.severity is severity and not f.ignored]
        title = report.noun(severity)[1]
        sections.append((title[:1].upper() + title[1:], found, severity is Level.INFO))
    sections.append(("Ignored", [f for f in ordered if f.ignored], True))
    for title, found, folded in sections:
        if not found:
            continue
        lines.append("")
        if folded:
            lines += [f"<details><summary>{title} ({len(found)})</summary>", ""]
        else:
            lines += [f"#### {title} ({len(found)})", ""]
        lines += _table(found, reasons=title == "Ignored")
        if folded:
            lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


#: Format name -> formatter (``text`` without colour here; the CLI asks for colour itself).
FORMATS: Final[dict[str, Callable[[Report], str]]] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
    "markdown": render_markdown,
}


def render(report: Report, format_name: str, *, colour: bool = False) -> str:
    if format_name == "text":
        return render_text(report, colour=colour)
    return FORMATS[format_name](report)
