"""Provisioning I/O: the state file in the data dir and the broker's files in the out dir.

Every file is written whole to a temporary name and renamed into place, so the broker reloading
at any moment reads either the old or the new file, never half of one. Runs on one data dir
are serialised by an exclusive lock, so two concurrent runs cannot lose each other's users.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import msgspec

from volta.broker.acl import GATEWAY_GRANTS, acl_file, mosquitto_conf, password_file
from volta.broker.state import CredentialState, UserRole
from volta.errors import ConfigError, NotFound, VoltaError

STATE_FILE = "broker-credentials.json"
LOCK_FILE = "broker-credentials.lock"
SECRET_MODE = 0o600
PUBLIC_MODE = 0o644


@dataclass(frozen=True, slots=True)
class BrokerFiles:
    passwd: Path
    acl: Path
    conf: Path


def load_state(data_dir: Path) -> CredentialState:
    """The provisioning state of a data dir (empty if nothing was provisioned yet)."""
    path = data_dir / STATE_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return CredentialState()
    try:
        return msgspec.json.decode(raw, type=CredentialState)
    except msgspec.DecodeError as err:
        raise VoltaError(f"{path} is damaged ({err}); restore it from a backup") from err


def save_state(data_dir: Path, state: CredentialState) -> Path:
    """Write the state (hashes only, still mode 0600: a hash allows offline guessing)."""
    path = data_dir / STATE_FILE
    _write(path, msgspec.json.format(msgspec.json.encode(state)) + b"\n", SECRET_MODE)
    return path


@contextmanager
def locked(data_dir: Path) -> Iterator[None]:
    """Hold the data dir's provisioning lock (blocks while another run holds it)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, SECRET_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_broker_files(
    out_dir: Path,
    state: CredentialState,
    prefix: str,
    listener: tuple[str, int] | None = None,
    broker_user: str | None = None,
) -> BrokerFiles:
    """`passwd` (0600), `acl` and `mosquitto.conf` for `state`, into `out_dir`.

    Mosquitto reads its password file after dropping root, as its `user` (Debian:
    `mosquitto`), so with `broker_user` the password file is given to that account and the
    configuration names it; otherwise the broker must run as the user who provisions."""
    out_dir.mkdir(parents=True, exist_ok=True)
    out_dir = out_dir.resolve()  # the broker may run from another working directory
    files = BrokerFiles(out_dir / "passwd", out_dir / "acl", out_dir / "mosquitto.conf")
    services = {name: GATEWAY_GRANTS for name in state.with_role(UserRole.GATEWAY)}
    owner = _account(broker_user) if broker_user else None
    conf = mosquitto_conf(files.passwd, files.acl, listener, broker_user)
    _write(files.acl, acl_file(prefix, services).encode(), PUBLIC_MODE)
    _write(files.passwd, password_file(state.hashes()).encode(), SECRET_MODE, owner)
    _write(files.conf, conf.encode(), PUBLIC_MODE)
    return files


def reload_broker(pid: int) -> None:
    """Ask a running Mosquitto to re-read its files (SIGHUP). Clients whose credentials are
    gone are disconnected by the broker at that moment."""
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError as err:
        raise NotFound(f"no process {pid}: reload the broker yourself (kill -HUP)") from err
    except PermissionError as err:
        raise ConfigError(f"not allowed to signal process {pid}: run as the broker's user") from err


def _account(name: str) -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise NotFound(f"no account {name!r} on this machine for the broker to run as") from None
    return entry.pw_uid, entry.pw_gid


def _write(path: Path, data: bytes, mode: int, owner: tuple[int, int] | None = None) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Created with its final mode, so a secret is never readable by others, not even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)  # the umask may have narrowed it; never widened beyond `mode`
        if owner is not None and (os.stat(tmp).st_uid, os.stat(tmp).st_gid) != owner:
            try:
                os.chown(tmp, *owner)
            except PermissionError:
                raise ConfigError(
                    f"cannot give {path.name} to the broker's account: run as root or as it"
                ) from None
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
