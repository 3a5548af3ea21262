"""Fleet through the real broker: N simulated vehicles → Mosquitto → gateway → store + twin.

Publisher processes stand in for the vehicles (each drives a share of them over one MQTT
connection) and publish one batch of `--signals` samples per vehicle per `1/--hz` s, stamped
with the publish wall time. The gateway runs in this process with its HTTP API on uvicorn, as
`volta serve` does. Measured:

- messages/s and samples/s stored, and stored == sent (batches and samples) at the end;
- publish → twin latency: wall time at the twin update minus the batch's publish stamp;
- latest-state latency: a separate process GETs /v1/vehicles/{vin}/state over a kept-alive
  connection while the fleet publishes (the p99 < 2 ms goal is for this number).

The last stdout line is one JSON object. `--quick` runs in under 30 s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

BROKER = ("127.0.0.1", 1883)
SIGNALS: list[tuple[str, Callable[[random.Random], Any]]] = [
    ("Vehicle.Speed", lambda r: round(r.uniform(0, 130), 1)),
    (
        "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current",
        lambda r: round(r.uniform(5, 95), 1),
    ),
    ("Vehicle.Powertrain.TractionBattery.CurrentVoltage", lambda r: round(r.uniform(350, 400), 1)),
    ("Vehicle.Powertrain.TractionBattery.CurrentCurrent", lambda r: round(r.uniform(-200, 300), 1)),
    (
        "Vehicle.Powertrain.TractionBattery.Temperature.Average",
        lambda r: round(r.uniform(10, 40), 1),
    ),
    ("Vehicle.CurrentLocation.Latitude", lambda r: round(r.uniform(47, 55), 6)),
    ("Vehicle.CurrentLocation.Longitude", lambda r: round(r.uniform(6, 15), 6)),
    ("Vehicle.CurrentLocation.Heading", lambda r: round(r.uniform(0, 359), 1)),
    ("Vehicle.Exterior.AirTemperature", lambda r: round(r.uniform(-10, 35), 1)),
    ("Vehicle.Cabin.HVAC.AmbientAirTemperature", lambda r: round(r.uniform(15, 25), 1)),
    ("Vehicle.Acceleration.Longitudinal", lambda r: round(r.uniform(-3, 3), 2)),
    ("Vehicle.Acceleration.Lateral", lambda r: round(r.uniform(-3, 3), 2)),
    ("Vehicle.AngularVelocity.Yaw", lambda r: round(r.uniform(-30, 30), 2)),
    ("Vehicle.Chassis.SteeringWheel.Angle", lambda r: r.randint(-90, 90)),
    ("Vehicle.Chassis.Accelerator.PedalPosition", lambda r: r.randint(0, 100)),
    ("Vehicle.Chassis.Brake.PedalPosition", lambda r: r.randint(0, 100)),
    ("Vehicle.TraveledDistance", lambda r: r.randint(0, 100_000_000)),
    ("Vehicle.Powertrain.Range", lambda r: r.randint(0, 500000)),
    ("Vehicle.IsMoving", lambda r: r.random() < 0.5),
    ("Vehicle.Powertrain.TractionBattery.Charging.IsCharging", lambda r: r.random() < 0.2),
]


def vin_of(i: int) -> str:
    return f"VTBENCH{i:010d}"


# -- latest-state prober process --------------------------------------------------------------


def probe_state(
    port: int, tokens: list[str], vins: list[str], start_at: float, seconds: float, out: Any
) -> None:
    """GET /state over one kept-alive HTTP/1.1 connection, ~500 times/s; latencies in ms.
    Requests take the tokens in turn: the API limits each credential to ~100 requests/s."""
    time.sleep(max(0.0, start_at - time.time()))
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = sock.makefile("rb")
    rng = random.Random(1)
    latencies: list[float] = []
    sizes: list[int] = []
    end = start_at + seconds
    while time.time() < end:
        vin = rng.choice(vins)
        token = tokens[len(latencies) % len(tokens)]
        request = (
            f"GET /v1/vehicles/{vin}/state HTTP/1.1\r\nHost: bench\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()
        t = time.perf_counter()
        sock.sendall(request)
        status = reader.readline()
        length = 0
        while (line := reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = reader.read(length)
        latencies.append((time.perf_counter() - t) * 1000)
        if not status.startswith(b"HTTP/1.1 200"):
            out.put(
                {"error": status.decode(errors="replace") + body[:200].decode(errors="replace")}
            )
            return
        sizes.append(len(body))
        time.sleep(0.002)
    sock.close()
    out.put({"latencies": latencies, "mean_bytes": statistics.fmean(sizes) if sizes else 0})


# -- the gateway side -------------------------------------------------------------------------


def forget_session(client_id: str) -> None:
    """Make the broker drop the benchmark gateway's persistent session."""
    from volta.mqtt import BrokerAddress, end_session

    end_session(BrokerAddress(*BROKER, tls=False), client_id)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(args: argparse.Namespace) -> dict[str, Any]:
    import uvicorn

    from volta.api import create_app
    from volta.api.state import present
    from volta.config import Settings
    from volta.ingest.mqtt import MqttTransport
    from volta.platform import Platform
    from volta.registry import Role
    from volta.tuning import tune_for_ingest
    from volta.twin import Changes

    run_id = uuid.uuid4().hex[:10]
    prefix = f"volta-bench-{run_id}/v1"
    data_dir = Path(tempfile.mkdtemp(prefix="volta-bench-mqtt-"))
    overrides: dict[str, Any] = {
        "data_dir": data_dir,
        "mqtt": f"mqtt://{BROKER[0]}:{BROKER[1]}",
        "mqtt_topic_prefix": prefix,
        "mqtt_client_id": f"volta-bench-gw-{run_id}",
    }
    settings = Settings(**overrides)
    platform = Platform(settings)
    vins = [vin_of(i) for i in range(args.vehicles)]
    for vin in vins:  # registered like real vehicles: the gateway refuses unknown VINs
        platform.registry.add_vehicle(vin, "bench")
    latencies: list[float] = []

    def on_change(vin: str, changes: Changes) -> None:
        now = time.time() * 1000
        newest = max(v.ts_ms for v in changes.values())
        latencies.append(now - newest)

    for vin in vins:
        platform.twin.subscribe(vin, on_change)
    operators = [platform.registry.issue_token(Role.OPERATOR).token for _ in range(12)]
    tune_for_ingest()  # as `volta serve` does
    platform.start()
    assert isinstance(platform.mqtt, MqttTransport) and platform.mqtt.connected, (
        "broker not reached"
    )

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(platform), host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
    )
    server_thread = threading.Thread(target=server.run, daemon=True)
    server_thread.start()
    while not server.started:
        time.sleep(0.01)

    ctx = mp.get_context("spawn")
    results: Any = ctx.Queue()
    start_at = time.time() + 2.0  # let every process start before the clock runs
    shares = [vins[i :: args.publishers] for i in range(args.publishers)]
    from fleet import publish_fleet  # bench/fleet.py's publishers (fleet imports this module)

    procs = [
        ctx.Process(
            target=publish_fleet,
            args=(BROKER[1], prefix, share, args.signals, args.hz, args.seconds, start_at, results),
        )
        for share in shares
        if share
    ]
    prober = ctx.Process(
        target=probe_state,
        args=(port, operators, vins, start_at + 1.0, max(1.0, args.seconds - 1.5), results),
    )
    for p in (*procs, prober):
        p.start()

    twin_reads: list[float] = []

    def read_twin() -> None:
        """What the state route does past HTTP, timed in the gateway's own process."""
        rng = random.Random(2)
        time.sleep(max(0.0, start_at + 1.0 - time.time()))
        while time.time() < start_at + args.seconds - 0.5:
            vin = rng.choice(vins)
            t = time.perf_counter()
            present(platform.catalog, platform.twin.get(vin))
            twin_reads.append((time.perf_counter() - t) * 1000)
            time.sleep(0.002)

    reader = threading.Thread(target=read_twin, daemon=True)
    reader.start()
    outcomes = [results.get(timeout=args.seconds + 120) for _ in range(len(procs) + 1)]
    for p in (*procs, prober):
        p.join(timeout=30)
    publishing_s = time.time() - start_at
    reader.join(timeout=5)

    sent = sum(o["sent"] for o in outcomes if "sent" in o)
    broker_acked = sum(o["acked"] for o in outcomes if "acked" in o)
    probe = next(o for o in outcomes if "latencies" in o or "error" in o)
    if "error" in probe:
        raise SystemExit(f"state probe failed: {probe['error']}")

    # Wait for the backlog to drain; give up after 5 s without progress (messages the broker
    # dropped never come), and time the rate to the last progress seen.
    stored, progressed_at = platform.store.stats().batches, time.time()
    while stored < sent and time.time() - progressed_at < 5.0:
        time.sleep(0.1)
        now_stored = platform.store.stats().batches
        if now_stored > stored:
            stored, progressed_at = now_stored, time.time()
    drained_s = progressed_at - start_at
    stats = platform.store.stats()
    server.should_exit = True
    server_thread.join(timeout=10)
    mqtt_stats = (platform.mqtt.received, platform.mqtt.acked)
    commit_n = platform.metrics_registry.get_sample_value("volta_ingest_commit_seconds_count") or 0
    commit_s = platform.metrics_registry.get_sample_value("volta_ingest_commit_seconds_sum") or 0
    platform.stop()
    forget_session(settings.mqtt_client_id)
    shutil.rmtree(data_dir, ignore_errors=True)

    state_lat = probe["latencies"]
    return {
        "vehicles": args.vehicles,
        "signals_per_batch": args.signals,
        "hz": args.hz,
        "seconds": args.seconds,
        "publishers": len(procs),
        "sent": sent,
        "broker_acked": broker_acked,
        "stored_batches": stats.batches,
        "stored_samples": stats.samples,
        "gateway_received": mqtt_stats[0],
        "gateway_acked": mqtt_stats[1],
        "messages_per_s": round(stats.batches / drained_s, 1),
        "samples_per_s": round(stats.samples / drained_s, 1),
        "offered_messages_per_s": round(sent / publishing_s, 1),
        "commits": int(commit_n),
        "commit_mean_ms": round(1000 * commit_s / commit_n, 2) if commit_n else None,
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies, default=float("nan")), 2),
        "state_requests": len(state_lat),
        "state_p50_ms": round(percentile(state_lat, 0.50), 3),
        "state_p99_ms": round(percentile(state_lat, 0.99), 3),
        "state_mean_bytes": round(probe["mean_bytes"]),
        "twin_read_p50_ms": round(percentile(twin_reads, 0.50), 3),
        "twin_read_p99_ms": round(percentile(twin_reads, 0.99), 3),
        "stored_equals_sent": stats.batches == sent and stats.samples == sent * args.signals,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vehicles", type=int, default=10_000)
    parser.add_argument("--hz", type=float, default=1.0, help="batches per vehicle per second")
    parser.add_argument(
        "--signals", type=int, default=20, choices=range(1, len(SIGNALS) + 1), metavar="1..20"
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the fleet publishes")
    parser.add_argument("--publishers", type=int, default=2, help="publisher processes")
    parser.add_argument(
        "--quick", action="store_true", help="1,000 vehicles for 10 s (< 30 s in all)"
    )
    args = parser.parse_args()
    if args.quick:
        args.vehicles, args.seconds = min(args.vehicles, 1000), min(args.seconds, 10.0)
    try:
        with socket.create_connection(BROKER, timeout=1):
            pass
    except OSError:
        print(f"no MQTT broker on {BROKER[0]}:{BROKER[1]}; run `make services`", file=sys.stderr)
        raise SystemExit(2) from None
    result = run(args)
    for key, value in result.items():
        print(f"{key:>24}: {value}", file=sys.stderr)
    if result["gateway_received"] < result["broker_acked"]:
        print(
            f"the broker dropped {result['broker_acked'] - result['gateway_received']} messages "
            "for the gateway's session: the gateway fell behind and Mosquitto's "
            "max_queued_messages (default 1000) overflowed; offer less load (fewer --vehicles) "
            "or raise it (docs/api.md)",
            file=sys.stderr,
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
