"""wscap JSON Lines in Spark: spark.read.json with the schema given, not inferred.

    spark-submit docs/analytics/spark_load.py 'captures/*.jsonl'

With the schema given, Spark reads the files once (inference would read them
twice) and every file gets the same columns, whichever event types it has.
Fields an event does not have are null. `ts` stays the RFC 3339 string with
nanoseconds (Spark's timestamps keep microseconds): `ts_time` is the timestamp,
`ts_unix` the exact seconds. `len` is DECIMAL(20,0): a frame header may declare
up to 2^64 - 1 bytes. `app` and `app_units` are JSON text (a JSON object read
into a STRING column keeps its text): use get_json_object or from_json.
TestAnalyticsRecipes (analytics_test.go) checks that SCHEMA has a column for
every field the README documents.
"""

import sys

from pyspark.sql import SparkSession, functions as F

SCHEMA = """
`type` STRING, `conn` BIGINT, `ts` STRING, `ts_unix` DECIMAL(20,9), `pkt` BIGINT, `seq` BIGINT,
`h2_stream` BIGINT, `transport` STRING, `ord` ARRAY<BIGINT>,
`client` STRING, `server` STRING, `midstream` BOOLEAN, `community_id` STRING,
`method` STRING, `path` STRING, `http_version` STRING, `host` STRING, `origin` STRING,
`user_agent` STRING, `version` STRING, `key` STRING, `accept` STRING, `accept_valid` BOOLEAN,
`status` INT, `reason` STRING, `offered_protocols` ARRAY<STRING>, `protocol` STRING,
`offered_extensions` STRING, `extensions` STRING, `upgraded` BOOLEAN,
`deflate` STRUCT<`server_no_context_takeover`: BOOLEAN, `client_no_context_takeover`: BOOLEAN,
               `server_max_window_bits`: INT, `client_max_window_bits`: INT>,
`deflate_frame` BOOLEAN, `request_pkt` BIGINT, `response_pkt` BIGINT,
`request_headers` ARRAY<STRUCT<`name`: STRING, `value`: STRING>>,
`response_headers` ARRAY<STRUCT<`name`: STRING, `value`: STRING>>,
`h2_protocol` STRING,
`from` STRING, `fin` BOOLEAN, `rsv` INT, `opcode` STRING, `masked` BOOLEAN, `mask_key` STRING,
`len` DECIMAL(20,0), `header_len` INT, `payload_len_bits` INT, `offset` BIGINT, `first_pkt` BIGINT,
`msg` BIGINT, `compressed` BOOLEAN, `seen` BIGINT, `lost_bytes` BIGINT, `cut` BOOLEAN,
`close_code` INT, `close_reason` STRING,
`frames` BIGINT, `wire_len` BIGINT, `n` BIGINT, `truncated` BOOLEAN, `decode_error` STRING,
`text` STRING, `data` STRING, `app` STRING, `app_units` STRING, `app_units_more` BIGINT,
`app_partial` BOOLEAN,
`code` STRING, `severity` STRING, `detail` STRING, `ref` STRING,
`bytes` BIGINT, `undecoded` BIGINT, `messages` BIGINT,
`cipher` STRING, `sni` STRING, `alpn` STRING, `client_random` STRING, `decrypted` BOOLEAN,
`first_ts` STRING, `duration` DOUBLE,
`client_frames` BIGINT, `server_frames` BIGINT, `client_messages` BIGINT, `server_messages` BIGINT,
`client_bytes` BIGINT, `server_bytes` BIGINT, `client_close_code` INT, `server_close_code` INT,
`client_close_reason` STRING, `server_close_reason` STRING, `end_reason` STRING, `closed_by` STRING,
`rtt` STRUCT<`count`: BIGINT, `min`: DOUBLE, `median`: DOUBLE, `p99`: DOUBLE, `max`: DOUBLE,
           `exact`: BOOLEAN, `unanswered`: BIGINT, `unmatched`: BIGINT>,
`client_rate` STRUCT<`msgs_peak`: BIGINT, `msgs_mean`: DOUBLE, `bytes_peak`: BIGINT, `bytes_mean`: DOUBLE>,
`server_rate` STRUCT<`msgs_peak`: BIGINT, `msgs_mean`: DOUBLE, `bytes_peak`: BIGINT, `bytes_mean`: DOUBLE>,
`client_size` STRUCT<`count`: BIGINT, `median`: BIGINT, `p99`: BIGINT, `max`: BIGINT, `exact`: BOOLEAN>,
`server_size` STRUCT<`count`: BIGINT, `median`: BIGINT, `p99`: BIGINT, `max`: BIGINT, `exact`: BOOLEAN>,
`close_handshake` DOUBLE, `close_to_end` DOUBLE, `longest_silence` DOUBLE,
`anomalies` STRUCT<`error`: BIGINT, `warning`: BIGINT, `info`: BIGINT>
"""


def load(spark, path):
    """All events of the files at path (a glob or a list), one row each."""
    return (
        spark.read.schema(SCHEMA)
        .json(path)
        .withColumn("capture", F.col("_metadata.file_path"))
        .withColumn("ts_time", F.col("ts").cast("timestamp"))
    )


def per_direction(events):
    """Per WebSocket and direction: frames, frame bytes, messages, message bytes."""
    frames = (
        events.where(F.col("type") == "frame")
        .groupBy("capture", "conn", F.coalesce("h2_stream", F.lit(0)).alias("h2_stream"), "from")
        .agg(
            F.count("*").alias("frames"),
            F.sum(F.col("header_len") + F.col("seen") + F.coalesce("lost_bytes", F.lit(0))).alias("frame_bytes"),
        )
    )
    messages = (
        events.where(F.col("type") == "message")
        .groupBy("capture", "conn", F.coalesce("h2_stream", F.lit(0)).alias("h2_stream"), "from")
        .agg(F.count("*").alias("messages"), F.sum("len").alias("message_bytes"))
    )
    return frames.join(messages, ["capture", "conn", "h2_stream", "from"], "full")


if __name__ == "__main__":
    spark = SparkSession.builder.appName("wscap").getOrCreate()
    events = load(spark, sys.argv[1:] if len(sys.argv) > 1 else "*.jsonl")
    events.groupBy("type").count().show()
    per_direction(events).orderBy("capture", "conn", "h2_stream", "from").show(50, truncate=False)
