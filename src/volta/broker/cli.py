"""`volta vehicles provision`: broker credentials and the Mosquitto files that enforce them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from volta.broker.acl import DEFAULT_GATEWAY_USER
from volta.broker.files import reload_broker
from volta.broker.provision import ProvisionReport, provision
from volta.broker.state import ProvisionRequest
from volta.config import Settings
from volta.errors import VoltaError
from volta.failure import fail
from volta.registry import open_registry


def provision_vehicles(
    out: Annotated[Path, typer.Option("--out", help="where passwd, acl, mosquitto.conf go")],
    vin: Annotated[
        list[str] | None, typer.Option("--vin", help="a registered vehicle (repeatable)")
    ] = None,
    all_registered: Annotated[
        bool, typer.Option("--all", help="every registered vehicle without a credential")
    ] = False,
    rotate: Annotated[
        list[str] | None, typer.Option(help="issue a new secret for this VIN or service user")
    ] = None,
    revoke: Annotated[
        list[str] | None, typer.Option(help="remove this VIN's or service user's credential")
    ] = None,
    prefix: Annotated[
        str | None, typer.Option(help="topic root; default VOLTA_MQTT_TOPIC_PREFIX or volta/v1")
    ] = None,
    listener: Annotated[
        str | None, typer.Option(help="HOST:PORT: add a listener line to mosquitto.conf")
    ] = None,
    broker_user: Annotated[
        str | None,
        typer.Option(help="the account Mosquitto runs as (Debian: mosquitto); gets passwd"),
    ] = None,
    gateway_user: Annotated[
        str, typer.Option(help="the gateway's broker username")
    ] = DEFAULT_GATEWAY_USER,
    reload_pid: Annotated[
        int | None, typer.Option(help="send SIGHUP to this Mosquitto process afterwards")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="default: VOLTA_DATA_DIR or ./volta-data")
    ] = None,
) -> None:
    """Issue, rotate or revoke broker credentials; write the broker's password and ACL files.

    New secrets are printed once, as JSON; only their hashes are kept. The broker applies the
    files when it reloads (--reload-pid, or kill -HUP): revoked and rotated-out credentials
    stop working then, and clients connected with them are disconnected."""
    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
    settings = Settings(**overrides)
    request = ProvisionRequest(
        vins=tuple(vin or ()),
        all_registered=all_registered,
        rotate=tuple(rotate or ()),
        revoke=tuple(revoke or ()),
        gateway_user=gateway_user,
    )
    try:
        registry = open_registry(settings)
        try:
            report = provision(
                registry,
                request,
                data_dir=settings.data_dir,
                out_dir=out,
                prefix=prefix or settings.mqtt_topic_prefix,
                listener=_listener(listener) if listener else None,
                broker_user=broker_user,
            )
        finally:
            registry.close()
    except (VoltaError, OSError) as exc:  # OSError: an out dir or data dir we cannot write
        fail(exc)
    # The secrets are saved (as hashes) by now: they are printed even if the reload fails.
    reloaded = "not reloaded: kill -HUP <mosquitto pid> to apply"
    failure: VoltaError | None = None
    if reload_pid is not None:
        try:
            reload_broker(reload_pid)
            reloaded = f"sent SIGHUP to {reload_pid}"
        except VoltaError as exc:
            failure, reloaded = exc, f"not reloaded: {exc}"
    typer.echo(json.dumps(_summary(report, reloaded)))
    if failure is not None:
        fail(failure)


def _summary(report: ProvisionReport, reloaded: str) -> dict[str, Any]:
    files = report.files
    return {
        "issued": [
            {
                "username": s.username,
                "role": s.role.value,
                "password": s.password,
                "replaced": s.replaced,
            }
            for s in report.issued
        ],
        "revoked": report.revoked,
        "kept": len(report.kept),
        "files": {"passwd": str(files.passwd), "acl": str(files.acl), "conf": str(files.conf)},
        "state": str(report.state_file),
        "reload": reloaded,
    }


def _listener(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise typer.BadParameter(f"{text!r}: expected HOST:PORT, e.g. 127.0.0.1:1883")
    return host, int(port)


def register(app: typer.Typer) -> None:
    """Add `provision` to the registry's `vehicles` group (register the registry first)."""
    for group in app.registered_groups:
        if group.name == "vehicles" and group.typer_instance is not None:
            group.typer_instance.command("provision")(provision_vehicles)
            return
    raise RuntimeError("the `vehicles` command group must be registered before `provision`")
