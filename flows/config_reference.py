"""docs/config.md, the recon.toml reference, generated from the rules' own dataclasses so it cannot drift.

    python -m flows.config_reference > docs/config.md

``Rules`` (transforms/rules.py) is walked field by field: a field whose type is a dataclass is a
``[section]``, a ``dict[str, <dataclass>]`` is a ``[section.<name>]`` table per name, anything else a
key. Each key's type and default are its field's; its sentence is the entry of its class docstring's
``Attributes:`` block (a key without one is an error: the generator refuses to leave it blank). A new
section dataclass added to ``Rules`` appears here without a change to this module.
tests/flows/test_config_reference.py fails when docs/config.md differs from this output, and when the
parser accepts a key this page does not list.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
import tomllib
import typing
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from importlib import resources

from schemas.canonical import CHANNELS
from transforms.rules import Rules

#: Dataclass fields that are no recon.toml key (the parser refuses them), and where their value comes from.
NOT_KEYS = {"limits.chunk_bytes": "set from `engine.chunk_mb`"}

#: The names a ``[section.<name>]`` table may take, where the section is a table of tables.
TABLE_NAMES = {"channels": CHANNELS}

#: How a field's annotation is written for a person editing TOML (anything else is shown as written).
TOML_TYPES = {
    "str": "string",
    "int": "integer",
    "bool": "boolean",
    "Decimal": "decimal: a string (`\"38.5\"`) or an integer, never a float",
    "tuple[str, ...]": "array of strings",
    "time": 'time of day, a string "HH:MM"',
}


@dataclass(frozen=True)
class Key:
    """One recon.toml key: where it lives, its TOML type, its default and what it means."""

    table: str
    name: str
    type: str
    default: str
    packaged: str | None
    meaning: str


@dataclass(frozen=True)
class Section:
    """A table of recon.toml (``""``: the top level) with its introduction and its keys."""

    table: str
    intro: str
    keys: tuple[Key, ...]
    not_keys: tuple[tuple[str, str], ...] = ()


def attributes(cls: type) -> dict[str, str]:
    """The ``Attributes:`` block of a class docstring: name → its sentence (continuation lines joined)."""
    doc = inspect.getdoc(cls) or ""
    found: dict[str, str] = {}
    inside, current = False, None
    for line in doc.splitlines():
        if line.strip() == "Attributes:":
            inside = True
            continue
        if not inside:
            continue
        if line and not line.startswith(" "):  # the next section of the docstring
            break
        entry = re.match(r"^    (\w+)(?: \([^)]*\))?: (.*)$", line)
        if entry:
            current = entry.group(1)
            found[current] = entry.group(2).strip()
        elif current and line.strip():
            found[current] += " " + line.strip()
    return found


def _intro(cls: type) -> str:
    """A class docstring without its ``Attributes:`` block, paragraphs joined into lines."""
    doc = (inspect.getdoc(cls) or "").split("\nAttributes:")[0].strip()
    return "\n\n".join(" ".join(part.split()) for part in doc.split("\n\n"))


def toml_value(value: object) -> str:
    """A value as it is written in recon.toml."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f'"{value}"'
    if isinstance(value, str):
        return f"'{value}'" if "\\" in value or '"' in value else f'"{value}"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, time):
        return f'"{value:%H:%M}"'
    return str(value)


def toml_type(annotation: str) -> str:
    """A field's annotation as a TOML type (``int | None`` → ``integer, optional``)."""
    optional = annotation.endswith(" | None")
    base = annotation.removesuffix(" | None")
    text = TOML_TYPES.get(base, f"`{base}`")
    return f"{text}, optional" if optional else text


