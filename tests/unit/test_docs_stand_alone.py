"""The project's docs stand on their own: every relative link points at a file of the
repository, and none points outside it (issue 19: architecture.md linked to a design file
that is not part of the repository)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_PATH_IN_CODE = re.compile(r"`(\.\./[^`\s]+)`")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_stay_inside_the_repository_and_exist(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    targets = [
        t for t in _LINK.findall(text) if "://" not in t and not t.startswith(("#", "mailto:"))
    ]
    targets += _PATH_IN_CODE.findall(text)
    for target in targets:
        resolved = (doc.parent / target.split("#", 1)[0]).resolve()
        assert resolved.is_relative_to(ROOT), f"{doc.name} points outside the repository: {target}"
        assert resolved.exists(), f"{doc.name} links to a missing file: {target}"


def test_the_checks_see_the_docs() -> None:
    assert ROOT / "docs" / "architecture.md" in DOCS
    assert len(DOCS) >= 6
