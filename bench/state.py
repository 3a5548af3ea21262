"""Latest-state goal: GET /v1/vehicles/{vin}/state p99 < 2 ms over HTTP while ingesting.

What is measured, precisely: `volta serve` runs as its own process (uvicorn, as deployed) with
MQTT ingest on. Publisher processes (`bench/mqtt.py`'s) send one batch of `--signals` samples
per vehicle per `1/--hz` s through Mosquitto for `--seconds`. Meanwhile this process GETs the
state of a random registered vehicle over one kept-alive HTTP/1.1 connection, `--probe-rate`
times a second, and times each request from the first byte sent to the last byte received:
client, kernel loopback and server together. The first second of publishing is not probed
(warm-up). `--idle` measures the same requests with no ingest, to tell load from base cost.

`--workers N` measures the scale-out deployment instead: `volta serve --workers N` on private
PostgreSQL, NATS and Mosquitto servers (started here, removed at the end). Its API process
does no ingest and no analysis (N gateway workers and the processors process do): it keeps its
twin from the bus and answers. The server's CPU is then reported for the API process and, apart,
for its children (workers and processors).

Reported: state p50/p99/max (ms), the rate the server actually stored (samples/s, from
/v1/ingest/health), stored == sent, and the server's CPU time (user + system, from /proc).
The machine is shared: compare runs made back to back, and read CPU time beside wall time.

    .venv/bin/python bench/state.py [--quick] [--vehicles N] [--hz F] [--idle] [--workers N]

The last stdout line is one JSON object. `--quick` (1,000 vehicles, 8 s) runs in < 30 s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from fleet import cpu_seconds, publish_fleet
from mqtt import BROKER, forget_session, free_port, percentile, vin_of
from volta.devservices import children_of

SERVER_CODE = "import sys; from volta.cli import main; sys.argv[0] = 'volta'; main()"

# `--floor`: the least any HTTP server can do here, one process answering every request with
# the same ~2 KB body from a bare asyncio protocol. Its latency is the machine's (scheduler,
# loopback, neighbours' load), the part of the figure no change to Volta can remove.
FLOOR_CODE = """
import asyncio, sys
BODY = b'{"pad": "' + b'x' * 2100 + b'"}'
HEAD = b'HTTP/1.1 200 OK\\r\\ncontent-type: application/json\\r\\n'
REPLY = HEAD + b'content-length: %d\\r\\n\\r\\n' % len(BODY) + BODY
class P(asyncio.Protocol):
    def connection_made(self, t): self.t, self.buf = t, b''
    def data_received(self, data):
        self.buf += data
        while b'\\r\\n\\r\\n' in self.buf:
            _, self.buf = self.buf.split(b'\\r\\n\\r\\n', 1)
            self.t.write(REPLY)
async def main():
    server = await asyncio.get_running_loop().create_server(P, '127.0.0.1', int(sys.argv[1]))
    await server.serve_forever()
asyncio.run(main())
"""


def cpu_of(pids: list[int]) -> float:
    """`cpu_seconds` summed over `pids` (a process that has gone counts 0)."""
    return sum(cpu_seconds(pid) for pid in pids)


class Http:
    """One kept-alive HTTP/1.1 connection; `get` returns (status, body, seconds). Requests
    take the given tokens in turn: the API limits each credential to ~100 requests/s."""

    def __init__(self, port: int, tokens: list[str]) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb")
        self.auth = [f"Authorization: Bearer {t}\r\n" for t in tokens]
        self.sent = 0

    def get(self, path: str) -> tuple[int, bytes, float]:
        auth = self.auth[self.sent % len(self.auth)]
        self.sent += 1
        request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n{auth}\r\n".encode()
        t = time.perf_counter()
        self.sock.sendall(request)
        status = self.reader.readline()
        length = 0
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = self.reader.read(length)
        elapsed = time.perf_counter() - t
        return int(status.split()[1]), body, elapsed

    def close(self) -> None:
        self.sock.close()


def prepare(data_dir: Path, vehicles: int, tokens: int) -> tuple[list[str], list[str]]:
    """Register the vehicles and issue operator tokens, before the server opens the dir."""
    from volta.registry import Role, SQLiteRegistry

    registry = SQLiteRegistry.open(data_dir)
    try:
        vins = [vin_of(i) for i in range(vehicles)]
        for vin in vins:
            registry.add_vehicle(vin, "bench")
        return [registry.issue_token(Role.OPERATOR).token for _ in range(tokens)], vins
    finally:
        registry.close()


@contextmanager
def deployment(
    args: argparse.Namespace, data_dir: Path, port: int, prefix: str, client_id: str
) -> Iterator[tuple[subprocess.Popen[bytes], tuple[str, int], Any]]:
    """The server under test, the broker its vehicles publish to, and (scale-out) the private
    Mosquitto to wait on for the workers' shared subscriptions (else None)."""
    code = SERVER_CODE
    if args.switch_interval is not None:  # `volta serve` only ever lowers it: a lower one stays
        code = f"import sys; sys.setswitchinterval({args.switch_interval!r}); {code}"
    serve = [
        *("serve", "--data-dir", str(data_dir), "--port", str(port), "--log-level", "warning"),
        *("--mqtt-prefix", prefix, "--mqtt-client-id", client_id),
    ]
    with ExitStack() as stack:
        env = dict(os.environ)
        broker, mosquitto = BROKER, None
        if args.workers:
            from volta.devservices import PrivateMosquitto, PrivateNats, PrivatePostgres
            from volta.store.postgres_store import Server

            pg = stack.enter_context(PrivatePostgres(durable=True))
            nats = stack.enter_context(PrivateNats())
            mosquitto = stack.enter_context(PrivateMosquitto())
            Server(pg.url).migrate()
            env.update(VOLTA_STORE=pg.url, VOLTA_BUS=f"{nats.url}?prefix=state")
            broker = ("127.0.0.1", mosquitto.port)
            serve += ["--workers", str(args.workers)]
        serve += ["--mqtt", f"mqtt://{broker[0]}:{broker[1]}"]
        server = subprocess.Popen([sys.executable, "-c", code, *serve], env=env)
        try:
            yield server, broker, mosquitto
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            if not args.workers:
                forget_session(client_id)


