"""One typed settings object, read from `VOLTA_*` environment variables and an optional file.

Defaults run the embedded platform: DuckDB under ./volta-data, in-process bus, no broker needed.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything configurable about a Volta process."""

    model_config = SettingsConfigDict(env_prefix="VOLTA_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("volta-data"), description="where the embedded store lives")
    store: str = Field(
        "duckdb", description="store engine URL: 'duckdb' (embedded) or postgresql://…"
    )
    registry: str = Field(
        "sqlite",
        description="registry engine: 'sqlite' (registry.sqlite in the data dir) or "
        "postgresql://… (scale-out: may be the store's URL; the tables get their own schema)",
    )
    registry_schema: str = Field("volta_registry", description="PostgreSQL registry: its schema")
    # Plain strings kept out of repr (not SecretStr): `volta serve` hands its settings to its
    # children as VOLTA_* variables, which a SecretStr would turn into asterisks.
    registry_key: str | None = Field(
        None,
        repr=False,
        description="PostgreSQL registry: the tokens' HMAC key, 64 hex digits, the same in "
        "every process (default: registry.key in the data dir, made on first use)",
    )
    session_key: str | None = Field(
        None,
        repr=False,
        description="PostgreSQL registry: the sign-in tokens' signing key, 64 hex digits, the "
        "same in every API process (default: jwt.key in the data dir, made on first use)",
    )
    derived: str = Field(
        "sqlite",
        description="where the driver services' results (drives, charges, battery health) "
        "live: 'sqlite' (derived.sqlite in the data dir) or postgresql://… (scale-out: may be "
        "the store's URL; the table gets its own schema)",
    )
    derived_schema: str = Field("volta_derived", description="PostgreSQL derived store: its schema")
    places: str = Field(
        "sqlite",
        description="where places and their tariffs live: 'sqlite' (places.sqlite in the data "
        "dir) or postgresql://… (scale-out: may be the store's URL; own schema)",
    )
    places_schema: str = Field("volta_places", description="PostgreSQL places: their schema")
    hazards: str = Field(
        "sqlite",
        description="where road sensing keeps its candidate hazards across restarts: 'sqlite' "
        "(hazards.sqlite in the data dir) or postgresql://… (scale-out: may be the store's URL; "
        "own schema)",
    )
    hazards_schema: str = Field("volta_hazards", description="PostgreSQL road sensing: its schema")
    diagnostics: str = Field(
        "sqlite",
        description="where after-sales diagnostics keep their state across restarts and for "
        "the API processes: 'sqlite' (diagnostics.sqlite in the data dir) or postgresql://… "
        "(scale-out: may be the store's URL; own schema)",
    )
    diagnostics_schema: str = Field(
        "volta_diagnostics", description="PostgreSQL diagnostics: their schema"
    )
    bus: str = Field("memory", description="event bus: 'memory' (in-process) or nats://…")
    mqtt: str | None = Field(None, description="broker URL, e.g. mqtt://127.0.0.1:1883; None = off")
    mqtt_topic_prefix: str = Field("volta/v1", description="topic root; tests use their own")
    mqtt_client_id: str = Field("volta-gateway", description="persistent-session client id")
    mqtt_shared_group: str = Field(
        "volta", description="MQTT 5 shared-subscription group of the gateway workers"
    )
    store_timeout_s: float = Field(
        2.0, gt=0, description="PostgreSQL: longest wait to connect or for a pooled connection"
    )
    roads: Path | None = Field(
        None,
        description="OSM extract (.osm.pbf) whose roads road sensing matches cars to; None = off",
    )
    chargers: Path | None = Field(
        None,
        description="charger file (NREL AFDC CSV, OSM GeoJSON, OCPI or OpenChargeMap JSON) the "
        "trip planner adds to the charging stations of the `roads` extract",
    )
    ota_dir: Path | None = Field(
        None,
        description="folder of the OTA repositories (`volta ota keys create --repo-dir`) served "
        "at /v1/ota/; None = no OTA",
    )
    ota_keys: Path | None = Field(
        None,
        description="key folder with the OTA online keys (director targets/snapshot/timestamp, "
        "image snapshot/timestamp): the server signs that metadata anew before it expires",
    )
    ota_campaign_tick_s: float = Field(
        30.0, gt=0, description="how often OTA campaigns are ticked (waves, timeouts, retries)"
    )
    dtc_descriptions: Path | None = Field(
        None,
        description="the maker's DTC descriptions (JSON object code → text, or CSV code,"
        "description), added to Volta's own; None = Volta's only",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    max_batch_bytes: int = Field(256 * 1024, description="larger batches are refused (HTTP 413)")
    max_samples_per_batch: int = 10_000
    max_future_skew_ms: int = Field(5 * 60_000, description="how far ahead of our clock ts may be")
    min_timestamp_ms: int = Field(946_684_800_000, description="2000-01-01: older ts are rejected")
    dedup_window: int = Field(4096, description="recent seqs per vehicle kept in memory for dedup")
    commit_max_batches: int = Field(2000, description="group commit: most batches per transaction")
    commit_max_delay_ms: int = Field(20, description="group commit: longest wait before flushing")
    background_nice: int = Field(
        5,
        ge=0,
        le=19,
        description="scale-out: CPU niceness of the gateway workers and the processors, so "
        "that on a shared machine the API's reads get a core first; 0 = as the API",
    )
    quarantine_max_bytes: int = Field(4096, description="raw bytes kept of an undecodable batch")
    ingest_budget_samples_per_s: float = Field(
        2000.0,
        ge=0,
        description="per-vehicle ingest budget, samples/s (a car sends ~100); 0 = off",
    )
    ingest_budget_burst: int = Field(
        60_000, ge=1, description="per-vehicle budget burst, samples (a backlog after a reconnect)"
    )
    session_ttl_s: int = Field(900, gt=0, description="lifetime of a sign-in token (JWT), s")
    api_rate_per_s: float = Field(
        100.0, ge=0, description="per-token API requests per second (token bucket); 0 = no limit"
    )
    api_burst: int = Field(1000, ge=1, description="per-token API burst: requests at once")
    # After-sales notifications (volta.service.notify).
    smtp_host: str | None = Field(
        None, description="SMTP server for e-mail notifications; None = off"
    )
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP server port")
    smtp_from: str = Field("volta@localhost", description="From: address of notification e-mail")
    smtp_user: str | None = Field(None, description="SMTP login (with smtp_password)")
    smtp_password: str | None = Field(None, repr=False, description="SMTP password")
    smtp_starttls: bool = Field(False, description="upgrade the SMTP connection with STARTTLS")
    webhook_timeout_s: float = Field(5.0, gt=0, description="longest wait for a webhook endpoint")
    notify_max_attempts: int = Field(
        8, ge=1, description="attempts of a notification before it goes to the dead letters"
    )
    notify_backoff_s: float = Field(
        2.0, gt=0, description="first retry delay of a notification (doubles, capped at 1 h)"
    )

    @property
    def duckdb_path(self) -> Path:
        return self.data_dir / "volta.duckdb"
