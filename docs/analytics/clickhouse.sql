-- wscap JSON Lines in ClickHouse: one row per event, every event type in one table.
--
--   clickhouse-client --multiquery < docs/analytics/clickhouse.sql
--   wscap -r capture.pcapng --json --summary | clickhouse-client --query "INSERT INTO wscap.events SETTINGS date_time_input_format = 'best_effort', input_format_json_read_objects_as_strings = 1, input_format_json_read_arrays_as_strings = 1, input_format_skip_unknown_fields = 1 FORMAT JSONEachRow"
--
-- Fields an event does not have are NULL (arrays empty, tuples zero), except the
-- sort key: `seq` is 0 on `summary` events and `h2_stream` is 0 off HTTP/2.
-- Open-ended objects (`app`, `app_units`) are kept as their JSON text (query them
-- with JSONExtract*); app_proto, app_type and app_name are taken out of `app` on insert.
-- Types follow the README's "JSON Lines" tables; TestClickHouseSchema (analytics_test.go)
-- checks that every documented field has a column and loads real captures with chDB.

CREATE DATABASE IF NOT EXISTS wscap;

CREATE TABLE IF NOT EXISTS wscap.events
(
    -- every event
    `type` LowCardinality(String),
    `conn` UInt64,
    `ts` DateTime64(9, 'UTC'),
    `ts_unix` Nullable(Decimal(20, 9)),
    `pkt` UInt64,
    `seq` UInt64 DEFAULT 0,
    `h2_stream` UInt32 DEFAULT 0,
    `transport` LowCardinality(Nullable(String)),
    `ord` Array(Int64),  -- --shard runs only: the merge key (empty otherwise)

    -- conn, handshake, tls, summary
    `client` Nullable(String),
    `server` Nullable(String),
    `midstream` Nullable(Bool),
    `community_id` Nullable(String),

    -- handshake
    `method` LowCardinality(Nullable(String)),
    `path` Nullable(String),
    `http_version` LowCardinality(Nullable(String)),
    `host` Nullable(String),
    `origin` Nullable(String),
    `user_agent` Nullable(String),
    `version` LowCardinality(Nullable(String)),           -- Sec-WebSocket-Version; on tls: the TLS version
    `key` Nullable(String),
    `accept` Nullable(String),                            -- on summary: ok, mismatch, missing, none
    `accept_valid` Nullable(Bool),
    `status` Nullable(UInt16),
    `reason` LowCardinality(Nullable(String)),            -- handshake: reason phrase; end: fin, rst, idle, capture_end
    `offered_protocols` Array(String),
    `protocol` Nullable(String),
    `offered_extensions` Nullable(String),
    `extensions` Nullable(String),
    `upgraded` Nullable(Bool),
    `deflate` Tuple(server_no_context_takeover Bool, client_no_context_takeover Bool, server_max_window_bits UInt8, client_max_window_bits UInt8),
    `deflate_frame` Nullable(Bool),
    `request_pkt` Nullable(UInt64),
    `response_pkt` Nullable(UInt64),
    `request_headers` Array(Tuple(name String, value String)),
    `response_headers` Array(Tuple(name String, value String)),
    `h2_protocol` Nullable(String),

    -- frame, message, anomaly, gap, end
    `from` LowCardinality(Nullable(String)),
    `fin` Nullable(Bool),
    `rsv` Nullable(UInt8),
    `opcode` LowCardinality(Nullable(String)),
    `masked` Nullable(Bool),
    `mask_key` Nullable(String),
    `len` Nullable(UInt64),
    `header_len` Nullable(UInt8),
    `payload_len_bits` Nullable(UInt8),
    `offset` Nullable(UInt64),
    `first_pkt` Nullable(UInt64),
    `msg` Nullable(UInt64),
    `compressed` Nullable(Bool),
    `seen` Nullable(UInt64),
    `lost_bytes` Nullable(UInt64),
    `cut` Nullable(Bool),
    `close_code` Nullable(UInt16),
    `close_reason` Nullable(String),
    `frames` Nullable(UInt64),                            -- message: frames it was carried in; end: frames of the direction
    `wire_len` Nullable(UInt64),
    `n` Nullable(UInt64),
    `truncated` Nullable(Bool),
    `decode_error` Nullable(String),
    `text` Nullable(String),
    `data` Nullable(String),                              -- base64
    `app` Nullable(String),                               -- JSON text of the `app` object
    `app_units` Nullable(String),                         -- JSON text of the `app_units` array
    `app_units_more` Nullable(UInt64),
    `app_partial` Nullable(Bool),
    `app_proto` LowCardinality(Nullable(String)) MATERIALIZED JSONExtract(ifNull(app, ''), 'proto', 'Nullable(String)'),
    `app_type` LowCardinality(Nullable(String)) MATERIALIZED JSONExtract(ifNull(app, ''), 'type', 'Nullable(String)'),
    `app_name` Nullable(String) MATERIALIZED JSONExtract(ifNull(app, ''), 'name', 'Nullable(String)'),
    `code` LowCardinality(Nullable(String)),
    `severity` LowCardinality(Nullable(String)),
    `detail` Nullable(String),
    `ref` LowCardinality(Nullable(String)),
    `bytes` Nullable(UInt64),                             -- gap: bytes missing; end: bytes seen
    `undecoded` Nullable(UInt64),
    `messages` Nullable(UInt64),

    -- tls
    `cipher` LowCardinality(Nullable(String)),
    `sni` Nullable(String),
    `alpn` LowCardinality(Nullable(String)),
    `client_random` Nullable(String),
    `decrypted` Nullable(Bool),

    -- summary
    `first_ts` Nullable(DateTime64(9, 'UTC')),
    `duration` Nullable(Float64),
    `client_frames` Nullable(UInt64),
    `server_frames` Nullable(UInt64),
    `client_messages` Nullable(UInt64),
    `server_messages` Nullable(UInt64),
    `client_bytes` Nullable(UInt64),
    `server_bytes` Nullable(UInt64),
    `client_close_code` Nullable(UInt16),
    `server_close_code` Nullable(UInt16),
    `client_close_reason` Nullable(String),
    `server_close_reason` Nullable(String),
    `end_reason` LowCardinality(Nullable(String)),
    `closed_by` LowCardinality(Nullable(String)),
    `rtt` Tuple(count UInt64, min Nullable(Float64), median Nullable(Float64), p99 Nullable(Float64), max Nullable(Float64), exact Nullable(Bool), unanswered UInt64, unmatched UInt64),
    `client_rate` Tuple(msgs_peak UInt64, msgs_mean Float64, bytes_peak UInt64, bytes_mean Float64),
    `server_rate` Tuple(msgs_peak UInt64, msgs_mean Float64, bytes_peak UInt64, bytes_mean Float64),
    `client_size` Tuple(count UInt64, median Nullable(UInt64), p99 Nullable(UInt64), max Nullable(UInt64), exact Nullable(Bool)),
    `server_size` Tuple(count UInt64, median Nullable(UInt64), p99 Nullable(UInt64), max Nullable(UInt64), exact Nullable(Bool)),
    `close_handshake` Nullable(Float64),
    `close_to_end` Nullable(Float64),
    `longest_silence` Nullable(Float64),
    `anomalies` Tuple(error UInt64, warning UInt64, info UInt64)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (conn, h2_stream, pkt, seq);