def wait_ready(
    port: int, tokens: list[str], server: subprocess.Popen[bytes], mosquitto: Any, workers: int
) -> Http:
    deadline = time.time() + 30
    while time.time() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            http = Http(port, tokens)
        except OSError:
            time.sleep(0.1)
            continue
        status, body, _ = http.get("/v1/ingest/health")
        if status == 200 and workers:  # the API has no broker: wait for the workers'
            http.close()
            mosquitto.wait_shared_subscriptions(workers)
            return Http(port, tokens)  # uvicorn closes a connection idle for 5 s
        if status == 200 and json.loads(body).get("mqtt", {}).get("connected"):
            return http
        http.close()
        time.sleep(0.1)
    raise SystemExit("the server did not become ready in 30 s")


def stored_batches(http: Http) -> int:
    status, body, _ = http.get("/v1/ingest/health")
    if status != 200:
        raise SystemExit(f"/v1/ingest/health answered {status}: {body[:200]!r}")
    return int(json.loads(body)["stored_batches"])


def probe(http: Http, vins: list[str], rate: float, until: float) -> tuple[list[float], list[int]]:
    """GET a random vehicle's state `rate` times a second until `until` (epoch s): latencies
    in ms and body sizes. Paced by a schedule, not by the answers, so a slow answer does not
    thin out the requests that follow it."""
    latencies: list[float] = []
    sizes: list[int] = []
    rng = random.Random(1)
    period = 1.0 / rate
    next_at = time.perf_counter()
    while time.time() < until:
        status, body, elapsed = http.get(f"/v1/vehicles/{rng.choice(vins)}/state")
        if status != 200:
            raise SystemExit(f"GET /state answered {status}: {body[:200]!r}")
        latencies.append(elapsed * 1000)
        sizes.append(len(body))
        next_at += period
        time.sleep(max(0.0, next_at - time.perf_counter()))
    return latencies, sizes


def summary(latencies: list[float]) -> dict[str, Any]:
    return {
        "state_requests": len(latencies),
        "state_p50_ms": round(percentile(latencies, 0.50), 3),
        "state_p90_ms": round(percentile(latencies, 0.90), 3),
        "state_p99_ms": round(percentile(latencies, 0.99), 3),
        "state_max_ms": round(max(latencies, default=float("nan")), 3),
    }


