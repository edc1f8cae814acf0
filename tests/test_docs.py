"""The docs describe what the code does: every class of case, every sheet, in the finance guide."""

from __future__ import annotations

import re
from pathlib import Path

from transforms.labels import SHEETS, word
from transforms.worklist import CASE_CLASSES

DOCS = Path(__file__).resolve().parent.parent / "docs"
#: The briefing folder beside the repository: a clone has no such folder, so no page may point at it.
OUTSIDE = "../" + "shared"


def test_the_finance_guide_explains_every_class_with_its_owner_and_severity() -> None:
    text = (DOCS / "finance.md").read_text(encoding="utf-8")
    rows = {m.group(2): m.group(0) for m in re.finditer(r"^\| ([^|]+) \| `([^`]+)` \|.*$", text, re.M)}
    assert set(rows) == set(CASE_CLASSES), set(rows) ^ set(CASE_CLASSES)
    severities = {1: "高", 2: "中", 3: "低"}
    for code, case_class in CASE_CLASSES.items():
        cells = [c.strip() for c in rows[code].strip("|").split("|")]
        assert cells[0] == case_class.zh, code
        assert cells[2].startswith(severities[case_class.severity]), code


def test_the_finance_guide_names_every_sheet_and_its_pictures_exist() -> None:
    text = (DOCS / "finance.md").read_text(encoding="utf-8")
    for key in SHEETS:
        assert f"| {word(SHEETS, key, 'zh')} |" in text, key
    for picture in re.findall(r"\]\((workbook/[^)]+\.png)\)", text):
        assert (DOCS / picture).is_file(), picture


def test_docs_never_point_outside_the_repo() -> None:
    for page in DOCS.rglob("*.md"):
        assert OUTSIDE not in page.read_text(encoding="utf-8"), page
