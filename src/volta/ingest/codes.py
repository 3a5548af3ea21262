"""Reason codes: the short, stable labels of refusals and rejections.

Each is the `code` of a `QuarantineRecord`, the `error` of an `IngestResult` or the `reason`
label of an ingest counter. The sentence a user reads is the record's `reason`, not these.
"""

from __future__ import annotations

# A whole message refused (IngestResult.error; one quarantine record with the raw bytes).
UNDECODABLE = "undecodable"  # not JSON/MessagePack, truncated, wrong structure or header
TOO_LARGE = "too_large"  # over max_batch_bytes
INVALID_VIN = "invalid_vin"  # the transport's VIN is not a VIN
VIN_MISMATCH = "vin_mismatch"  # payload VIN is not the authenticated vehicle's
UNKNOWN_VEHICLE = "unknown_vehicle"  # not in the vehicle registry
TS_IN_FUTURE = "ts_in_future"  # batch ts (or, per sample, sample ts) beyond the allowed skew
TS_TOO_OLD = "ts_too_old"  # batch ts before min_timestamp_ms (2000-01-01)
TOO_MANY_SAMPLES = "too_many_samples"  # over max_samples_per_batch
RATE_LIMITED = "rate_limited"  # the vehicle is over its ingest budget (samples/s)
INTERNAL_ERROR = "internal_error"  # a bug while checking: the message is quarantined

# A message not answered as stored (nothing quarantined: the sender should send it again).
STORE_UNAVAILABLE = "store_unavailable"
GATEWAY_STOPPED = "gateway_stopped"
TIMEOUT = "timeout"

# One sample rejected (Rejection.code; one quarantine record per sample).
UNKNOWN_SIGNAL = "unknown_signal"  # neither a VSS path nor a catalog id (branches included)
WRONG_TYPE = "wrong_type"  # value does not fit the signal's datatype
OUT_OF_RANGE = "out_of_range"  # below min or above max
NOT_ALLOWED = "not_allowed"  # not one of the signal's allowed values
NOT_FINITE = "not_finite"  # NaN or ±inf
TOO_LONG = "too_long"  # string or array over the catalog's length limit
INVALID_VALUE = "invalid_value"  # any other catalog check failure
MALFORMED = "malformed"  # not [offset, signal, value] (deep nesting included)
NEGATIVE_OFFSET = "negative_offset"  # offset < 0
