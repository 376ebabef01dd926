"""The smaller things a user meets: one-line usage errors, --db in a missing folder,
one option for the least story size, `make demo`'s database, the install set-up."""

from __future__ import annotations

import importlib.util
import json
import tomllib
from pathlib import Path

import pytest

from khabar.cli import main

ROOT = Path(__file__).resolve().parents[1]
TEXT = "أعلنت الوزارة اليوم عن خطة جديدة لتطوير الطرق في المناطق الريفية خلال العام المقبل."


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "a", "text": TEXT}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("argv", [
    ["dups", "--frobnicate"],
    ["nosuch"],
    ["report", "--min-size", "0", "--out", "x"],
    ["ingest"],
    ["eval", "pan", "--trut", "x"],
    ["run", "in.jsonl"],
    ["stories", "--mode", "sideways"],
])
def test_usage_errors_are_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(argv, capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("khabar: error: "), err
    assert "--help'" in err and "Usage:" not in err


def test_bare_group_still_shows_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, err = run([], capsys)
    assert "Commands:" in out + err


@pytest.mark.parametrize("command", [["ingest", "{feed}"], ["dups", "{feed}", "--out", "{o}"],
                                     ["stories", "{feed}"], ["run", "{feed}", "--out", "{o}"]])
def test_db_in_a_missing_folder_is_refused(command: list[str], feed: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a.format(feed=feed, o=tmp_path / "out") for a in command]
    code, _, err = run([*argv, "--db", tmp_path / "no" / "such" / "x.db"], capsys)
    assert code == 1 and err.count("\n") == 1 and "does not exist" in err
    assert not (tmp_path / "no").exists() and not (tmp_path / "out").exists()


def test_one_option_for_the_least_story_size(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["run", "x"], ["report"]):
        for name in ("--min-story-size", "--min-size"):
            code, _, err = run([*command, name, "0", "--out", "o"], capsys)
            assert code == 2 and "0 is not in the range x>=1" in err, (command, name)
    helps = []
    for command in ("run", "report"):
        _, out, _ = run([command, "--help"], capsys)
        helps.append([line for line in out.splitlines() if "--min-story-size" in line])
    assert helps[0] == helps[1] and helps[0]


def _dev_script():
    spec = importlib.util.spec_from_file_location("khabar_dev", ROOT / "scripts" / "dev.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_make_demo_and_make_test_do_not_reinstall_each_other() -> None:
    dev = _dev_script()
    assert dev.needs_install(None, set(), 5) == set()  # nothing installed yet
    after_test = dev._stamp({"test"}, 5)
    assert dev.needs_install(after_test, set(), 5) is None  # demo after test
    assert dev.needs_install(after_test, {"test"}, 5) is None  # test again
    after_demo = dev._stamp(set(), 5)
    assert dev.needs_install(after_demo, {"test"}, 5) == {"test"}  # once, then stamped
    assert dev.needs_install(after_test, {"test", "bench"}, 5) == {"test", "bench"}
    assert dev.needs_install(after_test, set(), 6) == set()  # pyproject.toml changed
    assert dev.needs_install("test\n5", {"test"}, 5) == {"test"}  # the old stamp's layout


def test_make_demo_keeps_its_database_out_of_the_report(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    dev = _dev_script()
    calls: list[tuple] = []
    monkeypatch.setattr(dev, "ensure_venv", lambda extras: None)
    monkeypatch.setattr(dev, "run", lambda *cmd, **kw: calls.append(cmd))
    assert dev.main(["demo"]) == 0
    cmd = [str(c) for c in calls[0]]
    out = Path(cmd[cmd.index("--out") + 1])
    db = Path(cmd[cmd.index("--db") + 1])
    assert not db.resolve().is_relative_to(out.resolve())
    assert db == ROOT / "demo.db"
    assert any(line.strip() == "*.db" for line in (ROOT / ".gitignore").read_text().splitlines())


def test_licence_is_an_spdx_string_with_a_setuptools_that_reads_it() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert meta["project"]["license"] == "Apache-2.0"
    assert "setuptools>=77" in meta["build-system"]["requires"]
