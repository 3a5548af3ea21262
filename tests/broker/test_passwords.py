"""Broker password hashes: Mosquitto's `$7$` format, checked against `mosquitto_passwd`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from volta.broker.passwords import (
    ITERATIONS,
    SECRET_PREFIX,
    hash_password,
    new_hash,
    new_secret,
    verify_password,
)
from volta.errors import ConfigError

MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


def test_hash_has_mosquittos_pbkdf2_sha512_layout() -> None:
    encoded = hash_password("s3cret", bytes(range(12)))
    scheme, iterations, salt, digest = encoded.split("$")[1:]
    assert (scheme, iterations) == ("7", str(ITERATIONS))
    assert salt == "AAECAwQFBgcICQoL"  # base64 of bytes 0..11
    assert len(digest) == 88  # 64 bytes in base64
    assert verify_password("s3cret", encoded)
    assert not verify_password("s3cret!", encoded)


def test_same_secret_gets_a_different_salt_each_time() -> None:
    first, second = new_hash("s3cret"), new_hash("s3cret")
    assert first != second
    assert verify_password("s3cret", first) and verify_password("s3cret", second)


def test_secrets_are_random_url_safe_and_long() -> None:
    issued = {new_secret() for _ in range(100)}
    assert len(issued) == 100
    for secret in issued:
        body = secret.removeprefix(SECRET_PREFIX)
        assert len(body) >= 43  # 32 random bytes
        assert set(body) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_hashes_written_by_mosquitto_passwd_verify_with_ours(tmp_path: Path) -> None:
    if not Path(MOSQUITTO_PASSWD).exists():
        pytest.skip("mosquitto_passwd is not installed (apt install mosquitto)")
    passwd = tmp_path / "passwd"
    subprocess.run(
        [MOSQUITTO_PASSWD, "-c", "-b", str(passwd), "JHMZZ1A1XRV000001", "s3cret"], check=True
    )
    user, encoded = passwd.read_text().strip().split(":", 1)
    assert user == "JHMZZ1A1XRV000001"
    assert verify_password("s3cret", encoded)
    assert not verify_password("S3cret", encoded)


@pytest.mark.parametrize("bad", ["plain", "$6$abc$def", "$7$x$AA==$AA==", "$7$101$AA=="])
def test_other_hash_formats_are_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"\$7\$"):
        verify_password("s3cret", bad)
