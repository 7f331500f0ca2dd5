-- Step 4: train_dataset, the point-in-time join (SPEC "train_dataset").
-- Exactly one row per label: the label plus the whole features row of the same customer
-- with the greatest feature_timestamp <= label_timestamp, or NULL features if none.

CREATE OR REPLACE TABLE `{{project}}.{{dataset}}.train_dataset` AS
WITH
  -- Snapshots and labels of each customer on one time line. At equal times the snapshot
  -- sorts first, so the snapshot taken at the label time itself counts.
  time_line AS (
    SELECT
      customer_id,
      feature_timestamp AS event_time,
      0 AS event_order,
      feature_timestamp,
      CAST(NULL AS TIMESTAMP) AS label_timestamp,
      CAST(NULL AS INT64) AS label_repurchase_14d
    FROM `{{project}}.{{dataset}}.features_customer`
    UNION ALL
    SELECT
      customer_id,
      label_timestamp,
      1,
      CAST(NULL AS TIMESTAMP),
      label_timestamp,
      label_repurchase_14d
    FROM `{{project}}.{{dataset}}.labels_customer`
  ),
  -- The point-in-time rule, written once: the newest snapshot time at or before each
  -- event is the running maximum of snapshot times along the customer's time line.
  as_of AS (
    SELECT
      customer_id,
      label_timestamp,
      label_repurchase_14d,
      MAX(feature_timestamp) OVER (
        PARTITION BY customer_id
        ORDER BY event_time, event_order
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ) AS feature_timestamp
    FROM time_line
  )
-- Each label takes the whole snapshot row it points at; none leaves the features NULL.
SELECT
  a.customer_id,
  a.label_timestamp,
  a.label_repurchase_14d,
  f.* EXCEPT (customer_id)
FROM as_of AS a
LEFT JOIN `{{project}}.{{dataset}}.features_customer` AS f
  ON f.customer_id = a.customer_id AND f.feature_timestamp = a.feature_timestamp
WHERE a.label_timestamp IS NOT NULL;
