"""The same check-in over real HTTP on 127.0.0.1, with python-tuf's default fetcher."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from volta.ota.director import Assignment
from volta.ota.primary import Primary, State

from .otakit import VIN, Ota, ecus


@pytest.fixture
def server(ota: Ota) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = ota.files.get(self.path)
            self.send_response(200 if data is not None else 404)
            self.send_header("Content-Length", str(len(data or b"")))
            self.end_headers()
            self.wfile.write(data or b"")

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_car_updates_over_http(ota: Ota, server: str, state: Callable[[str], Path]) -> None:
    target = ota.image.add_image("acme", "bms", "bms-nmc-96s", "1.1.0", b"bms 1.1.0" * 1000)
    ota.director.assign(VIN, [Assignment("BMS-0001", target)])
    primary = Primary(VIN, ecus(), state("car"), ota.image_root(), ota.director_root(), server)
    assert [s.state for s in primary.check_in()] == [
        State.DOWNLOADING,
        State.INSTALLING,
        State.SUCCEEDED,
    ]
    assert primary.ecus["BMS-0001"].running.version == "1.1.0"
