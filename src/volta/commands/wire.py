"""The command wire format (JSON, v1): what the platform sends a vehicle and what it answers.

    platform → vehicle   {prefix}/{vin}/cmd       CommandMessage
    vehicle → platform   {prefix}/{vin}/cmd/ack   CommandAck   (or POST …/commands/{id}/ack)

`docs/commands.md` describes both with examples. Kept free of platform imports: the simulator
(the vehicle side) uses it too.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from volta.wire.vin import is_valid_vin

__all__ = [
    "CommandAck",
    "CommandMessage",
    "ack_topic",
    "ack_topic_filter",
    "cmd_topic",
    "cmd_topic_filter",
    "decode_ack",
    "decode_message",
    "encode",
    "vin_from_ack_topic",
]

MAX_MESSAGE_BYTES = 16 * 1024


class CommandMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A command for a vehicle: set each actuator in `targets` to its value, unless the wall
    clock has passed `expires_ms`; then answer with a `CommandAck` carrying the same `id`."""

    v: int = 1
    id: str
    vin: str
    type: str
    value: Any = None
    targets: dict[str, Any] = msgspec.field(default_factory=dict)
    issued_ms: int
    expires_ms: int


class CommandAck(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A vehicle's answer: `delivered` (received, working on it), then `succeeded` or `failed`
    (with a reason). `ts` is the vehicle's own clock, for the record only."""

    v: int = 1
    id: str
    status: Literal["delivered", "succeeded", "failed"]
    reason: str | None = None
    ts: int | None = None


_encoder = msgspec.json.Encoder()
_message_decoder = msgspec.json.Decoder(CommandMessage)
_ack_decoder = msgspec.json.Decoder(CommandAck)


def encode(obj: CommandMessage | CommandAck) -> bytes:
    return _encoder.encode(obj)


def decode_message(data: bytes) -> CommandMessage:
    """Raises `msgspec.DecodeError` (a `ValueError`) with the reason for a bad message."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise msgspec.DecodeError(f"command message of {len(data)} bytes is too large")
    return _message_decoder.decode(data)


def decode_ack(data: bytes) -> CommandAck:
    """Raises `msgspec.DecodeError` (a `ValueError`) with the reason for a bad ack."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise msgspec.DecodeError(f"ack of {len(data)} bytes is too large")
    ack = _ack_decoder.decode(data)
    if ack.v != 1:
        raise msgspec.DecodeError(f"unsupported ack version {ack.v}; expected 1")
    if ack.reason is not None and len(ack.reason) > 500:
        raise msgspec.DecodeError("ack reason is longer than 500 characters")
    return ack


def cmd_topic(vin: str, prefix: str = "volta/v1") -> str:
    return f"{prefix.rstrip('/')}/{vin}/cmd"


def ack_topic(vin: str, prefix: str = "volta/v1") -> str:
    return f"{prefix.rstrip('/')}/{vin}/cmd/ack"


def cmd_topic_filter(prefix: str = "volta/v1") -> str:
    return f"{prefix.rstrip('/')}/+/cmd"


def ack_topic_filter(prefix: str = "volta/v1") -> str:
    return f"{prefix.rstrip('/')}/+/cmd/ack"


def vin_from_ack_topic(topic: str, prefix: str = "volta/v1") -> str | None:
    """The VIN in `<prefix>/<vin>/cmd/ack`, or None if the topic is not that shape."""
    head, tail = prefix.rstrip("/") + "/", "/cmd/ack"
    if not (topic.startswith(head) and topic.endswith(tail)):
        return None
    vin = topic[len(head) : len(topic) - len(tail)]
    return vin if is_valid_vin(vin) else None
