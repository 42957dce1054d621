"""Ignoring a rule for one definition, with a reason: in a config file or in the definition.

Config file (``--config``, else the first ``leveret.yaml`` or ``.leveret.yaml`` found from the
current folder up to the repository root)::

    breaking:
      ignore:
        - rule: METHOD_REMOVED
          file: schemas/billing.yaml     # relative to the config file; globs allowed; optional
          reason: "deprecated in 1.4, nobody calls it since"
    lint:
      ignore:
        - {rule: TYPE_DESCRIPTION, file: "schemas/legacy/*.yaml", reason: "frozen legacy API"}

In a definition, at the top level: ``x-leveret-ignore: [{rule: X, reason: "..."}]`` ignores rule
X for findings in that file. An ignored finding is still reported, with its reason; it never
fails the run.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml

from leveret_codegen._loader import LoadedDocument
from leveret_codegen._review.findings import Finding
from leveret_codegen._suggest import closest

__all__ = [
    "CONFIG_NAMES",
    "ConfigError",
    "Ignore",
    "apply_ignores",
    "definition_ignores",
    "find_config",
    "load_config",
]

CONFIG_NAMES: Final = ("leveret.yaml", ".leveret.yaml")
DEFINITION_KEY: Final = "x-leveret-ignore"
# Their findings are about a file the new side no longer has, so an ignore for them may name one.
_GONE_FILE_RULES: Final = frozenset({"SERVICE_REMOVED", "FILE_REMOVED"})
_GLOB_CHARS: Final = frozenset("*?[")
# Lint passing on a definition `leveret generate` refuses would only hide the failure until
# code generation runs.
_NEVER_IGNORED: Final = {
    "DEFINITION_VALID": "it reports what `leveret generate` refuses; fix the definition",
}


class ConfigError(Exception):
    """A config file or an ``x-leveret-ignore`` entry that cannot be used."""


@dataclass(frozen=True, slots=True)
class Ignore:
    """Ignore ``rule`` in the files ``pattern`` matches (all files when None).

    Config patterns are relative to ``base`` (the config's folder); a definition's own entries
    name its display path exactly (``base`` None).
    """

    rule: str
    reason: str
    pattern: str | None
    base: Path | None

    def matches(self, finding: Finding, cwd: Path) -> bool:
        if finding.rule != self.rule:
            return False
        if self.pattern is None:
            return True
        if self.base is None:
            return finding.file == self.pattern
        try:
            relative = (cwd / finding.file).resolve().relative_to(self.base).as_posix()
        except ValueError:
            return False
        return fnmatch.fnmatchcase(relative, self.pattern)


def find_config(start: Path) -> Path | None:
    """The first config file from ``start`` up to the folder holding ``.git`` (or ``/``)."""
    for folder in (start.resolve(), *start.resolve().parents):
        for name in CONFIG_NAMES:
            if (folder / name).is_file():
                return folder / name
        if (folder / ".git").exists():
            return None
    return None


def load_config(
    path: Path, section: str, known: Iterable[str], *, elsewhere: Mapping[str, str] | None = None
) -> list[Ignore]:
    """The ignores of ``section`` (``breaking`` or ``lint``) in the config file ``path``.

    ``known``: the rules of that section's tool; ``elsewhere``: rules of the other tools, by
    rule, with the section they belong under (an entry for one can never match a finding here).
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the config: {exc}") from exc
    if data is None:
        return []
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config is a mapping with `breaking` and `lint` sections")
    unknown = sorted(set(data) - {"breaking", "lint"})
    if unknown:
        raise ConfigError(f"{path}: unknown section {unknown[0]!r} (use breaking, lint)")
    part = data.get(section) or {}
    if not isinstance(part, dict) or set(part) - {"ignore"}:
        raise ConfigError(f"{path}: {section}: only `ignore: [...]` is allowed")
    base = path.resolve().parent
    where = f"{path}: {section}"
    found = _entries(part.get("ignore"), where, known, elsewhere=elsewhere or {})
    for index, (rule, _, pattern) in enumerate(found):
        if pattern is None:
            continue
        # Findings name files below the config's folder, so a path that leaves it (absolute,
        # or ../) could never match one: the ignore would be off without a word.
        if posixpath.isabs(pattern) or pattern == ".." or pattern.startswith("../"):
            raise ConfigError(
                f"{where}[{index}]: file {pattern!r} is outside the config's folder ({base}), "
                "so it can never match; write it relative to that folder, or put the ignore "
                "in a leveret.yaml above the file"
            )
        if rule in _GONE_FILE_RULES:
            continue
        # A typo in `file` would silently switch the ignore off, or leave it matching nothing
        # until someone adds a file by that name.
        matched = list(_matches(base, pattern))
        if not matched:
            raise ConfigError(
                f"{where}[{index}]: file {pattern!r} matches no file (relative to {base})"
                + _file_hint(base, pattern)
            )
        if not any(_is_definition(file) for file in matched):
            raise ConfigError(
                f"{where}[{index}]: file {pattern!r} is not a service definition (a .yaml, "
                ".yml or .json file with `leveret:` at the top), so it has no findings to ignore"
            )
    return [Ignore(rule, reason, pattern, base) for rule, reason, pattern in found]


def _matches(base: Path, pattern: str) -> Iterator[Path]:
    """The files ``pattern`` (a path or glob relative to ``base``) names, lazily."""
    parts = pattern.split("/")
    fixed = next((i for i, p in enumerate(parts) if _GLOB_CHARS & set(p)), None)
    if fixed is None:
        if (base / pattern).is_file():
            yield base / pattern
        return
    # Walk only below the part without wildcards, and not into hidden folders (.git, .venv).
    root = base.joinpath(*parts[:fixed])
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            relative = (Path(folder) / name).relative_to(base).as_posix()
            if fnmatch.fnmatchcase(relative, pattern):
                yield Path(folder) / name


def _is_definition(file: Path) -> bool:
    if file.suffix.lower() not in (".yaml", ".yml", ".json"):
        return False
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return True  # a broken definition still has findings (DEFINITION_VALID) to ignore
    return isinstance(data, dict) and "leveret" in data


def _file_hint(base: Path, pattern: str) -> str:
    folder = base / posixpath.dirname(pattern)
    if _GLOB_CHARS & set(pattern) or not folder.is_dir():
        return ""
    guess = closest(posixpath.basename(pattern), (p.name for p in folder.iterdir() if p.is_file()))
    return f"; did you mean {posixpath.join(posixpath.dirname(pattern), guess)!r}?" if guess else ""


def definition_ignores(document: LoadedDocument, known: Iterable[str]) -> list[Ignore]:
    """The ``x-leveret-ignore`` entries of a definition, for findings in that file."""
    data = document.data
    entries = data.get(DEFINITION_KEY) if isinstance(data, dict) else None
    if entries is None:
        return []
    line, col = document.key_position((DEFINITION_KEY,))
    where = f"{document.path}:{line}:{col}: {DEFINITION_KEY}"
    found = _entries(entries, where, known, file_allowed=False)
    return [Ignore(rule, reason, document.path, None) for rule, reason, _ in found]


def _entries(
    entries: object,
    where: str,
    known: Iterable[str],
    *,
    file_allowed: bool = True,
    elsewhere: Mapping[str, str] | None = None,
) -> list[tuple[str, str, str | None]]:
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: expected a list of {{rule, reason}} entries")
    rules = set(known)
    allowed = {"rule", "reason", "file"} if file_allowed else {"rule", "reason"}
    found: list[tuple[str, str, str | None]] = []
    for index, entry in enumerate(entries):
        at = f"{where}[{index}]"
        if not isinstance(entry, dict) or set(entry) - allowed:
            keys = ", ".join(sorted(allowed))
            raise ConfigError(f"{at}: an entry is a mapping with the keys {keys}")
        rule, reason, pattern = entry.get("rule"), entry.get("reason"), entry.get("file")
        if isinstance(rule, str) and elsewhere and rule in elsewhere:
            other = elsewhere[rule]
            raise ConfigError(
                f"{at}: {rule} is a rule of `leveret {other}`, so here it can never match; "
                f"move the entry under `{other}:`"
            )
        if not isinstance(rule, str) or rule not in rules:
            guess = closest(rule, rules) if isinstance(rule, str) else None
            hint = f" (did you mean {guess!r}?)" if guess else ""
            raise ConfigError(f"{at}: unknown rule {rule!r}{hint}")
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(f"{at}: ignoring {rule} needs a reason")
        if rule in _NEVER_IGNORED:
            raise ConfigError(f"{at}: {rule} cannot be ignored: {_NEVER_IGNORED[rule]}")
        if pattern is not None and (not isinstance(pattern, str) or not pattern.strip()):
            raise ConfigError(f"{at}: file must be a path or a glob (leave it out for every file)")
        found.append((rule, reason.strip(), posixpath.normpath(pattern) if pattern else None))
    return found


def apply_ignores(
    findings: Sequence[Finding], ignores: Sequence[Ignore], cwd: Path
) -> list[Finding]:
    """The findings, each ignored (with the reason of the first matching entry) or not."""
    result = []
    for finding in findings:
        match = next((i for i in ignores if i.matches(finding, cwd)), None)
        result.append(finding if match is None else finding.ignore(match.reason))
    return result
