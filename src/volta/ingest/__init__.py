"""Ingestion: the pure pipeline (decode → authenticate → validate), de-duplication, the
group-committing gateway, its metrics, and the transports that feed it."""

from volta.ingest.commit import IngestResult, Rejection
from volta.ingest.gateway import Gateway
from volta.ingest.inproc import InProcessTransport
from volta.ingest.metrics import IngestMetrics
from volta.ingest.pipeline import Limits, Prepared, prepare

__all__ = [
    "Gateway",
    "InProcessTransport",
    "IngestMetrics",
    "IngestResult",
    "Limits",
    "Prepared",
    "Rejection",
    "prepare",
]
