"""Configuration errors that name their file, line, the problem and the fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigError:
    source: str
    line: int | None
    message: str
    fix: str = ""
    warning: bool = False

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        text = f"{where}: {'warning: ' if self.warning else ''}{self.message}"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text


class ConfigErrors(Exception):
    """All the errors found in one load, reported together."""

    def __init__(self, errors: Iterable[ConfigError]):
        self.errors = [e for e in errors if not e.warning]
        super().__init__("\n".join(str(e) for e in self.errors))


class Collector:
    """Collects errors and warnings while a loader walks every file."""

    def __init__(self) -> None:
        self.items: list[ConfigError] = []

    def error(self, source: str, line: int | None, message: str, fix: str = "") -> None:
        self.items.append(ConfigError(source, line, message, fix))

    def warn(self, source: str, line: int | None, message: str, fix: str = "") -> None:
        self.items.append(ConfigError(source, line, message, fix, warning=True))

    def extend(self, items: Iterable[ConfigError]) -> None:
        self.items.extend(items)

    @property
    def errors(self) -> list[ConfigError]:
        return [e for e in self.items if not e.warning]

    @property
    def warnings(self) -> list[ConfigError]:
        return [e for e in self.items if e.warning]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise ConfigErrors(self.errors)


def suggest(word: str, choices: Iterable[str]) -> str:
    """'Did you mean' text for an unknown name, or the list of valid names."""
    options = sorted(set(choices))
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if len(options) <= 12:
        return "valid: " + ", ".join(options)
    return "valid: " + ", ".join(options[:12]) + ", ..."
