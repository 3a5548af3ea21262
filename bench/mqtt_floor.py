"""The machine's MQTT ceiling without Volta: paho publishers → Mosquitto → paho subscribers on
an MQTT 5 shared subscription, QoS 1, fixed payloads, nothing decoded or stored.

It is the part of `bench/fleet.py`'s pipeline that no change to Volta can make cheaper (the
simulated cars publishing with paho, the broker, a worker's MQTT client receiving and
acknowledging), measured alone: if it cannot carry a message rate on this machine, the whole
pipeline cannot either. Two publisher and two subscriber processes on a private Mosquitto
(max_queued_messages 0); each publisher sends `--messages / 2` messages of `--bytes` as fast as
its broker acknowledgements allow (at most 20,000 outstanding).

Reported: messages/s end to end (received / time from the first publish to the last
receipt), CPU seconds per component, and the CPU cost per message.

    .venv/bin/python bench/mqtt_floor.py [--quick] [--messages N] [--bytes B]

The last stdout line is one JSON object. `--quick` (40,000 messages) runs in < 30 s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
import uuid
from typing import Any

from fleet import cpu_seconds
from volta.devservices import PrivateMosquitto

OUTSTANDING = 20_000  # below paho's 65,535 message ids


def publish(port: int, count: int, size: int, start_at: float, out: Any) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"floor-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(2000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    payload = os.urandom(size)
    time.sleep(max(0.0, start_at - time.time()))
    pending = []
    for i in range(count):
        pending.append(client.publish(f"floor/v1/VIN{i % 5000:014d}/telemetry", payload, qos=1))
        if len(pending) > OUTSTANDING:
            pending[0].wait_for_publish(60)
            pending = pending[OUTSTANDING // 2 :]
    for info in pending:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()
    out.put(("pub", os.getpid(), time.process_time()))


def subscribe(port: int, expected: int, out: Any) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    count = [0]
    last = [0.0]  # when the last message came

    def on_message(c: Any, userdata: Any, msg: Any) -> None:
        count[0] += 1
        last[0] = time.time()

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"floor-sub-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv5,
    )
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.subscribe("$share/floor/floor/v1/+/telemetry", qos=1)
    client.loop_start()
    out.put(("ready", os.getpid(), 0.0))
    idle_since = time.time()
    seen = 0
    while time.time() - idle_since < 3.0:  # until 3 s without a message
        time.sleep(0.2)
        if count[0] != seen:
            seen, idle_since = count[0], time.time()
    client.loop_stop()
    out.put(("sub", count[0], last[0], time.process_time()))


def run(messages: int, size: int) -> dict[str, Any]:
    with PrivateMosquitto() as mosquitto:
        ctx = mp.get_context("spawn")
        out: Any = ctx.Queue()
        subs = [ctx.Process(target=subscribe, args=(mosquitto.port, messages, out)) for _ in "ab"]
        for p in subs:
            p.start()
        for _ in subs:
            out.get(timeout=30)
        mosquitto.wait_shared_subscriptions(len(subs))
        start_at = time.time() + 1.0
        pubs = [
            ctx.Process(target=publish, args=(mosquitto.port, messages // 2, size, start_at, out))
            for _ in "ab"
        ]
        broker_cpu0 = cpu_seconds(mosquitto.pid) if mosquitto.pid else 0.0
        for p in pubs:
            p.start()
        results = [out.get(timeout=600) for _ in range(4)]
        broker_cpu = (cpu_seconds(mosquitto.pid) if mosquitto.pid else 0.0) - broker_cpu0
        for p in pubs + subs:
            p.join(timeout=30)
    got = sum(r[1] for r in results if r[0] == "sub")
    last = max(r[2] for r in results if r[0] == "sub")
    wall = last - start_at
    cpu = {
        "publishers": round(sum(r[2] for r in results if r[0] == "pub"), 2),
        "subscribers": round(sum(r[3] for r in results if r[0] == "sub"), 2),
        "mosquitto": round(broker_cpu, 2),
    }
    return {
        "messages": messages,
        "payload_bytes": size,
        "received": got,
        "received_equals_sent": got == messages // 2 * 2,
        "wall_s": round(wall, 2),
        "messages_per_s": round(got / wall),
        "cpu_s": cpu,
        "cpu_us_per_message": round(sum(cpu.values()) / max(1, got) * 1e6),
        "cores": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--bytes", type=int, default=600, help="payload (a 20-sample batch: ~600)")
    parser.add_argument("--quick", action="store_true", help="40,000 messages")
    args = parser.parse_args()
    result = run(40_000 if args.quick else args.messages, args.bytes)
    for key, value in result.items():
        print(f"{key:>22}: {value}", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
