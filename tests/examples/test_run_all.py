"""``make bench`` discovery: every script in benchmarks/ runs, helpers do not, the operator last."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.run_all import discover

ROOT = Path(__file__).resolve().parents[2]


def test_discover_keeps_scripts_skips_helpers_and_runs_operator_bench_last(tmp_path):
    script = 'def main():\n    pass\n\n\nif __name__ == "__main__":\n    main()\n'
    for name in ("zeta_bench", "alpha_bench", "operator_bench", "floor", "run_all"):
        (tmp_path / f"{name}.py").write_text(script)
    (tmp_path / "helpers.py").write_text("def helper():\n    return 1\n")
    (tmp_path / "__init__.py").write_text("")
    assert discover(tmp_path) == ["alpha_bench", "zeta_bench", "operator_bench"]


def test_the_real_folder_lists_the_existing_benchmarks():
    listed = subprocess.run(
        [sys.executable, "-m", "benchmarks.run_all", "--list"], cwd=str(ROOT),
        capture_output=True, text=True, check=True,
    ).stdout.split()
    assert listed[-1] == "operator_bench"
    assert {"queue_throughput", "noop_reconcile", "apim_upserts"} <= set(listed)
    assert "floor" not in listed
    assert "run_all" not in listed


def test_unknown_names_are_refused():
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.run_all", "--only", "no_such_bench", "--list"],
        cwd=str(ROOT), capture_output=True, text=True, check=False,
    )
    assert completed.returncode == 2
    assert "unknown benchmarks: no_such_bench" in completed.stderr
