-- Step 2: features_customer, one snapshot per customer per day (SPEC "features_customer").
-- At snapshot time T only orders created before T are known; windows are [T - N days, T).
--
-- Locally, DuckDB estimates the range join `population` (12M rows on theLook) at a few
-- dozen rows and builds the next hash join on it instead of on the orders: an allocation
-- its memory limit cannot spill, so about one build in five ran out of memory at 1.5GB.
-- Every join below has its big input on the left; keep the sides as written:
-- duckdb: disabled_optimizers = 'build_side_probe_side'

CREATE OR REPLACE TABLE `{{project}}.{{dataset}}.features_customer` AS
WITH
  -- Snapshot times T: midnight UTC of every day in the time frame.
  snapshot_times AS (
    SELECT TIMESTAMP(day) AS feature_timestamp
    FROM
      `{{project}}.{{dataset}}.time_frame` AS frame,
      UNNEST(GENERATE_DATE_ARRAY(frame.first_snapshot_day, frame.last_snapshot_day)) AS day
  ),
  -- The population at T: customers with an order of any status created before T.
  population AS (
    SELECT c.customer_id, s.feature_timestamp
    FROM `{{project}}.{{dataset}}.customer_first_orders` AS c
    JOIN snapshot_times AS s ON c.first_order_at < s.feature_timestamp
  ),
  -- Order windows: every countable order created before T, counted per window.
  order_windows AS (
    SELECT
      p.customer_id,
      p.feature_timestamp,
      COUNTIF(o.created_at >= TIMESTAMP_SUB(p.feature_timestamp, INTERVAL 7 DAY)) AS orders_7d,
      COUNTIF(o.created_at >= TIMESTAMP_SUB(p.feature_timestamp, INTERVAL 30 DAY)) AS orders_30d,
      SUM(
        IF(o.created_at >= TIMESTAMP_SUB(p.feature_timestamp, INTERVAL 30 DAY), o.order_value, 0.0)
      ) AS revenue_30d,
      MAX(o.created_at) AS last_order_at
    FROM population AS p
    LEFT JOIN `{{project}}.{{dataset}}.orders_prepared` AS o
      ON o.customer_id = p.customer_id
      AND o.countable
      AND o.created_at < p.feature_timestamp
    GROUP BY p.customer_id, p.feature_timestamp
  ),
  -- Product windows: distinct products over the items of the 30-day countable orders.
  product_windows AS (
    SELECT
      p.customer_id,
      p.feature_timestamp,
      COUNT(DISTINCT i.product_id) AS distinct_products_30d
    FROM population AS p
    JOIN `{{project}}.{{dataset}}.order_items_prepared` AS i
      ON i.customer_id = p.customer_id
      AND i.countable
      AND i.created_at >= TIMESTAMP_SUB(p.feature_timestamp, INTERVAL 30 DAY)
      AND i.created_at < p.feature_timestamp
    GROUP BY p.customer_id, p.feature_timestamp
  )
SELECT
  w.customer_id,
  w.feature_timestamp,
  w.orders_7d,
  w.orders_30d,
  w.revenue_30d,
  SAFE_DIVIDE(w.revenue_30d, w.orders_30d) AS avg_order_value_30d,
  -- Whole 24-hour days, truncated; NULL when no countable order came before T.
  TIMESTAMP_DIFF(w.feature_timestamp, w.last_order_at, DAY) AS days_since_last_order,
  COALESCE(pw.distinct_products_30d, 0) AS distinct_products_30d
FROM order_windows AS w
LEFT JOIN product_windows AS pw
  ON pw.customer_id = w.customer_id AND pw.feature_timestamp = w.feature_timestamp;
