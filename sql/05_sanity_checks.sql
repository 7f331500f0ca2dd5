-- Step 5: invariants of the tables above, as one row. The build fails when any
-- *_violations column is not 0; the rates are logged.

WITH
  -- No training row may use a snapshot from after its label time.
  future AS (
    SELECT COUNTIF(feature_timestamp > label_timestamp) AS future_snapshot_violations
    FROM `{{project}}.{{dataset}}.train_dataset`
  ),
  -- Every label has exactly one training row.
  rows_per_label AS (
    SELECT l.customer_id, l.label_timestamp, COUNT(t.customer_id) AS training_rows
    FROM `{{project}}.{{dataset}}.labels_customer` AS l
    LEFT JOIN `{{project}}.{{dataset}}.train_dataset` AS t
      ON t.customer_id = l.customer_id AND t.label_timestamp = l.label_timestamp
    GROUP BY l.customer_id, l.label_timestamp
  ),
  coverage AS (
    SELECT
      COUNTIF(training_rows = 0) AS label_without_row_violations,
      COUNTIF(training_rows > 1) AS label_with_many_rows_violations,
      COUNT(*) AS label_rows
    FROM rows_per_label
  ),
  -- Training rows that belong to no label (the counts must match).
  train_count AS (
    SELECT COUNT(*) AS train_rows
    FROM `{{project}}.{{dataset}}.train_dataset`
  ),
  -- A (customer_id, feature_timestamp) pair occurs at most once.
  duplicates AS (
    SELECT COUNT(*) AS duplicate_snapshot_violations
    FROM (
      SELECT customer_id, feature_timestamp
      FROM `{{project}}.{{dataset}}.features_customer`
      GROUP BY customer_id, feature_timestamp
      HAVING COUNT(*) > 1
    ) AS repeated
  ),
  -- The positive rate of the label, and each feature's NULL rate.
  rates AS (
    SELECT
      (SELECT AVG(label_repurchase_14d) FROM `{{project}}.{{dataset}}.labels_customer`)
        AS positive_rate,
      COUNT(*) AS snapshot_rows,
      SAFE_DIVIDE(COUNTIF(orders_7d IS NULL), COUNT(*)) AS null_rate_orders_7d,
      SAFE_DIVIDE(COUNTIF(orders_30d IS NULL), COUNT(*)) AS null_rate_orders_30d,
      SAFE_DIVIDE(COUNTIF(revenue_30d IS NULL), COUNT(*)) AS null_rate_revenue_30d,
      SAFE_DIVIDE(COUNTIF(avg_order_value_30d IS NULL), COUNT(*))
        AS null_rate_avg_order_value_30d,
      SAFE_DIVIDE(COUNTIF(days_since_last_order IS NULL), COUNT(*))
        AS null_rate_days_since_last_order,
      SAFE_DIVIDE(COUNTIF(distinct_products_30d IS NULL), COUNT(*))
        AS null_rate_distinct_products_30d
    FROM `{{project}}.{{dataset}}.features_customer`
  )
SELECT
  future.future_snapshot_violations,
  coverage.label_without_row_violations,
  coverage.label_with_many_rows_violations,
  train_count.train_rows - coverage.label_rows AS train_without_label_violations,
  duplicates.duplicate_snapshot_violations,
  coverage.label_rows,
  train_count.train_rows,
  rates.*
FROM future, coverage, train_count, duplicates, rates;
