"""Private, throwaway PostgreSQL, NATS and Mosquitto servers on free ports, for fault tests and
benchmarks that must stop and restart a server without disturbing anyone else using the
machine's shared ones. Each lives in a temporary directory; `restart()` stops it (gracefully,
so Mosquitto saves its sessions and PostgreSQL checkpoints) and starts it again on the same
port with the same data; `close()` removes everything.

PostgreSQL refuses to run as root: as root, the cluster is made and run as the `postgres`
user (`runuser`). Binaries are looked up on PATH and in Debian's usual places.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Self

from volta.errors import Unavailable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children_of(pid: int) -> list[int]:
    """The pids whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                found.append(int(entry.name))
    return found


def wait_listening(port: int, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise Unavailable(f"nothing listens on 127.0.0.1:{port} after {timeout_s:g} s")


def find_binary(name: str, *patterns: str) -> str | None:
    """`name` on PATH, else the newest match of `patterns` (globs)."""
    found = shutil.which(name)
    if found:
        return found
    for pattern in patterns:
        matches = sorted(glob.glob(pattern))
        if matches:
            return matches[-1]
    return None


class _Server:
    name = "server"

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=f"volta-{self.name}-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def _command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        log = (self.dir / "server.log").open("ab")
        self.proc = subprocess.Popen(self._command(), stdout=log, stderr=log)
        wait_listening(self.port)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM) and wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self, down_s: float = 0.0) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PrivateNats(_Server):
    """nats-server with JetStream, its store in the temporary directory."""

    name = "nats"

    def __init__(self) -> None:
        binary = find_binary("nats-server", "/usr/sbin/nats-server", "/usr/local/bin/nats-server")
        if binary is None:
            raise Unavailable("nats-server is not installed")
        self.binary = binary
        super().__init__()

    def _command(self) -> list[str]:
        return [self.binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.dir)]

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"


class PrivateMosquitto(_Server):
    """Mosquitto with persistence (saved on a graceful stop, so sessions and queued messages
    survive `restart`), no queue limit for offline or slow sessions, and `max_inflight` 0 so
    the subscribers' Receive Maximum decides the window."""

    name = "mosquitto"

    def __init__(self, max_queued_messages: int = 0) -> None:
        binary = find_binary("mosquitto", "/usr/sbin/mosquitto")
        if binary is None:
            raise Unavailable("mosquitto is not installed")
        self.binary = binary
        super().__init__()
        (self.dir / "mosquitto.conf").write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.dir}/\n"
            f"max_queued_messages {max_queued_messages}\n"
            "max_inflight_messages 0\n"
            "sys_interval 1\n"  # $SYS counters every second: see wait_subscriptions
            "log_type error\nlog_type warning\n"
        )
        if os.geteuid() == 0:  # mosquitto drops root to `mosquitto`, which must write here
            _give_to("mosquitto", self.dir)

    def _command(self) -> list[str]:
        return [self.binary, "-c", str(self.dir / "mosquitto.conf")]

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def wait_shared_subscriptions(self, count: int, timeout_s: float = 90.0) -> int:
        """Wait until the broker counts at least `count` shared subscriptions (its $SYS
        counter, one per member, kept for a persistent session that went away): a message
        published before its group has a member is dropped, not queued. Returns the count;
        `count=0` reads it once. A worker subscribes only once its store is prepared (imports
        and all, `PostgresStore.prepare`), which on a busy machine can take a while."""
        import paho.mqtt.client as mqtt

        from volta.mqtt import BrokerAddress, connect, new_client

        seen = [-1]
        broker = BrokerAddress("127.0.0.1", self.port, tls=False)
        client = new_client(broker)

        def on_message(c: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
            seen[0] = int(msg.payload)

        client.on_message = on_message
        connect(client, broker, background=False)
        client.subscribe("$SYS/broker/shared_subscriptions/count")
        deadline = time.monotonic() + timeout_s
        try:
            while seen[0] < max(count, 0):
                if time.monotonic() > deadline:
                    raise Unavailable(
                        f"{max(seen[0], 0)} of {count} shared subscriptions after {timeout_s:g} s"
                    )
                time.sleep(0.1)
        finally:
            client.disconnect()
            client.loop_stop()
        return seen[0]


class PrivatePostgres(_Server):
    """A PostgreSQL cluster made with initdb (trust auth, user postgres, database postgres).
    `durable=False` turns fsync off (tests: faster, and a graceful restart loses nothing);
    benchmarks keep PostgreSQL's defaults."""

    name = "postgres"

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        bindir = find_binary("pg_ctl", "/usr/lib/postgresql/*/bin/pg_ctl")
        if bindir is None:
            raise Unavailable("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
        self.bin = Path(bindir).parent
        super().__init__()
        self.data = self.dir / "data"
        self._as: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            _give_to("postgres", self.dir)
            self._as = ["runuser", "-u", "postgres", "--"]
        subprocess.run(
            [*self._as, str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
             "-A", "trust", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        if not self.durable:
            options += " -c fsync=off"
        subprocess.run(
            [*self._as, str(self.bin / "pg_ctl"), "-D", str(self.data), "-l",
             str(self.dir / "server.log"), "-o", options, "-w", "start"],
            check=True, capture_output=True,
        )  # fmt: skip
        wait_listening(self.port)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                [*self._as, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                 "stop"],
                capture_output=True,
            )  # fmt: skip

    @property
    def pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


def _give_to(user: str, path: Path) -> None:
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)
