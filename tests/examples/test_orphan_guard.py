"""``examples.orphan_guard``: the command replaces the guard, bound to the right parent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from examples.orphan_guard import EXIT_PARENT_GONE

ROOT = Path(__file__).resolve().parents[2]


def _guard(parent: int, *command: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "examples.orphan_guard", str(parent), *command],
        cwd=str(ROOT), stdout=subprocess.PIPE, text=True,
    )


def test_the_command_runs_in_place_of_the_guard():
    process = _guard(os.getpid(), "/bin/sh", "-c", "echo $$; grep PPid /proc/$$/status")
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    pid_line, ppid_line = out.splitlines()
    assert int(pid_line) == process.pid  # exec'd, not a grandchild
    assert int(ppid_line.split()[1]) == os.getpid()


def test_a_parent_other_than_the_expected_one_means_it_is_gone():
    process = _guard(1, "/bin/sh", "-c", "echo should not run")
    out, _ = process.communicate(timeout=30)
    assert process.returncode == EXIT_PARENT_GONE
    assert out == ""


def test_usage_error_without_a_command():
    process = _guard(os.getpid())
    process.communicate(timeout=30)
    assert process.returncode == 2
