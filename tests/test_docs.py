"""The README documents every setting, and the quickstart is two commands."""

from __future__ import annotations

import re
from pathlib import Path

from kit.core.settings import SETTINGS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_setting_is_in_the_readme_configuration_table() -> None:
    documented = set(re.findall(r"^\| `(KIT_[A-Z_]+)` \|", README, flags=re.M))
    assert documented == {s.env for s in SETTINGS}


def test_quickstart_is_two_commands() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```(?:sh|bash)\n(.*?)```", quickstart, flags=re.S)
    assert block
    commands = [
        line
        for line in block.group(1).splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert commands == ["./scripts/quickstart", "./scripts/test"]
