"""Generated parts of the documentation (an MkDocs hook: ``hooks: [cama/docgen.py]`` in mkdocs.yml).

A page holds markers that :func:`expand` replaces with text made from the repository, so the
documentation cannot drift from its sources:

* ``<!-- cama:attacks -->`` — the attack catalogue from the registry (:mod:`cama.catalogue`);
* ``<!-- cama:include PATH -->`` — a committed file (``results/victims.md``, ``CHANGELOG.md``), its
  first heading dropped;
* ``<!-- cama:include PATH#HEADING -->`` — one section of a Markdown file (e.g. a summary table of
  ``results/LEADERBOARD.md``), the heading dropped;
* ``<!-- cama:code PATH -->`` — a text file (a benchmark's output) as a code block.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"<!-- cama:(attacks|include|code)(?: ([^#>]+?)(?:#([^>]+?))?)? -->")


def section(text: str, heading: str) -> str:
    """The body of the Markdown section titled ``heading`` (to the next heading of its level or above)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(#+) (.*)$", line)
        if m and m.group(2).strip() == heading.strip():
            level = len(m.group(1))
            body = []
            for later in lines[i + 1:]:
                n = re.match(r"^(#+) ", later)
                if n and len(n.group(1)) <= level:
                    break
                body.append(later)
            return "\n".join(body).strip() + "\n"
    raise KeyError(f"no section '{heading}'")


def _replacement(kind: str, path: str | None, heading: str | None, root: Path) -> str:
    if kind == "attacks":
        from cama.catalogue import markdown

        return markdown()
    text = (root / path.strip()).read_text()
    if kind == "code":
        return "```text\n" + text.rstrip() + "\n```\n"
    if heading:
        return section(text, heading)
    return re.sub(r"\A# [^\n]*\n", "", text, count=1).strip() + "\n"


def expand(markdown: str, root: Path = ROOT) -> str:
    """Every marker of ``markdown`` replaced (an unknown path or heading raises)."""
    return MARKER.sub(lambda m: _replacement(m.group(1), m.group(2), m.group(3), root), markdown)


def on_page_markdown(markdown: str, **_) -> str:  # MkDocs hook
    return expand(markdown)
