"""Shared test fixtures.

The shared corpora live beside the project at ``../shared`` (read-only, never
copied into the repository); tests that need them skip with a reason when
they are absent, as on a user's fresh clone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEMO = ROOT / "examples" / "demo"
DEMO_KEY = ROOT / "examples" / "demo-key.json"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or a skip when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared corpora are not part of the repository)")
    return path


@pytest.fixture
def seeds_dir() -> Path:
    return shared_path("seeds")


@pytest.fixture
def saudinewsnet() -> Path:
    return shared_path("data", "saudinewsnet", "dev.jsonl.gz")


@pytest.fixture
def araplagdet() -> Path:
    return shared_path("data", "araplagdet")


@pytest.fixture
def artifacts_dir() -> Path:
    """Where tests leave files for humans (screenshots): test-artifacts/ at the repo root."""
    path = ROOT / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser); skips when absent."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent (install Debian's chromium: make test does)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
