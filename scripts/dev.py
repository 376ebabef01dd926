"""Set-up and entry points behind `make demo` and `make test`.

Kept in Python rather than shell so that the same two commands work wherever
Python 3.11+ is the only thing installed: the script creates `.venv`,
installs the project into it, and then runs the demo or the test suite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed"


def run(*cmd: str | Path, **kw) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT, **kw)


def _stamp(extras: set[str], mtime: int) -> str:
    return f"{mtime}\n{','.join(sorted(extras))}"


def _installed(stamp: str, mtime: int) -> set[str] | None:
    """The extras the stamp says are installed for this pyproject.toml, or None if stale."""
    lines = stamp.splitlines()
    if not lines or lines[0] != str(mtime):
        return None
    return {x for x in (lines[1] if len(lines) > 1 else "").split(",") if x}


def needs_install(stamp: str | None, extras: set[str], mtime: int) -> set[str] | None:
    """The extras to install (what is there plus what is asked), or None when an install
    with every asked extra is already done for this pyproject.toml.

    An install with more extras serves a command that needs fewer: `make demo` after
    `make test` installs nothing, and `make test` after `make demo` adds the test
    extra once, keeping whatever was there.
    """
    have = _installed(stamp, mtime) if stamp is not None else None
    if have is not None and extras <= have:
        return None
    return extras | (have or set())


def ensure_venv(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (this script may run under any python3)
        sys.exit("khabar needs Python 3.11 or newer")
    if not PY.exists():
        run(sys.executable, "-m", "venv", VENV)
    mtime = (ROOT / "pyproject.toml").stat().st_mtime_ns
    wanted = {x for x in extras.split(",") if x}
    todo = needs_install(STAMP.read_text() if STAMP.exists() else None, wanted, mtime)
    if todo is None:
        return
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PY, "-m", "pip", "install", "--quiet", "-e",
        f".[{','.join(sorted(todo))}]" if todo else ".")
    STAMP.write_text(_stamp(todo, mtime))


def ensure_chromium() -> None:
    """Browser tests drive Debian's chromium; install it when we are allowed to."""
    fonts = Path("/usr/share/fonts/truetype/noto")
    if (shutil.which("chromium") or Path("/usr/bin/chromium").exists()) and fonts.exists():
        return
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        print("chromium not found and cannot be installed here: browser tests will skip")
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        run("apt-get", "update", "-qq", env=env)
        # Noto gives the report's Arabic a proper typeface in screenshots (else DejaVu)
        run("apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium",
            "fonts-noto-core", env=env)
    except subprocess.CalledProcessError:
        print("apt-get could not install chromium: browser tests will skip")


def main(argv: list[str]) -> int:
    what = argv[0] if argv else "test"
    rest = argv[1:]
    if what == "demo":
        ensure_venv("")
        out = ROOT / "demo-report"
        # the database beside the report, not in it: the folder is meant to be copied or
        # mailed as it is (demo.db is git-ignored, as every *.db)
        run(BIN / "khabar", "run", ROOT / "examples" / "demo", "--out", out,
            "--db", ROOT / "demo.db", *rest)
        return 0
    if what == "test":
        ensure_venv("test")
        ensure_chromium()
        run(PY, "-m", "pytest", "-q", *rest)
        return 0
    if what == "bench":
        ensure_venv("test,bench")
        for script in sorted((ROOT / "bench").glob("*.py")):
            run(PY, script, *rest)
        return 0
    print(f"unknown target {what!r}: use demo, test or bench", file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode or 1)