def _default(field: dataclasses.Field[object]) -> object:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def _packaged() -> dict[str, object]:
    text = resources.files("flows").joinpath("recon.default.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _keys(cls: type, table: str, packaged: dict[str, dict[str, object]]) -> tuple[list[Key], list[tuple[str, str]]]:
    """The keys of one dataclass; ``packaged``: the packaged recon.toml's table(s) of it, by name."""
    meaning = attributes(cls)
    keys, skipped = [], []
    for field in dataclasses.fields(cls):
        where = f"{table}.{field.name}" if table else field.name
        if where.replace(".<name>", "") in NOT_KEYS:
            skipped.append((field.name, NOT_KEYS[where.replace(".<name>", "")]))
            continue
        if field.name not in meaning:
            raise ValueError(f"{cls.__name__}.{field.name} has no sentence in its docstring's Attributes: block")
        default = toml_value(_default(field))
        shown = {name: toml_value(values[field.name]) for name, values in packaged.items() if field.name in values}
        differs = {name: value for name, value in shown.items() if value != default}
        packaged_text = "; ".join(f"{name}: `{value}`" if name else f"`{value}`" for name, value in differs.items())
        keys.append(Key(table, field.name, toml_type(str(field.type)), default, packaged_text or None,
                        meaning[field.name]))  # fmt: skip
    return keys, skipped


def sections() -> list[Section]:
    """Every table of recon.toml, the top level first, then in the order of ``Rules``' fields."""
    packaged = _packaged()
    hints = typing.get_type_hints(Rules)
    meaning = attributes(Rules)
    top: list[Key] = []
    tables: list[Section] = []
    for field in dataclasses.fields(Rules):
        hint = hints[field.name]
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if dataclasses.is_dataclass(hint):
            given = packaged.get(field.name)
            keys, skipped = _keys(hint, field.name, {"": given} if isinstance(given, dict) else {})  # type: ignore[arg-type]
            intro = _intro(hint)  # type: ignore[arg-type]
            tables.append(Section(field.name, intro, tuple(keys), tuple(skipped)))
        elif origin is dict and len(args) == 2 and dataclasses.is_dataclass(args[1]):
            given = packaged.get(field.name)
            per_name = {k: v for k, v in given.items() if isinstance(v, dict)} if isinstance(given, dict) else {}
            keys, skipped = _keys(args[1], f"{field.name}.<name>", per_name)  # type: ignore[arg-type]
            names = TABLE_NAMES.get(field.name)
            which = f" `<name>` is one of {', '.join(f'`{n}`' for n in names)}." if names else ""
            intro = (f"{_intro(args[1])} One table per name, `[{field.name}.<name>]`.{which} A name "  # type: ignore[arg-type]
                     "without a table gets the defaults.")  # fmt: skip
            tables.append(Section(f"{field.name}.<name>", intro, tuple(keys), tuple(skipped)))
        else:
            if field.name not in meaning:
                raise ValueError(f"Rules.{field.name} has no sentence in its docstring's Attributes: block")
            default = toml_value(_default(field))
            value = toml_value(packaged[field.name]) if field.name in packaged else default
            top.append(Key("", field.name, toml_type(str(field.type)), default,
                           f"`{value}`" if value != default else None, meaning[field.name]))  # fmt: skip
    return [Section("", _intro(Rules), tuple(top)), *tables]


def _markdown(text: str) -> str:
    """Docstring text for Markdown: reStructuredText literals (double backticks) become code spans."""
    return text.replace("``", "`")


def _cell(text: str) -> str:
    return _markdown(text).replace("|", "\\|").replace("\n", " ")


def reference() -> str:
    """The text of docs/config.md."""
    out = [
        "# recon.toml reference",
        "",
        "<!-- Generated by `python -m flows.config_reference > docs/config.md`: do not edit by hand. -->",
        "",
        "recon reads `<data-dir>/recon.toml`, else the packaged [`flows/recon.default.toml`](../flows/recon.default.toml)"
        " (every key written out, with comments); `--config PATH` overrides both. A key left out takes its",
        "default. Unknown keys, wrong types and bad values are refused all together, one line each, and the",
        "command exits 2 before any work. Amounts are integers in the currency's minor unit (fen); rates and",
        "percentages are exact decimals, written as a string or an integer, never as a float.",
        "",
        "This page is generated from the frozen dataclasses that hold the parsed rules,",
        "[`transforms/rules.py`](../transforms/rules.py) (`Rules` and its sections; `Limits` is in",
        "[`transforms/parsed.py`](../transforms/parsed.py)): each key's type and default are its field's, its",
        "sentence is its class docstring's `Attributes:` entry; where the packaged recon.toml sets another value,",
        "the default column says so. After changing a rule, regenerate the page:",
        "",
        "```bash",
        ".venv/bin/python -m flows.config_reference > docs/config.md",
        "```",
        "",
        "`tests/flows/test_config_reference.py` fails while this page differs from the generated text, and",
        "when the parser accepts a key that the page does not list.",
    ]
    for section in sections():
        out += ["", "## Top-level keys" if not section.table else f"## `[{section.table}]`", ""]
        if section.intro:
            out += [_markdown(section.intro), ""]
        out += ["| key | type | default | meaning |", "|---|---|---|---|"]
        for key in section.keys:
            default = ("none" if key.default == "(none)" else f"`{key.default}`") + (
                f" (packaged recon.toml: {key.packaged})" if key.packaged else "")
            out.append(f"| `{key.name}` | {_cell(key.type)} | {_cell(default)} | {_cell(key.meaning)} |")
        for name, why in section.not_keys:
            out += ["", f"Not a key: `{name}` ({why})."]
    return "\n".join(out) + "\n"


def main() -> int:
    """Print the reference (``python -m flows.config_reference > docs/config.md``)."""
    sys.stdout.write(reference())
    return 0


if __name__ == "__main__":
    sys.exit(main())
