"""Telemetry storage: one interface (`base.TelemetryStore`), one engine per way of running."""
