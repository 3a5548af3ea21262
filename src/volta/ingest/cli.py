"""`volta send FILE`: publish one batch file as a vehicle would, for debugging."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

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
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from volta.ingest.mqtt import BrokerAddress

    address = BrokerAddress.parse(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    # The broker's ACL knows a vehicle by its username; the token is its password.
    client.username_pw_set(vin, token)
    if address.tls:
        client.tls_set()
    client.connect(address.host, address.port)
    client.loop_start()
    topic = f"{prefix.rstrip('/')}/{vin}/telemetry"
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


def register(app: typer.Typer) -> None:
    app.command("send")(send)
