"""The wheel, installed outside the checkout, runs: ``scripts/wheel-check`` builds it,
installs it into a fresh venv, runs ``kit migrate``, ``kit demo`` and ``kit check`` there
and renders a flyer. An editable install finds templates in the checkout whatever the
packaging says; only a real install shows what the wheel forgot (about 40 s)."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pypdf
import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.wheel


@pytest.fixture(scope="module")
def wheel_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    work = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [str(REPO / "scripts" / "wheel-check"), str(work)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return work, done.stdout


def test_wheel_ships_templates_static_files_and_migrations(wheel_run: tuple[Path, str]) -> None:
    work, _ = wheel_run
    (wheel,) = (work / "dist").glob("house_meeting_kit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    pdf_templates = {p.name for p in (REPO / "pdf_templates").iterdir()}
    assert {f"kit/pdf_templates/{name}" for name in pdf_templates} <= names
    for folder in ("templates", "static", "store/migrations"):
        shipped = {
            f"kit/{p.relative_to(REPO / 'kit').as_posix()}"
            for p in (REPO / "kit" / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }
        assert shipped and shipped <= names, sorted(shipped - names)[:5]


def test_kit_check_passes_from_the_installed_wheel(wheel_run: tuple[Path, str]) -> None:
    _, out = wheel_run
    assert f"kit imported from {wheel_run[0] / 'venv'}" in out
    assert "Applied " in out  # every migration, from the wheel's kit/migrations
    assert "ok    migrations: up to date" in out
    assert "FAIL" not in out


def test_a_flyer_renders_from_the_installed_wheel(wheel_run: tuple[Path, str]) -> None:
    work, _ = wheel_run
    flyer = pypdf.PdfReader(work / "flyer.pdf")
    text = flyer.pages[0].extract_text()
    assert len(flyer.pages) == 1
    assert "You're invited" in text and "Scan to RSVP" in text
