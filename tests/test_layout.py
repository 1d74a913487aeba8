"""The README's Layout section against the live tree, and the bad-input table's new home.

The Layout must list every package and top-level module of ``lus_unet/`` and every config
group folder of ``conf/``, and nothing that no longer exists, so it cannot go stale silently.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BAD_INPUT = ROOT / "docs" / "bad-input.md"

# A path of the package or the config tree as the Layout writes it: lus_unet/data/, conf/model/.
_PATH = re.compile(r"(?<![\w/.])(?:lus_unet|conf)/[\w./-]*")


def section(text: str, title: str) -> str:
    """The body of the ``## <title>`` section of a Markdown text, up to the next ``## ``.

    Args:
        text: the Markdown document.
        title: the section's heading, without the ``## ``.
    """
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def listed_paths(layout: str) -> set[str]:
    """Every ``lus_unet/...`` and ``conf/...`` path the Layout text mentions.

    Args:
        layout: the Layout section's text.
    """
    return {path.rstrip(".,;:") for path in _PATH.findall(layout)}


def required_paths(root: Path) -> set[str]:
    """What the Layout must list: packages and top-level modules of lus_unet, conf groups.

    Args:
        root: the repository root.
    """
    package = root / "lus_unet"
    packages = {
        f"{init.parent.relative_to(root).as_posix()}/"
        for init in package.rglob("__init__.py")
        # The top-level package itself is listed module by module.
        if init.parent != package and "__pycache__" not in init.parts
    }
    modules = {
        f"lus_unet/{path.name}" for path in package.glob("*.py") if path.name != "__init__.py"
    }
    groups = {
        f"{folder.relative_to(root).as_posix()}/"
        for folder in (root / "conf").rglob("*")
        if folder.is_dir() and not folder.name.startswith((".", "__"))
    }
    return packages | modules | groups


def layout_problems(root: Path, layout: str) -> list[str]:
    """One line per missing entry and per listed path that does not exist.

    Args:
        root: the repository root.
        layout: the Layout section's text.
    """
    listed = listed_paths(layout)
    missing = sorted(required_paths(root) - listed)
    stale = sorted(path for path in listed if not (root / path).exists())
    return [f"{path}: not in the README Layout" for path in missing] + [
        f"{path}: in the README Layout but not in the tree" for path in stale
    ]


def test_layout_lists_every_package_module_and_config_group() -> None:
    layout = section(README.read_text(), "Layout")
    assert layout_problems(ROOT, layout) == []
    # The check covers what the issue asked for: it is not vacuous.
    required = required_paths(ROOT)
    assert {"lus_unet/metrics/", "lus_unet/models/", "conf/model/", "conf/data/"} <= required


def test_layout_check_catches_a_missing_package_group_or_stale_entry(tmp_path: Path) -> None:
    (tmp_path / "lus_unet" / "metrics").mkdir(parents=True)
    (tmp_path / "lus_unet" / "__init__.py").write_text("")
    (tmp_path / "lus_unet" / "metrics" / "__init__.py").write_text("")
    (tmp_path / "lus_unet" / "train.py").write_text("")
    (tmp_path / "conf" / "hydra" / "launcher").mkdir(parents=True)
    (tmp_path / "conf" / "hydra" / "launcher" / "slurm.yaml").write_text("")
    complete = (
        "lus_unet/train.py  x\nlus_unet/metrics/  y\nconf/hydra/  z\nconf/hydra/launcher/ w\n"
    )
    assert layout_problems(tmp_path, complete) == []
    assert layout_problems(tmp_path, complete.replace("lus_unet/metrics/", "metrics")) == [
        "lus_unet/metrics/: not in the README Layout"
    ]
    assert layout_problems(tmp_path, complete.replace("conf/hydra/launcher/", "launcher/")) == [
        "conf/hydra/launcher/: not in the README Layout"
    ]
    assert layout_problems(tmp_path, complete + "lus_unet/gone/  removed\n") == [
        "lus_unet/gone/: in the README Layout but not in the tree"
    ]


def test_bad_input_table_lives_in_docs_and_readme_links_it() -> None:
    readme = README.read_text()
    assert "](docs/bad-input.md)" in readme
    assert "| case | CLI | message shape |" not in readme
    table = BAD_INPUT.read_text()
    assert "| case | CLI | message shape |" in table
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert len(rows) >= 10, "the bad-input table lost its rows"
