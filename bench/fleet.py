"""The scale-out pipeline end to end, and the embedded one for comparison.

Scale-out: publisher processes (the vehicles) → Mosquitto → N gateway worker processes
(`volta gateway`, each on its telemetry shards) → PostgreSQL + NATS JetStream → the API
process's twin (this process, following the bus as `volta serve --workers N` does).
Embedded: the same publishers → Mosquitto → one process (gateway, DuckDB, in-process bus, twin).

Each vehicle publishes ONE batch of `--signals` samples per `1/--hz` s (QoS 1), stamped with
the publish wall time: 10,000 vehicles x 20 signals at 1 Hz is 10,000 messages/s and 200,000
samples/s. Batching a tick's signals into one message is what a telematics unit does, and it
keeps the broker's per-message cost (the part no worker count can spread) at 10k/s instead
of 200k/s. `--ticks-per-batch K` sends K ticks' samples per message every K/--hz s instead
(the simulator's cars send 10 s per batch by default): the same samples/s in 1/K of the
messages; latency is still measured from publish to twin.

Priorities: the simulated cars run at nice `--publisher-nice` (10), below the platform, as if
they were elsewhere: on this 2-core machine they take ~30 % of the CPU, and at equal priority
they preempt the workers whose latency is being measured. The run still reports whether they
offered the full load (`offered_messages_per_s`, `publisher_late`). Gateway workers run at
`--worker-nice` (0, the platform's priority; `volta serve` defaults to 5, see
docs/deployment.md).

All servers are private (started here on free ports, removed at the end), so the figures do
not include other users' traffic and restarting nothing of theirs: Mosquitto with
max_queued_messages 0 (unlimited) and max_inflight_messages 0 (the subscribers' Receive
Maximum decides; the default of 1000 queued drops messages for a worker that falls behind),
NATS with JetStream, PostgreSQL with its default (durable) settings.

Measured: messages/s and samples/s stored (over the time to the last stored batch), stored ==
sent, p50/p99/max publish → twin latency (sampled vehicles), CPU seconds per component
(from /proc/<pid>/stat: workers, Mosquitto, NATS, PostgreSQL (postmaster and its backends),
the API process; publishers report their own), and the garbage-collection pauses of this
process (`api_gc`: the scale-out API process, which applies the workers' commits to the twin,
runs here as `volta serve --workers N` runs it: platform started, interpreter tuned).

    .venv/bin/python bench/fleet.py --quick
    .venv/bin/python bench/fleet.py            # 10,000 vehicles x 20 signals, 1 Hz, 300 s

The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
import psycopg

from mqtt import SIGNALS, percentile, vin_of  # bench/mqtt.py: the same signals and VINs
from volta.clock import wall_ms
from volta.devservices import PrivateMosquitto, PrivateNats, PrivatePostgres, children_of
from volta.wire import telemetry_topic

CLK_TCK = os.sysconf("SC_CLK_TCK")
# Published, not yet acknowledged by the broker, per publisher: past 65,535 paho refuses
# publishes (its message ids wrap around), so a publisher waits instead.
MAX_OUTSTANDING = 30_000
# See `publish_fleet`.
BURST_S = 0.02
VALUE_POOL = 256


# -- publishers ---------------------------------------------------------------------------


def publish_fleet(
    port: int,
    prefix: str,
    vins: list[str],
    n_signals: int,
    hz: float,
    seconds: float,
    start_at: float,
    out: Any,
    ticks_per_batch: int = 1,
    nice: int = 0,
) -> None:
    """One MQTT connection publishing for `vins`, each sampling at `hz` and sending a batch of
    `ticks_per_batch` ticks' samples every `ticks_per_batch / hz` s, spread evenly over that
    period; a batch's newest samples are stamped with its publish time. A publisher that
    falls behind (the machine is busy) does not catch up forever: it stops `seconds` + 30 s
    after the start, and counts the ticks it was late for.

    The rig is kept cheap, because it shares the platform's two cores: it sleeps only when the
    next batch is more than `BURST_S` ahead (sending what is due in that window at once; each
    wake-up of the publisher and of paho's network thread costs more than a publish), and it
    draws each batch's values from a pool of `VALUE_POOL` pre-encoded sample lists instead of
    drawing and encoding 100 random values per message. The platform's work per message is
    the same: every batch is decoded and checked in full. Both cut the rig's CPU ~3x
    (measured: 2.6 -> 0.86 s for 6,666 100-sample batches)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

    os.nice(nice)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"fleet-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(2000)
    client.max_queued_messages_set(0)
    acked = [0]  # written by the network thread only

    def on_publish(c: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        acked[0] += 1

    client.on_publish = on_publish
    client.connect("127.0.0.1", port, keepalive=300)  # a starved loop must not time out
    client.loop_start()
    rng = random.Random(os.getpid())
    signals = SIGNALS[:n_signals]
    encoder = msgspec.msgpack.Encoder()
    seqs = dict.fromkeys(vins, 0)
    period = ticks_per_batch / hz
    step = period / max(1, len(vins))
    offsets = [round(j * 1000 / hz) for j in range(ticks_per_batch)]
    pool = [
        msgspec.Raw(encoder.encode([[o, path, gen(rng)] for o in offsets for path, gen in signals]))
        for _ in range(VALUE_POOL)
    ]
    sent = late = refused = 0
    queued = (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN)
    time.sleep(max(0.0, start_at - time.time()))
    cpu0 = time.process_time()
    end = start_at + seconds
    tick = start_at
    while tick < end and time.time() < end + 30:
        for k, vin in enumerate(vins):
            due = tick + k * step
            delay = due - time.time()
            if delay > BURST_S:
                time.sleep(delay)
            elif delay < -period:
                late += 1  # this publisher cannot keep up with its share
            while sent - acked[0] > MAX_OUTSTANDING and time.time() < end + 30:
                time.sleep(0.005)  # back-pressure: paho's 16-bit message ids would collide
            seqs[vin] += 1
            body = {
                "v": 1,
                "vin": vin,
                "seq": seqs[vin],
                "ts": wall_ms() - offsets[-1],
                "samples": pool[seqs[vin] % VALUE_POOL],
            }
            info = client.publish(telemetry_topic(vin, prefix), encoder.encode(body), qos=1)
            if info.rc in queued:
                sent += 1
            else:
                refused += 1
        tick += period
    deadline = time.time() + 60
    while acked[0] < sent and time.time() < deadline:
        time.sleep(0.1)
    cpu = time.process_time() - cpu0
    client.disconnect()
    client.loop_stop()
    out.put({"sent": sent, "acked": acked[0], "late": late, "refused": refused, "cpu_s": cpu})


# -- CPU accounting -----------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (its own, not its children's), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class CpuMeter:
    """CPU seconds per component between `start()` and `stop()`; a component is a function
    returning its current pids (PostgreSQL's backends come and go)."""

    def __init__(self, components: dict[str, Callable[[], list[int]]]) -> None:
        self.components = components
        self._start: dict[int, float] = {}
        self.result: dict[str, float] = {}

    def start(self) -> None:
        self._start = {p: cpu_seconds(p) for f in self.components.values() for p in f()}

    def stop(self) -> None:
        for name, pids in self.components.items():
            self.result[name] = round(
                sum(cpu_seconds(p) - self._start.get(p, 0.0) for p in pids()), 2
            )


# -- the two pipelines --------------------------------------------------------------------


class Latency:
    """publish → twin latency of sampled vehicles: a twin listener per sampled VIN. Each value
    is kept with its batch's publish time, so that the run's first and last minute (a fresh
    platform's warm-up against its steady state) can be told apart."""

    def __init__(self) -> None:
        self.samples: list[tuple[int, float]] = []  # (publish time in ms, latency in ms)

    def listen(self, twin: Any, vins: list[str]) -> None:
        def on_change(vin: str, changes: Any) -> None:
            newest = max(v.ts_ms for v in changes.values())
            # One tuple appended at once: listeners run in several threads.
            self.samples.append((newest, time.time() * 1000 - newest))

        for vin in vins:
            twin.subscribe(vin, on_change)

    def between(self, start_s: float, end_s: float) -> list[float]:
        """Latencies of the batches published in [start_s, end_s) (wall-clock seconds)."""
        lo, hi = start_s * 1000, end_s * 1000
        return [lat for at, lat in self.samples if lo <= at < hi]

    @property
    def all(self) -> list[float]:
        return [lat for _, lat in self.samples]


class GcPauses:
    """This process's garbage collections while it runs (the API process's, which applies the
    workers' commits to the twin): a full collection holds the GIL for as long as it walks
    the tracked objects, and every batch waiting for the twin waits that long."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []  # (generation, wall ms)
        self._started = 0.0

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], (time.perf_counter() - self._started) * 1000))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._on_gc)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._on_gc)

    def figures(self) -> dict[str, Any]:
        full = [ms for g, ms in self.pauses if g == 2]
        return {
            "collections": [sum(1 for g, _ in self.pauses if g == k) for k in range(3)],
            "pause_ms_total": round(sum(ms for _, ms in self.pauses), 1),
            "max_pause_ms": round(max((ms for _, ms in self.pauses), default=0.0), 1),
            "full_max_pause_ms": round(max(full, default=0.0), 1),
            "tracked_objects": len(gc.get_objects()),
        }


def windows(latency: Latency, start_at: float, seconds: float) -> dict[str, Any]:
    """p99 of the first and of the last minute of publishing (the whole run when it is
    shorter than a minute), and p99 per 10 s window, to show where a tail comes from."""
    minute = min(60.0, seconds)
    first = latency.between(start_at, start_at + minute)
    last = latency.between(start_at + seconds - minute, start_at + seconds)
    tens = [
        round(percentile(latency.between(start_at + t, start_at + t + 10), 0.99), 1)
        for t in range(0, max(1, int(seconds)), 10)
    ]
    return {
        "window_s": minute,
        "first_minute_p99_ms": round(percentile(first, 0.99), 1),
        "first_minute_max_ms": round(max(first, default=float("nan")), 1),
        "last_minute_p99_ms": round(percentile(last, 0.99), 1),
        "last_minute_max_ms": round(max(last, default=float("nan")), 1),
        "p99_per_10s_ms": tens,
    }


@contextmanager
def scale_out(
    args: argparse.Namespace, mosquitto: PrivateMosquitto, latency: Latency, sampled: list[str]
) -> Iterator[tuple[dict[str, Callable[[], list[int]]], Callable[[], tuple[int, int]]]]:
    from volta.config import Settings
    from volta.platform import Platform
    from volta.store.postgres_store import Server
    from volta.supervisor import Supervisor, worker_command
    from volta.tuning import tune_for_ingest

    with PrivatePostgres(durable=True) as pg, PrivateNats() as nats:
        data_dir = Path(tempfile.mkdtemp(prefix="volta-fleet-"))
        settings = Settings(
            data_dir=data_dir,
            store=pg.url,
            bus=f"{nats.url}?prefix=fleet",
            mqtt=mosquitto.url,
            mqtt_topic_prefix=args.prefix,
            mqtt_client_id="fleet-gw",
            background_nice=args.worker_nice,
        )
        Server(pg.url).migrate()
        api_settings = settings.model_copy(update={"mqtt": None})
        platform = Platform(api_settings, require_registered=False, follow_workers=True)
        latency.listen(platform.twin, sampled)
        # This process is `volta serve --workers N`'s API process: its platform runs (the alert
        # log's sync among what it starts) and its interpreter is tuned as serve tunes it once
        # everything is built. Untuned, its full garbage collections walked the start-up heap
        # and the 10,000-vehicle twin (~400,000 objects) on the thread that applies the
        # workers' commits: 120 ms of CPU each on this machine (`api_gc` below).
        platform.start()
        tune_for_ingest()
        supervisor = Supervisor(
            args.workers,
            settings,
            command=lambda i: worker_command(
                i, args.workers, "--accept-unregistered", "--log-level", "warning"
            ),
        )
        try:
            supervisor.start()
            # Until a worker has subscribed, what is published to its shards is dropped. Each
            # sends its shards with the shared subscription of the shard-less topic: count those.
            # A worker subscribes once its store is prepared (imports included: slow from a cold
            # disk or on a busy machine), so the wait is generous.
            mosquitto.wait_shared_subscriptions(args.workers, timeout_s=120.0)
        except BaseException:
            supervisor.stop()
            platform.stop()
            raise

        def pg_pids() -> list[int]:
            root = pg.pid
            return [root, *children_of(root)] if root else []

        components = {
            "workers": supervisor.pids,
            "mosquitto": lambda: [mosquitto.pid] if mosquitto.pid else [],
            "nats": lambda: [nats.pid] if nats.pid else [],
            "postgresql": pg_pids,
            "api_process": lambda: [os.getpid()],
        }

        def stored() -> tuple[int, int]:
            with psycopg.connect(pg.url) as conn:
                row = conn.execute(
                    "SELECT (SELECT count(*) FROM batches), "
                    "(SELECT coalesce(sum(length(signal_ids) / 4), 0) FROM samples)"
                ).fetchone()
            return (int(row[0]), int(row[1])) if row else (0, 0)

        try:
            yield components, stored
        finally:
            supervisor.stop()
            platform.stop()
            shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def embedded(
    args: argparse.Namespace, mosquitto: PrivateMosquitto, latency: Latency, sampled: list[str]
) -> Iterator[tuple[dict[str, Callable[[], list[int]]], Callable[[], tuple[int, int]]]]:
    from volta.config import Settings
    from volta.platform import Platform
    from volta.tuning import tune_for_ingest

    data_dir = Path(tempfile.mkdtemp(prefix="volta-fleet-embedded-"))
    settings = Settings(
        data_dir=data_dir,
        mqtt=mosquitto.url,
        mqtt_topic_prefix=args.prefix,
        mqtt_client_id="fleet-embedded",
    )
    platform = Platform(settings, require_registered=False)
    latency.listen(platform.twin, sampled)
    tune_for_ingest()  # as `volta serve` does
    platform.start()
    components = {
        "mosquitto": lambda: [mosquitto.pid] if mosquitto.pid else [],
        "volta_process": lambda: [os.getpid()],
    }

    def stored() -> tuple[int, int]:
        stats = platform.store.stats()
        return stats.batches, stats.samples

    try:
        yield components, stored
    finally:
        platform.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def run(args: argparse.Namespace, shape: str) -> dict[str, Any]:
    args.prefix = f"fleet-{uuid.uuid4().hex[:8]}/v1"
    vins = [vin_of(i) for i in range(args.vehicles)]
    sampled = vins[:: max(1, args.vehicles // 1000)]
    latency = Latency()
    pipeline = scale_out if shape == "scale_out" else embedded
    with (
        PrivateMosquitto() as mosquitto,
        pipeline(args, mosquitto, latency, sampled) as (
            components,
            stored,
        ),
    ):
        ctx = mp.get_context("spawn")
        results: Any = ctx.Queue()
        start_at = time.time() + 2.0
        shares = [vins[i :: args.publishers] for i in range(args.publishers)]
        procs = []
        for share in shares:
            common = (args.signals, args.hz, args.seconds, start_at, results)
            target_args = (mosquitto.port, args.prefix, share, *common)
            procs.append(
                ctx.Process(
                    target=publish_fleet,
                    args=target_args,
                    kwargs={"ticks_per_batch": args.ticks_per_batch, "nice": args.publisher_nice},
                )
            )
        for p in procs:
            p.start()
        meter = CpuMeter(components)
        time.sleep(max(0.0, start_at - time.time()))
        meter.start()
        with GcPauses() as gc_pauses:
            outcomes = [results.get(timeout=args.seconds + 300) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        publishing_s = time.time() - start_at
        sent = sum(o["sent"] for o in outcomes)
        # Drain: until everything is stored, 15 s without progress, or --drain-limit-s.
        (batches, samples), progressed = stored(), time.time()
        give_up = time.time() + args.drain_limit_s
        while batches < sent and time.time() - progressed < 15 and time.time() < give_up:
            time.sleep(0.5)
            now = stored()
            if now[0] > batches:
                (batches, samples), progressed = now, time.time()
        meter.stop()
        drained_s = progressed - start_at
    lat = latency.all
    return {
        "vehicles": args.vehicles,
        "signals_per_batch": args.signals,
        "hz": args.hz,
        "samples_per_message": args.signals * args.ticks_per_batch,
        "seconds": args.seconds,
        "workers": args.workers if shape == "scale_out" else 1,
        "publishers": len(procs),
        "publisher_nice": args.publisher_nice,
        "worker_nice": args.worker_nice if shape == "scale_out" else None,
        "sent": sent,
        "broker_acked": sum(o["acked"] for o in outcomes),
        "publisher_late": sum(o["late"] for o in outcomes),
        "publisher_refused": sum(o["refused"] for o in outcomes),
        "stored_batches": batches,
        "stored_samples": samples,
        "stored_equals_sent": batches == sent
        and samples == sent * args.signals * args.ticks_per_batch,
        "offered_messages_per_s": round(sent / publishing_s, 1),
        "messages_per_s": round(batches / drained_s, 1),
        "samples_per_s": round(samples / drained_s, 1),
        "drain_after_publishing_s": round(drained_s - publishing_s, 1),
        "not_stored_when_measured": sent - batches,
        "latency_samples": len(lat),
        "p50_ms": round(percentile(lat, 0.50), 1),
        "p99_ms": round(percentile(lat, 0.99), 1),
        "max_ms": round(max(lat, default=float("nan")), 1),
        **windows(latency, start_at, args.seconds),
        "cpu_s": {**meter.result, "publishers": round(sum(o["cpu_s"] for o in outcomes), 2)},
        # this process: the scale-out API process, or the embedded platform
        "api_gc" if shape == "scale_out" else "volta_process_gc": gc_pauses.figures(),
        "wall_s": round(drained_s, 1),
    }


def summary(shape: str, r: dict[str, Any]) -> str:
    """One line a reader compares across runs: the warm-up's tail against the steady state."""
    return (
        f"{shape}: {r['samples_per_s']:,.0f} samples/s, stored == sent: {r['stored_equals_sent']}; "
        f"publish→twin p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, max {r['max_ms']} ms; "
        f"first minute p99 {r['first_minute_p99_ms']} ms (max {r['first_minute_max_ms']}), "
        f"last minute p99 {r['last_minute_p99_ms']} ms (max {r['last_minute_max_ms']}); "
        f"p99 per 10 s: {r['p99_per_10s_ms']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vehicles", type=int, default=10_000)
    parser.add_argument("--signals", type=int, default=20, choices=range(1, len(SIGNALS) + 1))
    parser.add_argument("--hz", type=float, default=1.0, help="batches per vehicle per second")
    parser.add_argument("--seconds", type=float, default=300.0, help="how long the fleet publishes")
    parser.add_argument(
        "--ticks-per-batch",
        type=int,
        default=5,
        help="ticks of samples per message: 5 (default) = 100-sample batches every 5 s; 1 = a "
        "20-sample batch per vehicle per 1/hz s (five times the messages for the same samples: "
        "at 10,000 vehicles more than this machine's simulated cars alone can publish)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gateway worker processes")
    parser.add_argument("--publishers", type=int, default=3, help="publisher processes")
    parser.add_argument(
        "--drain-limit-s", type=float, default=120.0, help="longest wait for the backlog"
    )
    parser.add_argument(
        "--publisher-nice",
        type=int,
        default=10,
        help="CPU niceness of the simulated cars: below the platform's, as if they were "
        "elsewhere; the run still checks that they offered the full load (publisher_late)",
    )
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=0,
        help="VOLTA_BACKGROUND_NICE of the gateway workers (`volta serve` defaults to 5, "
        "which favours the API's answers over ingest latency)",
    )
    parser.add_argument("--only", choices=("scale_out", "embedded"), help="run one shape only")
    parser.add_argument("--quick", action="store_true", help="300 vehicles for 5 s per shape")
    args = parser.parse_args()
    if args.quick:
        args.vehicles, args.seconds = min(args.vehicles, 300), min(args.seconds, 5.0)
        args.publishers = min(args.publishers, 2)
    load = os.getloadavg()
    result: dict[str, Any] = {"load_average_at_start": [round(x, 2) for x in load]}
    for shape in ("scale_out", "embedded"):
        if args.only in (None, shape):
            result[shape] = run(args, shape)
            print(f"{shape}: {json.dumps(result[shape])}", file=sys.stderr)
            print(summary(shape, result[shape]), file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
