"""The Mosquitto files as text: ACL patterns, password lines, configuration snippet."""

from __future__ import annotations

from pathlib import Path

import pytest

from volta.broker.acl import (
    GATEWAY_GRANTS,
    acl_file,
    check_prefix,
    check_service_name,
    mosquitto_conf,
    password_file,
)
from volta.errors import ConfigError

VIN = "JHMZZ1A1XRV000001"


def test_vehicles_are_confined_to_their_own_vin_by_username_patterns() -> None:
    text = acl_file("volta/v1", {"volta-gateway": GATEWAY_GRANTS})
    rules = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert rules == [
        *(f"pattern write volta/v1/%u/telemetry/{shard}" for shard in range(64)),
        "pattern write volta/v1/%u/telemetry",
        "pattern write volta/v1/%u/events",
        "pattern write volta/v1/%u/cmd/ack",
        "pattern read volta/v1/%u/cmd",
        "pattern read volta/v1/%u/ota",
        "pattern read volta/v1/%u/notify",
        "user volta-gateway",
        "topic read volta/v1/+/telemetry/+",
        "topic read volta/v1/+/telemetry",
        "topic read volta/v1/+/events",
        "topic read volta/v1/+/cmd/ack",
        "topic write volta/v1/+/cmd",
        "topic write volta/v1/+/ota",
        "topic write volta/v1/+/notify",
    ]
    # The client id is chosen by the client: it must never decide what a client may do.
    assert "%c" not in text


def test_acl_follows_the_configured_prefix_and_refuses_wildcards() -> None:
    assert "pattern write fleet-a/v1/%u/telemetry" in acl_file("fleet-a/v1/", {})
    for bad in ("volta/+", "volta/#", "volta//v1", "", "volta v1", "volta/v1\nuser x"):
        with pytest.raises(ConfigError, match="topic prefix"):
            check_prefix(bad)


def test_password_file_has_one_sorted_line_per_user() -> None:
    text = password_file({"volta-gateway": "$7$101$a$b", VIN: "$7$101$c$d"})
    assert text == f"{VIN}:$7$101$c$d\nvolta-gateway:$7$101$a$b\n"


@pytest.mark.parametrize("name", ["a:b", "x\ny", "JHMZZ1A1XRV00000", "+", "#", "a/b", ""])
def test_usernames_that_could_break_the_files_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="neither a VIN nor a service name"):
        password_file({name: "$7$101$a$b"})


def test_a_service_user_can_never_be_named_like_a_vin() -> None:
    # Upper-case VIN-shaped names would also match the vehicles' %u patterns.
    with pytest.raises(ConfigError, match="service user"):
        check_service_name(VIN)
    assert check_service_name("volta-gateway") == "volta-gateway"


def test_configuration_turns_anonymous_access_off_for_every_listener(tmp_path: Path) -> None:
    conf = mosquitto_conf(tmp_path / "passwd", tmp_path / "acl", ("127.0.0.1", 18830))
    lines = conf.splitlines()
    assert "allow_anonymous false" in lines
    assert "per_listener_settings false" in lines
    assert f"password_file {tmp_path / 'passwd'}" in lines
    assert f"acl_file {tmp_path / 'acl'}" in lines
    assert lines[-1] == "listener 18830 127.0.0.1"
    bare = mosquitto_conf(tmp_path / "p", tmp_path / "a").splitlines()
    assert not any(line.startswith("listener") for line in bare)


def test_paths_mosquitto_cannot_parse_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="white space"):
        mosquitto_conf(tmp_path / "my dir" / "passwd", tmp_path / "acl")
