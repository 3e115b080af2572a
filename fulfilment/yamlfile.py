"""YAML loading that remembers line numbers, so every rule error can name its file and line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class LineDict(dict[str, Any]):
    """A mapping read from YAML with the line of the mapping and of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        """The line of `key`, or of the mapping when the key is absent."""
        return self.key_lines.get(key, self.line)


@dataclass(frozen=True, slots=True)
class ConfigError:
    """One problem in a configuration file: where, which field, what is wrong and what to do."""

    file: str
    line: int
    field: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}: {self.field}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


class ConfigInvalid(ValueError):
    """A configuration file has errors; `errors` lists each one."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))

    def report(self) -> str:
        """The message `fulfil rules check` and every command that refuses invalid rules print."""
        return "the rules are invalid:\n" + "\n".join(f"  {e}" for e in self.errors)


class _Loader(yaml.SafeLoader):
    """The safe loader on PyYAML's pure-Python parser, whose syntax errors are the most precise (a stray tab is named
    as such)."""


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The safe loader on libyaml's C parser where PyYAML has it: the rules load in a tenth of the time (~0.15 s of
    every command's start), with the same values and line marks."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        result[str(key)] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_FastLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _parse(text: str) -> Any:
    """The document in `text`; a syntax error is raised as the pure-Python parser words it."""
    try:
        return yaml.load(text, Loader=_FastLoader)  # noqa: S506 - a SafeLoader
    except yaml.MarkedYAMLError:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


def _escape(code: int) -> str:
    """How a double-quoted YAML string writes character `code`."""
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def load_yaml(path: Path) -> Any:
    """Parse a YAML file; syntax errors become a ConfigInvalid naming the file and line."""

    def invalid(line: int, field: str, message: str, hint: str = "") -> ConfigInvalid:
        return ConfigInvalid([ConfigError(str(path), line, field, message, hint)])

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise invalid(0, "(file)", "file not found") from None
    except UnicodeDecodeError as exc:
        raise invalid(0, "(file)", f"not UTF-8 text: {exc.reason}") from None
    try:
        return _parse(text)
    except yaml.reader.ReaderError as exc:
        at = text.find(chr(exc.character))  # its first place: libyaml's position counts UTF-8 bytes, not characters
        raise invalid(
            text.count("\n", 0, at if at >= 0 else exc.position) + 1,
            "(file)",
            f"character #x{exc.character:04x} is not allowed in YAML ({exc.reason})",
            f'remove it, or write it as the escape "{_escape(exc.character)}" inside double quotes',
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise invalid(
            mark.line + 1 if mark else 0,
            "(syntax)",
            f"YAML syntax error: {exc.problem or str(exc)}",
            "check indentation and quotes",
        ) from None
