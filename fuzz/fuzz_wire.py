"""Atheris (libFuzzer) target over the telemetry decode + validate path.

Each input goes through `tests/hardening/harness.py::check_input`: the JSON and MessagePack
decoder and the whole ingest preparation (decode, header and VIN checks, catalog validation),
with the same invariants as the hypothesis fuzz tests. Volta's own modules are instrumented for
coverage guidance; msgspec is a C extension and is fuzzed as a black box.

    .venv/bin/python fuzz/fuzz_wire.py -runs=200000 -seed=1     # what the test runs
    .venv/bin/python fuzz/fuzz_wire.py -max_total_time=600 /tmp/volta-corpus  # a longer hunt

An empty (or new) corpus directory is seeded with the valid batches of
`tests/hardening/mutate.py` (the golden vectors of docs/wire-format.md and one batch per VSS
datatype); with none given, a temporary one is. A crash is an input that
broke an invariant; libFuzzer writes it to `crash-<sha1>` (see `-artifact_prefix=`).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

with atheris.instrument_imports(include=["volta", "hardening"]):
    from hardening.harness import check_input, fuzz_catalog
    from hardening.mutate import corpus


def test_one_input(data: bytes) -> None:
    """One libFuzzer input: an AssertionError or any escaping exception is a finding."""
    check_input(data)


def main(argv: list[str]) -> None:
    fuzz_catalog()  # built once, before the clock of the first input starts
    args = list(argv)
    dirs = [Path(a) for a in args[1:] if not a.startswith("-")]
    if not dirs:  # no corpus directory: a fresh one (libFuzzer adds what it finds to it)
        dirs = [Path(tempfile.mkdtemp(prefix="volta-fuzz-corpus-"))]
        args.append(str(dirs[0]))
    for found in dirs:
        found.mkdir(parents=True, exist_ok=True)
        if not any(found.iterdir()):  # seed an empty corpus with the valid batches
            for i, data in enumerate(corpus()):
                (found / f"seed-{i:03d}").write_bytes(data)
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