def run_floor(args: argparse.Namespace) -> dict[str, Any]:
    """The same probe against `FLOOR_CODE`: what this machine allows at best, right now."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", FLOOR_CODE, str(port)])
    try:
        deadline = time.time() + 10
        while True:
            try:
                http = Http(port, ["none"])
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit("the floor server did not start") from None
                time.sleep(0.05)
        start = time.time()
        cpu0 = cpu_seconds(server.pid)
        latencies, _ = probe(http, [vin_of(0)], args.probe_rate, start + args.seconds)
        cpu1 = cpu_seconds(server.pid)
        http.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    window_s = time.time() - start
    return {
        "mode": "floor",
        **summary(latencies),
        "server_cpu_s": round(cpu1 - cpu0, 2),
        "window_s": round(window_s, 2),
        "loadavg_1m": os.getloadavg()[0],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:10]
    prefix = f"volta-bench-{run_id}/v1"
    client_id = f"volta-bench-state-{run_id}"
    data_dir = Path(tempfile.mkdtemp(prefix="volta-bench-state-"))
    # One operator token per 50 requests/s keeps each well under the per-credential limit.
    tokens, vins = prepare(data_dir, args.vehicles, 2 + int(args.probe_rate) // 50)
    port = free_port()
    try:
        with deployment(args, data_dir, port, prefix, client_id) as (server, broker, mosquitto):
            http = wait_ready(port, tokens, server, mosquitto, args.workers)
            ctx = mp.get_context("spawn")
            results: Any = ctx.Queue()
            start_at = time.time() + 2.0  # let the publishers start before the clock runs
            publishers: list[Any] = []
            if not args.idle:
                shares = [vins[i :: args.publishers] for i in range(args.publishers)]
                publishers = [
                    ctx.Process(
                        target=publish_fleet,
                        args=(broker[1], prefix, share, args.signals, args.hz, args.seconds),
                        kwargs={
                            "start_at": start_at,
                            "out": results,
                            "ticks_per_batch": args.ticks_per_batch,
                            "nice": args.publisher_nice,
                        },
                    )
                    for share in shares
                    if share
                ]
                for p in publishers:
                    p.start()
            # Every vehicle has published once by then: each GET returns a full state.
            period = args.ticks_per_batch / args.hz
            time.sleep(max(0.0, start_at + period - time.time()))
            children = children_of(server.pid)
            cpu0, child0, wall0 = cpu_seconds(server.pid), cpu_of(children), time.time()
            batches0 = stored_batches(http)
            latencies, sizes = probe(http, vins, args.probe_rate, start_at + args.seconds - 0.25)
            batches1, wall1 = stored_batches(http), time.time()
            cpu1, child1 = cpu_seconds(server.pid), cpu_of(children)
            outcomes = [results.get(timeout=args.seconds + 60) for _ in publishers]
            for p in publishers:
                p.join(timeout=30)
            sent = sum(o["sent"] for o in outcomes)
            stored, progressed_at = stored_batches(http), time.time()
            while stored < sent and time.time() - progressed_at < 5.0:
                time.sleep(0.1)
                now_stored = stored_batches(http)
                if now_stored > stored:
                    stored, progressed_at = now_stored, time.time()
            http.close()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    window_s = wall1 - wall0
    return {
        "mode": "idle" if args.idle else "ingesting",
        "deployment": f"scale-out, {args.workers} workers" if args.workers else "embedded",
        "vehicles": args.vehicles,
        "signals_per_batch": args.signals,
        "hz": 0.0 if args.idle else args.hz,
        "offered_samples_per_s": 0.0 if args.idle else args.vehicles * args.hz * args.signals,
        "samples_per_message": args.signals * args.ticks_per_batch,
        "ingest_samples_per_s": round(
            (batches1 - batches0) * args.signals * args.ticks_per_batch / window_s, 1
        ),
        "sent_batches": sent,
        "stored_batches": stored,
        "stored_equals_sent": stored == sent,
        **summary(latencies),
        "state_mean_bytes": round(sum(sizes) / max(1, len(sizes))),
        "switch_interval_s": args.switch_interval,
        "server_cpu_s": round(cpu1 - cpu0, 2),
        "server_cpu_share": round((cpu1 - cpu0) / window_s, 3),  # 1.0 = one core busy
        "children_cpu_share": round((child1 - child0) / window_s, 3),  # workers, processors
        "window_s": round(window_s, 2),
        "loadavg_1m": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--hz", type=float, default=1.0, help="batches per vehicle per second")
    parser.add_argument("--signals", type=int, default=20, choices=range(1, 21), metavar="1..20")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the fleet publishes")
    parser.add_argument("--publishers", type=int, default=2, help="publisher processes")
    parser.add_argument("--probe-rate", type=float, default=500.0, help="GET /state per second")
    parser.add_argument(
        "--ticks-per-batch",
        type=int,
        default=1,
        help="ticks of samples per message (bench/fleet.py's): 5 = 100-sample messages every 5 s",
    )
    parser.add_argument(
        "--publisher-nice",
        type=int,
        default=10,
        help="CPU niceness of the simulated cars (below the platform, as if elsewhere)",
    )
    parser.add_argument("--idle", action="store_true", help="no ingest: the base latency")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="scale-out: `volta serve --workers N` on private PostgreSQL, NATS and Mosquitto",
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        help="the server's GIL switch interval in s (default: what the gateway sets, 0.0005)",
    )
    parser.add_argument(
        "--floor", action="store_true", help="probe a bare asyncio server: the machine's floor"
    )
    parser.add_argument("--quick", action="store_true", help="8 s of publishing (< 30 s in all)")
    args = parser.parse_args()
    if args.quick:
        args.seconds = min(args.seconds, 8.0)
    if args.floor:
        result = run_floor(args)
        for key, value in result.items():
            print(f"{key:>24}: {value}", file=sys.stderr)
        print(json.dumps(result))
        return
    if not args.workers:
        try:
            with socket.create_connection(BROKER, timeout=1):
                pass
        except OSError:
            where = f"{BROKER[0]}:{BROKER[1]}"
            print(f"no MQTT broker on {where}; run `make services`", file=sys.stderr)
            raise SystemExit(2) from None
    result = run(args)
    for key, value in result.items():
        print(f"{key:>24}: {value}", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
