-- Version 4: a chunk's signal ids, times and numbers are packed bytes, not arrays.
--
-- Reading a chunk's arrays costs the server one call per element (array_send, or unnest):
-- one vehicle-day of 5 signals at 1 Hz (432,000 samples in 4,320 chunks) took ~180 ms of
-- server time to send, against ~10 ms to find and decompress the same chunks as bytes.
-- Packed, each column is its values back to back, big-endian (what int4send, int8send and
-- float8send write, and numpy reads as ">i4", ">i8", ">f8"); readers decode them on the client
-- (`volta.store.chunks`). `num` is NaN where a sample has no number (its value is text):
-- validation refuses NaN as a value, so NaN always means "none". `txt` stays a text array
-- (NULL when the chunk has no text), as rare as text values are.

CREATE FUNCTION pg_temp.packed_int4(a integer[]) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg(int4send(x), ''::bytea ORDER BY i), ''::bytea)
    FROM unnest(a) WITH ORDINALITY AS u(x, i)
$$;
CREATE FUNCTION pg_temp.packed_int8(a bigint[]) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg(int8send(x), ''::bytea ORDER BY i), ''::bytea)
    FROM unnest(a) WITH ORDINALITY AS u(x, i)
$$;
CREATE FUNCTION pg_temp.packed_float8(a double precision[], n integer) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg(float8send(coalesce(a[i], 'NaN')), ''::bytea ORDER BY i), ''::bytea)
    FROM generate_series(1, n) AS i
$$;

ALTER TABLE samples
    ALTER COLUMN num TYPE bytea USING pg_temp.packed_float8(num, cardinality(signal_ids)),
    ALTER COLUMN num SET NOT NULL,
    ALTER COLUMN signal_ids TYPE bytea USING pg_temp.packed_int4(signal_ids),
    ALTER COLUMN ts TYPE bytea USING pg_temp.packed_int8(ts);
