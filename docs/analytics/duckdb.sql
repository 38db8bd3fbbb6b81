-- wscap JSON Lines in DuckDB: one row per event, every event type in one table.
--
--   wscap -r capture.pcapng --json --summary > capture.jsonl
--   duckdb wscap.duckdb
--   SET VARIABLE wscap_files = ['capture.jsonl'];   -- or globs: ['shards/*.jsonl', 'other.jsonl']
--   .read docs/analytics/duckdb.sql
--
-- Makes table wscap (the union of all event types' fields: a field an event does
-- not have is NULL; `filename` says which file a row came from; `ts` and `first_ts`
-- are TIMESTAMP_NS), view wscap_directions (per WebSocket and direction: frames,
-- frame bytes, messages and message bytes, added up from the events) and view
-- wscap_check (those totals against the `summary` events and the `end` events,
-- with `ok`). TestDuckDB (analytics_test.go) runs this file on real captures.

CREATE OR REPLACE TABLE wscap AS
SELECT * REPLACE (CAST(ts AS TIMESTAMP_NS) AS ts, CAST(first_ts AS TIMESTAMP_NS) AS first_ts)
FROM (
    SELECT *
    FROM read_json(getvariable('wscap_files'),
                   format = 'newline_delimited',  -- one event per line
                   union_by_name = true,          -- files differ in the fields they have
                   filename = true,               -- which capture (or shard) a row is from
                   sample_size = -1)              -- detect the columns from every line, not the first 20480
    UNION ALL BY NAME
    -- the columns the views use, so that they exist even when no file has them
    -- (a capture without frames, or without --summary)
    SELECT NULL::VARCHAR AS type, NULL::BIGINT AS conn, NULL::VARCHAR AS ts, NULL::DOUBLE AS ts_unix,
           NULL::BIGINT AS pkt, NULL::BIGINT AS seq, NULL::BIGINT AS h2_stream, NULL::VARCHAR AS "from",
           NULL::VARCHAR AS opcode, NULL::BIGINT AS len, NULL::BIGINT AS header_len, NULL::BIGINT AS seen,
           NULL::BIGINT AS lost_bytes,
           NULL::BIGINT AS frames, NULL::BIGINT AS messages, NULL::VARCHAR AS first_ts,
           NULL::VARCHAR AS community_id, NULL::VARCHAR AS client, NULL::VARCHAR AS server,
           NULL::BIGINT AS client_frames, NULL::BIGINT AS server_frames,
           NULL::BIGINT AS client_messages, NULL::BIGINT AS server_messages,
           NULL::BIGINT AS client_bytes, NULL::BIGINT AS server_bytes,
           NULL::VARCHAR AS filename
    WHERE false
);

-- Per WebSocket (conn, and h2_stream over HTTP/2) and direction, from the events.
-- frame_bytes: headers and payloads, the payload bytes lost from the capture
-- included (as the summary counts them), a frame cut by the capture's end up to the cut.
CREATE OR REPLACE VIEW wscap_directions AS
SELECT filename, conn, coalesce(h2_stream, 0) AS h2_stream, "from" AS dir,
       count(*) FILTER (WHERE type = 'frame') AS frames,
       coalesce(sum(header_len + seen + coalesce(lost_bytes, 0)) FILTER (WHERE type = 'frame'), 0) AS frame_bytes,
       count(*) FILTER (WHERE type = 'message') AS messages,
       coalesce(sum(len) FILTER (WHERE type = 'message'), 0) AS message_bytes
FROM wscap
WHERE type IN ('frame', 'message')
GROUP BY ALL;

-- The summary's per-direction counts against the events' and the end events'.
CREATE OR REPLACE VIEW wscap_check AS
WITH s AS (
    SELECT filename, conn, coalesce(h2_stream, 0) AS h2_stream, d.dir,
           CASE d.dir WHEN 'client' THEN client_frames ELSE server_frames END AS summary_frames,
           CASE d.dir WHEN 'client' THEN client_messages ELSE server_messages END AS summary_messages,
           CASE d.dir WHEN 'client' THEN client_bytes ELSE server_bytes END AS summary_bytes
    FROM wscap CROSS JOIN (VALUES ('client'), ('server')) AS d(dir)
    WHERE type = 'summary'
), e AS (
    SELECT filename, conn, coalesce(h2_stream, 0) AS h2_stream, "from" AS dir,
           count(*) AS end_events, sum(frames) AS end_frames, sum(messages) AS end_messages
    FROM wscap
    WHERE type = 'end'
    GROUP BY ALL
), j AS (
    SELECT s.*,
           coalesce(w.frames, 0) AS frames, coalesce(w.frame_bytes, 0) AS frame_bytes,
           coalesce(w.messages, 0) AS messages, coalesce(w.message_bytes, 0) AS message_bytes,
           coalesce(e.end_events, 0) AS end_events, e.end_frames, e.end_messages
    FROM s
    LEFT JOIN wscap_directions AS w USING (filename, conn, h2_stream, dir)
    LEFT JOIN e USING (filename, conn, h2_stream, dir)
)
SELECT *,
       coalesce(summary_frames = frames AND summary_messages = messages AND summary_bytes = frame_bytes
                AND end_events = 1 AND end_frames = summary_frames AND end_messages = summary_messages,
                false) AS ok
FROM j;
