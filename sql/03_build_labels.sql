-- Step 3: labels_customer, one row per customer per label day (SPEC "labels_customer").
-- The label is 1 when a countable order falls in [L, L + window); an order at exactly L
-- belongs to the label, never to the features at T = L.

CREATE OR REPLACE TABLE `{{project}}.{{dataset}}.labels_customer` AS
WITH
  -- Label days: every Nth snapshot day counting back from the newest whose window
  -- closes by the horizon. A later day would be censored, so it is left out, not 0.
  label_times AS (
    SELECT TIMESTAMP(DATE_SUB(frame.last_label_day, INTERVAL step DAY)) AS label_timestamp
    FROM
      `{{project}}.{{dataset}}.time_frame` AS frame,
      UNNEST(GENERATE_ARRAY(
        0,
        DATE_DIFF(frame.last_label_day, frame.first_snapshot_day, DAY),
        {{label_every_days}}
      )) AS step
  ),
  -- The population at L, by the same rule as the snapshots.
  population AS (
    SELECT c.customer_id, l.label_timestamp
    FROM `{{project}}.{{dataset}}.customer_first_orders` AS c
    JOIN label_times AS l ON c.first_order_at < l.label_timestamp
  ),
  -- Label windows holding a countable order; an order falls in at most a few windows, so
  -- this stays small where grouping the whole population would not.
  repurchases AS (
    SELECT DISTINCT o.customer_id, l.label_timestamp
    FROM `{{project}}.{{dataset}}.orders_prepared` AS o
    JOIN label_times AS l
      ON o.created_at >= l.label_timestamp
      AND o.created_at < TIMESTAMP_ADD(l.label_timestamp, INTERVAL {{label_window_days}} DAY)
    WHERE o.countable
  )
SELECT
  p.customer_id,
  p.label_timestamp,
  CAST(IF(r.customer_id IS NULL, 0, 1) AS INT64) AS label_repurchase_14d
FROM population AS p
LEFT JOIN repurchases AS r
  ON r.customer_id = p.customer_id AND r.label_timestamp = p.label_timestamp;
