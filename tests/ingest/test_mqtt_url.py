"""Broker URLs for the MQTT transport: defaults, TLS, credentials that never get echoed."""

from __future__ import annotations

import pytest

from volta.errors import ConfigError
from volta.ingest.mqtt import BrokerAddress


def test_broker_urls_with_defaults_tls_and_credentials() -> None:
    assert BrokerAddress.parse("mqtt://127.0.0.1") == BrokerAddress("127.0.0.1", 1883, False)
    assert BrokerAddress.parse("127.0.0.1:1884") == BrokerAddress("127.0.0.1", 1884, False)
    assert BrokerAddress.parse("mqtts://broker") == BrokerAddress("broker", 8883, True)
    address = BrokerAddress.parse("mqtt://gateway:s3cret@broker:1883")
    assert (address.username, address.password) == ("gateway", "s3cret")
    assert "s3cret" not in repr(address)


def test_credentials_in_the_url_are_percent_decoded() -> None:
    address = BrokerAddress.parse("mqtt://svc%3Agw:p%40ss%2Fw%3Ard%25@broker:1884")
    assert (address.username, address.password) == ("svc:gw", "p@ss/w:rd%")
    assert (address.host, address.port) == ("broker", 1884)
    assert BrokerAddress.parse("mqtt://gateway@broker").password is None


def test_other_schemes_are_refused_without_echoing_the_url() -> None:
    with pytest.raises(ConfigError) as refused:
        BrokerAddress.parse("http://gateway:s3cret@broker")
    assert "s3cret" not in str(refused.value)
