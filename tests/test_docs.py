"""README and the documentation site: short, about the project, generated parts equal their
sources, every command they name exists with the options they use, and the site builds strictly."""
from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from cama.catalogue import attack_rows, markdown, parameter_rows
from cama.cli import cli
from cama.docgen import MARKER, expand, section

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").rglob("*.md"))
TEXTS = [ROOT / "README.md", *PAGES]


def test_readme_is_short_and_speaks_of_the_project():
    readme = (ROOT / "README.md").read_bytes()
    assert len(readme) <= 10 * 1024, f"README.md is {len(readme)} bytes"
    for path in TEXTS:
        assert not re.search(r"session", path.read_text(), re.I), f"{path.relative_to(ROOT)} mentions sessions"


def test_readme_links_resolve():
    readme = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), f"README links to a missing {target}"


def _commands(text: str):
    """Every ``cama ...`` command line of the fenced code blocks of ``text``, as argv lists."""
    for block in re.findall(r"```(?:bash|sh)?\n(.*?)```", text, re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            for part in re.split(r"&&|\|", line.split(" #", 1)[0]):
                if re.match(r"^(\S*/)?cama \w", part.strip()):
                    yield shlex.split(part.strip())[1:]


def _all_commands():
    return [(path.relative_to(ROOT).as_posix(), argv) for path in TEXTS for argv in _commands(path.read_text())]


def test_the_pages_name_commands():
    assert len(_all_commands()) >= 20


@pytest.mark.parametrize("where, argv", _all_commands(), ids=lambda v: v if isinstance(v, str) else " ".join(v)[:60])
def test_every_documented_command_exists_with_its_options(where, argv):
    command = cli.commands.get(argv[0])
    assert command is not None, f"{where}: no command 'cama {argv[0]}'"
    known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    for word in argv[1:]:
        if word.startswith("-") and word != "-":
            assert word.split("=", 1)[0] in known, f"{where}: 'cama {argv[0]}' has no option {word}"
    result = subprocess.run([sys.executable, "-m", "cama.cli", argv[0], "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "Usage" in result.stdout, result.stderr


def test_generated_parts_resolve_and_equal_their_sources():
    for page in PAGES:
        text = page.read_text()
        out = expand(text)
        assert not MARKER.search(out), page
        for kind, path, heading in MARKER.findall(text):
            if kind == "include" and heading:
                assert section((ROOT / path).read_text(), heading) in out
    assert "<!-- cama:attacks -->" in (ROOT / "docs" / "attacks.md").read_text()


def test_unknown_marker_targets_fail_loudly():
    with pytest.raises(KeyError):
        expand("<!-- cama:include results/LEADERBOARD.md#No such heading -->")
    with pytest.raises(FileNotFoundError):
        expand("<!-- cama:code results/missing.txt -->")


def test_the_catalogue_is_the_registry():
    from attacks import ATTACKS
    from attacks.base import PARAM_HELP

    rows = attack_rows()
    assert [r["attack"] for r in rows] == list(ATTACKS)
    assert all(r["description"] for r in rows), "every attack states what it does"
    params = parameter_rows()
    assert all(p["meaning"] for p in params), [p["parameter"] for p in params if p["parameter"] not in PARAM_HELP]
    text = markdown()
    assert all(f"`{name}`" in text for name in ATTACKS)
    for name, cls in ATTACKS.items():
        row = next(r for r in rows if r["attack"] == name)
        for key, value in cls.defaults.items():
            assert f"{key}={value}" in row["parameters (-p key=value)"]


def test_mkdocs_builds_strictly(tmp_path):
    if importlib.util.find_spec("mkdocs") is None:
        if os.environ.get("CAMA_REQUIRE_DOCS"):
            pytest.fail("CAMA_REQUIRE_DOCS is set but mkdocs is not installed (pip install -e '.[docs]')")
        pytest.skip("mkdocs not installed (the docs extra)")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (tmp_path / "site" / "attacks" / "index.html").read_text().count("cama-node") > 2
