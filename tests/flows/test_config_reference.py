"""docs/config.md is the generated reference, and it lists exactly the keys the parser accepts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from flows import config_reference
from flows.config_reference import TABLE_NAMES, attributes, reference, sections
from tests.conftest import REPO
from transforms import rules
from transforms.rules import RulesError


def test_docs_config_md_is_the_generated_reference() -> None:
    page = (REPO / "docs" / "config.md").read_text(encoding="utf-8")
    assert page == reference(), "docs/config.md is stale: python -m flows.config_reference > docs/config.md"


class _Reading(dict):  # type: ignore[type-arg]
    """A TOML table that notes every key the parser asks it for."""

    def __init__(self, path: str, read: set[str], items: dict[str, object] | None = None) -> None:
        super().__init__(items or {})
        self.path, self.read = path, read

    def _note(self, key: object) -> None:
        self.read.add(f"{self.path}{key}")

    def get(self, key: str, default: object = None) -> object:
        self._note(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> object:
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._note(key)
        return super().__contains__(key)


def _keys_the_parser_reads(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Every key ``parse_rules`` looks up, found by handing it tables that note what is asked of them.

    The parser refuses any key it does not read (``unknown key``), so what it reads is what it accepts.
    First the top level; then every top-level name as an empty table; then the tables of tables (one
    table per channel name) with a name they accept.
    """

    def parse(raw: dict[str, object]) -> None:
        monkeypatch.setattr(rules.tomllib, "loads", lambda text: raw)
        try:
            rules.parse_rules("")
        except RulesError:
            pass  # an empty table is no valid timezone: only the lookups matter here

    top: set[str] = set()
    parse(_Reading("", top))
    inner: set[str] = set()
    parse(_Reading("", set(), {name: _Reading(f"{name}.", inner) for name in top}))
    for name, names in TABLE_NAMES.items():
        tables = {names[0]: _Reading(f"{name}.<name>.", inner)}
        parse(_Reading("", set(), {name: _Reading(f"{name}.", set(), tables)}))
    sections_read = {key.split(".")[0] for key in inner}
    return {key for key in top if key not in sections_read} | inner


def test_every_key_the_parser_accepts_is_in_the_reference_and_no_other(monkeypatch: pytest.MonkeyPatch) -> None:
    documented = {f"{s.table}.{k.name}" if s.table else k.name for s in sections() for k in s.keys}
    accepted = _keys_the_parser_reads(monkeypatch)
    assert len(accepted) >= 25  # the probe really saw the parser's lookups
    assert {"timezone", "match.cascade", "channels.<name>.fee_bps", "limits.max_bad_row_pct"} <= accepted
    assert accepted - documented == set(), "keys recon.toml accepts that docs/config.md does not list"
    assert documented - accepted == set(), "keys docs/config.md lists that recon.toml refuses"


def test_every_documented_default_parses_as_written() -> None:
    """The reference's defaults, written into a recon.toml, are accepted and give the default rules."""
    lines: list[str] = []
    for section in sections():
        header = section.table.replace("<name>", "wechatpay")
        lines += [f"[{header}]"] if header else []
        lines += [f"{k.name} = {k.default}" for k in section.keys if k.default != "(none)"]
    parsed = rules.parse_rules("\n".join(lines))
    assert parsed.match == rules.MatchRules() and parsed.limits == rules.Limits()
    assert parsed.for_channel("wechatpay") == rules.ChannelRules()
    assert parsed.engine == rules.EngineSettings() and parsed.timezone == rules.Rules().timezone


def test_a_key_without_its_sentence_is_refused() -> None:
    @dataclass(frozen=True)
    class Thing:
        """A section.

        Attributes:
            size: how big, in bytes; a sentence
                that goes on.
        """

        size: int = 1
        colour: str = "red"

    assert attributes(Thing) == {"size": "how big, in bytes; a sentence that goes on."}
    with pytest.raises(ValueError, match="Thing.colour has no sentence"):
        config_reference._keys(Thing, "thing", {})


def test_the_page_says_how_to_regenerate_it() -> None:
    page = reference()
    assert "python -m flows.config_reference > docs/config.md" in page
    assert "../" + "shared" not in page  # the briefing folder beside the repo: never a reference
    for target in ("../flows/recon.default.toml", "../transforms/rules.py", "../transforms/parsed.py"):
        assert f"]({target})" in page and (REPO / "docs" / target).resolve().is_file()


def test_the_module_prints_the_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert config_reference.main() == 0
    assert capsys.readouterr().out == reference()
    assert Path(config_reference.__file__).name == "config_reference.py"
