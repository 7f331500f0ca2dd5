-- Step 1: the columns the pipeline needs, taken from theLook's raw tables.
-- BigQuery Standard SQL; locally the same text runs on DuckDB after translation.
-- Names in double braces are filled from configs/env.yaml before parsing.

-- One row per order, with its value and whether it counts (SPEC "Countable order").
CREATE OR REPLACE TABLE `{{project}}.{{dataset}}.orders_prepared` AS
WITH
  -- Items summed per order first, so an order of three items is still one order.
  order_values AS (
    SELECT order_id, SUM(sale_price) AS order_value
    FROM `{{source_project}}.{{source_dataset}}.order_items`
    GROUP BY order_id
  )
SELECT
  o.order_id,
  o.user_id AS customer_id,
  o.status,
  o.created_at,
  -- A NULL status is not in the excluded list, so it counts.
  COALESCE(o.status NOT IN {{exclude_statuses}}, TRUE) AS countable,
  COALESCE(v.order_value, 0.0) AS order_value
FROM `{{source_project}}.{{source_dataset}}.orders` AS o
LEFT JOIN order_values AS v ON v.order_id = o.order_id;

-- One row per item, carrying its order's customer, time and countability.
CREATE OR REPLACE TABLE `{{project}}.{{dataset}}.order_items_prepared` AS
SELECT
  o.order_id,
  o.customer_id,
  o.created_at,
  o.countable,
  i.product_id,
  i.sale_price
FROM `{{source_project}}.{{source_dataset}}.order_items` AS i
JOIN `{{project}}.{{dataset}}.orders_prepared` AS o ON o.order_id = i.order_id;

-- The population rule's input: each customer's first order of any status.
CREATE OR REPLACE TABLE `{{project}}.{{dataset}}.customer_first_orders` AS
SELECT customer_id, MIN(created_at) AS first_order_at
FROM `{{project}}.{{dataset}}.orders_prepared`
GROUP BY customer_id;

-- The time frame (SPEC "Time frame"), one row that every later step reads.
CREATE OR REPLACE TABLE `{{project}}.{{dataset}}.time_frame` AS
WITH
  -- The horizon H: configured, or the newest order.
  horizon AS (
    SELECT COALESCE({{horizon}}, MAX(created_at)) AS horizon
    FROM `{{project}}.{{dataset}}.orders_prepared`
  ),
  -- The newest snapshot day: configured, or the day of H.
  snapshot_end AS (
    SELECT horizon, COALESCE({{snapshot_end}}, DATE(horizon)) AS last_snapshot_day
    FROM horizon
  )
SELECT
  horizon,
  DATE_SUB(last_snapshot_day, INTERVAL ({{snapshot_days}} - 1) DAY) AS first_snapshot_day,
  last_snapshot_day,
  -- The newest label day L whose window closes by H: L + window <= H.
  LEAST(
    last_snapshot_day,
    DATE(TIMESTAMP_SUB(horizon, INTERVAL {{label_window_days}} DAY))
  ) AS last_label_day
FROM snapshot_end;
