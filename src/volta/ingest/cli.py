"""`volta send FILE`: publish one batch file as a vehicle would, for debugging.
`volta gateway`: one gateway worker process (scale-out; see volta.workers)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer


def media_type(payload: bytes) -> str:
    """JSON batches start with `{`; anything else is taken for MessagePack."""
    return "application/json" if payload.lstrip()[:1] == b"{" else "application/msgpack"


def send(
    file: Annotated[Path, typer.Argument(help="a batch, JSON or MessagePack", exists=True)],
    vin: Annotated[str, typer.Option(help="the vehicle sending it")],
    token: Annotated[str, typer.Option(help="the vehicle's token", envvar="VOLTA_TOKEN")],
    url: Annotated[str, typer.Option(help="API base URL")] = "http://127.0.0.1:8000",
    mqtt: Annotated[str | None, typer.Option(help="send over MQTT to this broker instead")] = None,
    mqtt_prefix: Annotated[str, typer.Option(help="topic root")] = "volta/v1",
    timeout: Annotated[float, typer.Option(help="seconds to wait for the answer")] = 10.0,
) -> None:
    """Send FILE over HTTP (prints the API's answer) or MQTT QoS 1 (prints the PUBACK)."""
    payload = file.read_bytes()
    if mqtt:
        answer = _publish_mqtt(payload, vin, token, mqtt, mqtt_prefix, timeout)
        typer.echo(json.dumps(answer))
        raise typer.Exit(0 if answer.get("acknowledged") else 1)
    import httpx

    response = httpx.post(
        f"{url.rstrip('/')}/v1/vehicles/{vin}/telemetry",
        content=payload,
        headers={"Authorization": f"Bearer {token}", "Content-Type": media_type(payload)},
        timeout=timeout,
    )
    typer.echo(response.text)
    if response.is_error:
        print(f"HTTP {response.status_code}", file=sys.stderr)
        raise typer.Exit(1)


def _publish_mqtt(
    payload: bytes, vin: str, token: str, url: str, prefix: str, timeout: float
) -> dict[str, object]:
    from volta.mqtt import BrokerAddress, connect, new_client
    from volta.wire import telemetry_topic

    # The broker's ACL knows a vehicle by its username; the token is its password.
    address = BrokerAddress.parse(url).signed_in_as(vin, token)
    client = new_client(address)
    connect(client, address, background=False)
    topic = telemetry_topic(vin, prefix.rstrip("/"))
    try:
        info = client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout)
        return {
            "topic": topic,
            "mid": info.mid,
            "bytes": len(payload),
            "acknowledged": info.is_published(),
        }
    finally:
        client.disconnect()
        client.loop_stop()


def gateway(
    index: Annotated[int, typer.Option(help="worker number: its MQTT session is CLIENT_ID-INDEX")],
    workers: Annotated[
        int, typer.Option(help="how many workers share the telemetry shards (1 to 64)")
    ] = 1,
    mqtt: Annotated[str | None, typer.Option(help="broker URL; default: VOLTA_MQTT")] = None,
    store: Annotated[str | None, typer.Option(help="postgresql://…; default: VOLTA_STORE")] = None,
    bus: Annotated[str | None, typer.Option(help="nats://…; default: VOLTA_BUS")] = None,
    accept_unregistered: Annotated[
        bool, typer.Option(hidden=True, help="benchmarks only: store unknown VINs")
    ] = False,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
) -> None:
    """Run gateway worker INDEX of WORKERS: its telemetry shards (MQTT) → gateway → PostgreSQL
    + NATS. No API, no processors; run all N (or `volta serve --workers N`)."""
    from volta import logs
    from volta.config import Settings
    from volta.workers import run_worker

    logs.configure(log_level)
    given: dict[str, Any] = {"mqtt": mqtt, "store": store, "bus": bus}
    settings = Settings(**{k: v for k, v in given.items() if v is not None})
    run_worker(settings, index, workers=workers, require_registered=not accept_unregistered)


def register(app: typer.Typer) -> None:
    app.command("send")(send)
    app.command("gateway")(gateway)
