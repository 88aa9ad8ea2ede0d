"""Every shell example in README.md and docs/*.md runs, with its documented output or exit code.

The docs are read as a new user reads them, in order, one scratch store and one scratch folder
per page (the folder sees ``rules/``, ``tests/`` and ``docs/`` of the repository, so paths in the
examples resolve as they do in a clone):

* a ```` ```console ```` block holds ``$ command`` lines (a trailing ``\\`` continues a line); the
  lines after a command, up to the next ``$``, are its documented output. ``…`` stands for any
  text; runs of spaces and tabs compare equal. No output lines: any output.
* a ```` ```sh ```` block holds one command a line. A trailing comment ``# → exit N`` states the exit
  code; ``# → {json}`` a JSON object the output must contain (every key with that value);
  ``# → text`` a text the output must contain. Other comments are prose.
* a command that cannot run in a test (a long-running server, ``make``, the test suite itself, a
  placeholder the reader fills in) carries ``# not run: reason``. The mark is checked too: a
  ``duban`` command must still parse — every option it names exists —, a test-runner line must
  name test files that exist, and only the commands in :data:`LONG_RUNNING`, benchmarks
  (``bench/``), test runners or lines with an UPPER_CASE placeholder may carry it.
* ``<!-- not run: reason -->`` on the line before a fence marks every command of the block so
  (the README's two opening commands: ``make test`` runs this very suite).
* ``<!-- docs-test: skip-file reason -->`` anywhere in a page skips the page (none does today).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from duban.cli.main import cli

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LONG_RUNNING = ("duban run", "duban serve", "make run", "make test", "make bench")
TEST_RUNNERS = (".venv/bin/pytest ", "pytest ", ".venv/bin/python -m pytest ")  # the suite itself: checked by naming real test files
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z0-9_]{2,}\b")
FENCE = re.compile(r"^```(\w*)\s*$")


@dataclass(frozen=True)
class Example:
    page: str
    line: int
    command: str
    output: tuple[str, ...] = ()
    expect_exit: int | None = None
    expect_json: dict | None = None
    expect_text: str | None = None
    not_run: str | None = None


def _sh_line(page: str, lineno: int, raw: str) -> Example | None:
    text = raw.strip()
    if not text or text.startswith("#"):
        return None
    command, _, comment = text.partition(" #")
    comment = comment.strip()
    kwargs: dict = {}
    if comment.startswith("not run:"):
        kwargs["not_run"] = comment[len("not run:"):].strip()
    elif comment.startswith("→"):
        claim = comment[1:].strip()
        if m := re.fullmatch(r"exit (\d+).*", claim):
            kwargs["expect_exit"] = int(m.group(1))
        elif claim.startswith("{"):
            kwargs["expect_json"] = json.loads(claim)
        elif claim:
            kwargs["expect_text"] = claim
    return Example(page, lineno, command.strip(), **kwargs)


def _console_block(page: str, start: int, lines: list[str]) -> list[Example]:
    examples: list[Example] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            i += 1
            continue
        lineno = start + i
        command = lines[i][2:]
        while command.endswith("\\") and i + 1 < len(lines):
            i += 1
            command = command[:-1].rstrip() + " " + lines[i].strip()
        i += 1
        output = []
        while i < len(lines) and not lines[i].startswith("$ "):
            output.append(lines[i])
            i += 1
        ex = _sh_line(page, lineno, command)
        if ex is not None:
            examples.append(Example(**{**ex.__dict__, "output": tuple(output)}))
    return examples


def collect(path: Path) -> list[Example]:
    page = path.relative_to(REPO).as_posix()
    examples: list[Example] = []
    lang = None
    block: list[str] = []
    start = 0
    previous = ""
    block_mark: str | None = None
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        m = FENCE.match(raw)
        if m and lang is None:
            lang, block, start = m.group(1), [], lineno + 1
            mark = re.fullmatch(r"<!--\s*not run:\s*(.+?)\s*-->", previous.strip())
            block_mark = mark.group(1) if mark else None
            continue
        if m and lang is not None:
            found: list[Example] = []
            if lang == "console":
                found = _console_block(page, start, block)
            elif lang in ("sh", "shell", "bash"):
                found = [e for n, b in enumerate(block) if (e := _sh_line(page, start + n, b))]
            if block_mark is not None:
                found = [Example(**{**e.__dict__, "not_run": e.not_run or block_mark}) for e in found]
            examples += found
            lang = None
            continue
        previous = raw
        if lang is not None:
            block.append(raw)
    return examples


def _matches(expected: tuple[str, ...], actual: str) -> bool:
    lines = [line for line in expected if line.strip()]
    if not lines:
        return True
    parts = [re.escape(re.sub(r"\s+", " ", line.strip())).replace("…", ".*?") for line in lines]
    pattern = r"(?s).*?" + r".*?\n?".join(parts) + r".*"
    return re.match(pattern, re.sub(r"[ \t]+", " ", actual)) is not None


def _remaining(ctx: click.Context) -> list[str]:
    """The tokens a group left for its subcommand (click 8 splits them in two lists)."""
    with warnings.catch_warnings():  # click 8.2 deprecates protected_args; 9.0 folds it into args
        warnings.simplefilter("ignore", DeprecationWarning)
        return [*ctx.protected_args, *ctx.args]


def _parses(argv: list[str]) -> None:
    """Parse ``duban ARGV`` with click without running it: every option named must exist."""
    ctx = cli.make_context("duban", list(argv), resilient_parsing=False)
    command: click.Command = cli
    while isinstance(command, click.Group) and (remaining := _remaining(ctx)):
        name, *rest = remaining
        command = command.get_command(ctx, name)  # type: ignore[assignment]
        assert command is not None, f"no such command {name!r}"
        ctx = command.make_context(name, rest, parent=ctx)


PAGE_EXAMPLES = {p.relative_to(REPO).as_posix(): collect(p) for p in PAGES
                 if "docs-test: skip-file" not in p.read_text(encoding="utf-8")}


def test_the_docs_hold_examples() -> None:
    total = sum(len(v) for v in PAGE_EXAMPLES.values())
    assert total >= 40, f"only {total} examples found: the collector is broken"
    assert PAGE_EXAMPLES["README.md"], "README.md's commands were not collected"


@pytest.mark.parametrize("page", sorted(p for p, ex in PAGE_EXAMPLES.items() if ex))
def test_every_example_of_the_page_runs(page: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    for name in ("rules", "tests", "docs"):
        (work / name).symlink_to(REPO / name)
    # The embedded defaults, as a reader of the docs has them, but their relative paths
    # (var/duban.db, var/outbox) resolve in the scratch folder: DUBAN_CONFIG names a copy there.
    shutil.copy(REPO / "config.yaml", work / "config.yaml")
    env = {
        "DUBAN_CONFIG": str(work / "config.yaml"),
        "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
    }
    failures = []
    for ex in PAGE_EXAMPLES[page]:
        where = f"{ex.page}:{ex.line}: {ex.command}"
        if ex.not_run is not None:
            if ex.command.startswith(TEST_RUNNERS):
                missing = [w for w in shlex.split(ex.command) if w.startswith("tests/") and not (REPO / w).exists()]
                if missing:
                    failures.append(f"{where}: names test files that do not exist: {missing}")
            elif not (ex.command.startswith(LONG_RUNNING) or " bench/" in ex.command
                      or PLACEHOLDER.search(ex.command)):
                failures.append(f"{where}: marked 'not run' but it is neither long-running nor a placeholder")
            elif ex.command.startswith("duban "):
                try:
                    _parses(shlex.split(ex.command)[1:])
                except (click.UsageError, AssertionError) as exc:
                    failures.append(f"{where}: does not parse: {exc}")
            continue
        code, out = _execute(ex.command, work, env)
        expected_code = ex.expect_exit if ex.expect_exit is not None else 0
        if code != expected_code:
            failures.append(f"{where}: exit {code}, documented {expected_code}\n{out[-800:]}")
        elif ex.expect_json is not None and not _json_contains(out, ex.expect_json):
            failures.append(f"{where}: output lacks {ex.expect_json}\n{out[-800:]}")
        elif ex.expect_text is not None and not _matches((ex.expect_text,), out):
            failures.append(f"{where}: output lacks {ex.expect_text!r}\n{out[-800:]}")
        elif not _matches(ex.output, out):
            failures.append(f"{where}: output differs from the documented\n--- documented\n"
                            + "\n".join(ex.output) + f"\n--- actual\n{out[-1500:]}")
    assert not failures, "\n\n".join(failures)


def _json_contains(out: str, expected: dict) -> bool:
    for line in [out, *out.splitlines()]:
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and all(doc.get(k) == v for k, v in expected.items()):
            return True
    return False


def _execute(command: str, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """A plain ``duban …`` line runs in-process; anything with shell syntax runs in bash."""
    if command.startswith("duban ") and not re.search(r"[|<>;&$`]", command):
        old = Path.cwd()
        os.chdir(cwd)
        try:
            result = CliRunner().invoke(cli, shlex.split(command)[1:], env=env, input="", catch_exceptions=False)
        finally:
            os.chdir(old)
        return result.exit_code, result.output
    proc = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
    return proc.returncode, proc.stdout


def test_the_matcher_is_strict_where_it_must_be() -> None:
    assert _matches(("plan a: created (+1445 obligations, …)",), "plan a: created (+1445 obligations, 3 moved)\n")
    assert not _matches(("plan a: created (+1445 obligations, …)",), "plan a: unchanged\n")
    assert _matches(("372\tplan\t6.1", "…"), "372  plan 6.1\nmore\n")
    assert _json_contains('{"kind": "fixed", "due": "2016-12-31"}', {"due": "2016-12-31"})
    assert not _json_contains('{"kind": "fixed", "due": "2016-12-30"}', {"due": "2016-12-31"})
