"""`volta workshops add|list|slots` and `volta notifications dead-letters|replay` on a data
dir: what an operator sets up from the shell, with bad input refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from volta.cli import _register_all, app
from volta.registry import SQLiteRegistry
from volta.service.outbox import Outbox


def _run(*args: str) -> tuple[int, str]:
    _register_all()
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_an_operator_adds_and_lists_workshops(tmp_path: Path) -> None:
    hours = json.dumps({"sat": [["09:00", "13:00"]]})
    code, out = _run("workshops", "add", "Weekend Garage", "--org", "north", "--bays", "3",
                     "--slot-minutes", "30", "--timezone", "Europe/Helsinki", "--hours", hours,
                     "--data-dir", str(tmp_path))  # fmt: skip
    assert code == 0, out
    added = json.loads(out)
    assert added["bays"] == 3 and added["hours"] == {"sat": [["09:00", "13:00"]]}
    code, out = _run("workshops", "list", "--data-dir", str(tmp_path))
    assert code == 0 and [json.loads(ln)["id"] for ln in out.splitlines()] == [added["id"]]
    code, out = _run("workshops", "slots", added["id"], "--limit", "3", "--data-dir", str(tmp_path))
    slots = [json.loads(ln) for ln in out.splitlines()]
    assert (
        code == 0 and len(slots) == 3 and slots[1]["start_ms"] - slots[0]["start_ms"] == 1_800_000
    )
    code, out = _run("workshops", "add", "Bad", "--org", "north", "--timezone", "Nowhere/City",
                     "--data-dir", str(tmp_path))  # fmt: skip
    assert code == 1 and "unknown time zone" in out
    code, out = _run(
        "workshops", "add", "Bad", "--org", "no such org!", "--data-dir", str(tmp_path)
    )
    assert code == 1 and "invalid organisation" in out


def test_dead_letters_are_listed_and_replayed(tmp_path: Path) -> None:
    registry = SQLiteRegistry.open(tmp_path)
    outbox = Outbox(registry.database)
    hook, _ = outbox.add_webhook("http://127.0.0.1:9/", ("*",), None, 0)
    [dead] = outbox.enqueue([("webhook", hook.id, "case.opened", {"case": "c1"})], 0)
    outbox.failed(dead, 8, "HTTP 500 from the endpoint", None, 1)
    registry.close()
    code, out = _run("notifications", "dead-letters", "--data-dir", str(tmp_path))
    assert code == 0 and json.loads(out)["id"] == dead and json.loads(out)["attempts"] == 8
    code, out = _run("notifications", "replay", dead, "--data-dir", str(tmp_path))
    assert code == 0 and json.loads(out) == {"id": dead, "state": "pending"}
    code, out = _run("notifications", "replay", dead, "--data-dir", str(tmp_path))
    assert code == 1 and "only dead ones are replayed" in out
