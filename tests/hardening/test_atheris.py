"""The atheris (libFuzzer) target `fuzz/fuzz_wire.py`, run for a fixed number of inputs.

Coverage-guided, so it reaches inputs the hypothesis tests do not; the invariants are the same
(`harness.check_input`). Skipped only when atheris is not installed (it is a test extra:
`atheris==3.0.0`, a manylinux wheel that bundles libFuzzer).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris", reason="atheris is not installed (pip install atheris==3.0.0)")

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "fuzz" / "fuzz_wire.py"
RUNS = 200_000


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_atheris_runs_200k_inputs_without_a_finding(tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        str(TARGET),
        f"-runs={RUNS}",
        "-seed=1",  # the same run every time
        f"-dict={ROOT / 'fuzz' / 'wire.dict'}",
        "-max_len=4096",
        "-timeout=10",  # one input taking 10 s is a hang
        "-rss_limit_mb=2048",
        f"-artifact_prefix={tmp_path}/",
        str(tmp_path / "corpus"),  # seeded by the target, grown by libFuzzer, then deleted
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=540, check=False)
    tail = done.stderr[-3000:]
    assert done.returncode == 0, f"libFuzzer found an input that breaks an invariant:\n{tail}"
    assert f"Done {RUNS} runs" in done.stderr, tail
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("timeout-*"))
