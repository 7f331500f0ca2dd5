//! The online side: `fsdemo serve` (the local service, foreground or background), the
//! online handle both profiles share (one [`VertexClient`] for fetch and predict, pointed
//! at the local service or at Vertex AI), and `fsdemo online-predict`.

pub mod local;
pub mod process;

use anyhow::bail;
use fsdemo_core::time::format_timestamp;
use fsdemo_core::{FeatureValue, MODEL_INPUTS};
use fsdemo_serving::client::FetchedFeatures;
use fsdemo_serving::{DataFormat, VertexClient};
use serde::{Deserialize, Serialize};

use crate::cli::{OnlinePredictArgs, ServeArgs};
use crate::context::Context;

/// Where online calls go: one client, the feature view and the endpoint by full name.
pub struct Online {
    /// The client, with a bearer token on gcp.
    pub client: VertexClient,
    /// The feature view's full name.
    pub view: String,
    /// The endpoint's full name.
    pub endpoint: String,
    /// A separate client for predict when it is served from another host (gcp with
    /// Optimized online serving); `None` means `client`.
    pub predict_client: Option<VertexClient>,
}

impl Online {
    /// The client predict calls use.
    pub fn predictor(&self) -> &VertexClient {
        self.predict_client.as_ref().unwrap_or(&self.client)
    }
}

/// The online handle of the configured profile; locally it starts the service if needed.
pub async fn online(ctx: &Context) -> anyhow::Result<Online> {
    if ctx.is_gcp() {
        return crate::gcp::online(ctx).await;
    }
    let (url, started) = process::ensure_running(ctx).await?;
    if started {
        println!(
            "started the local service at {url} (stop it with `{}`)",
            ctx.suggest("serve --stop")
        );
    }
    Ok(Online {
        client: VertexClient::new(url)?,
        view: ctx.feature_view_name(),
        endpoint: ctx.endpoint_name(),
        predict_client: None,
    })
}

/// `fsdemo serve [--detach | --stop]`.
pub async fn serve(ctx: &Context, args: &ServeArgs) -> anyhow::Result<()> {
    if ctx.is_gcp() {
        bail!(
            "serve runs the local service; with --profile gcp, Vertex AI serves the feature \
             view and the endpoint"
        );
    }
    if args.stop {
        match process::stop(ctx).await? {
            true => println!("stopped the local service"),
            false => println!("the local service was not running"),
        }
        return Ok(());
    }
    if args.detach {
        let (url, started) = process::ensure_running(ctx).await?;
        let how = if started { "started" } else { "already running" };
        println!("local service {how} at {url} (log: {})", ctx.paths.service_log.display());
        return Ok(());
    }
    if let Some((pid, url)) = process::running(ctx) {
        let url = url.unwrap_or_else(|| process::url(ctx));
        bail!(
            "serve: the local service already runs (pid {pid}) at {url}; stop it first with `{}`",
            ctx.suggest("serve --stop")
        );
    }
    process::run_foreground(ctx).await
}

/// One customer's online answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OnlinePrediction {
    /// The customer.
    pub customer_id: i64,
    /// The served features, by name; `None` for NULL.
    pub features: Vec<(String, Option<f64>)>,
    /// The snapshot time of the served row, UTC microseconds.
    pub feature_timestamp: Option<i64>,
    /// The model input after the shared fill rule.
    pub inputs: [f64; 6],
    /// P(orders again within 14 days).
    pub prediction: f64,
    /// The deployed model that answered.
    pub deployed_model_id: String,
}

/// Fetches each customer's features, fills them, and predicts them in one call; returns
/// the answers and the customers the feature view has no row for.
pub async fn predict_customers(
    online: &Online,
    customers: &[String],
) -> anyhow::Result<(Vec<OnlinePrediction>, Vec<String>)> {
    let mut fetched: Vec<(i64, FetchedFeatures)> = Vec::new();
    let mut missing = Vec::new();
    for key in customers {
        let id: i64 = key.trim().parse().map_err(|_| {
            anyhow::anyhow!(
                "online-predict: customer id {key:?} is not an integer (customer_id is INT64)"
            )
        })?;
        match online
            .client
            .fetch_feature_values(&online.view, &id.to_string(), DataFormat::KeyValue)
            .await
        {
            Ok(features) => fetched.push((id, features)),
            Err(error) if error.is_not_found() => missing.push(key.clone()),
            Err(error) => return Err(error.into()),
        }
    }
    if fetched.is_empty() {
        return Ok((Vec::new(), missing));
    }

    let instances: Vec<[f64; 6]> = fetched.iter().map(|(_, f)| f.model_input()).collect();
    let answer = online.predictor().predict(&online.endpoint, &instances).await?;
    let predictions = fetched
        .into_iter()
        .zip(instances)
        .zip(answer.predictions)
        .map(|(((customer_id, features), inputs), prediction)| OnlinePrediction {
            customer_id,
            feature_timestamp: features.feature_timestamp,
            features: features
                .features
                .iter()
                .map(|(name, v)| (name.clone(), v.map(FeatureValue::as_f64)))
                .collect(),
            inputs,
            prediction,
            deployed_model_id: answer.deployed_model_id.clone(),
        })
        .collect();
    Ok((predictions, missing))
}

/// `fsdemo online-predict --customer-id X [Y ...] [--json]`.
pub async fn online_predict(ctx: &Context, args: &OnlinePredictArgs) -> anyhow::Result<()> {
    let online = online(ctx).await?;
    let (predictions, missing) = predict_customers(&online, &args.customer_id).await?;

    for answer in &predictions {
        if args.json {
            println!("{}", serde_json::to_string(&json_line(answer))?);
        } else {
            println!("customer {}", answer.customer_id);
            println!("features: {}", features_text(answer));
            println!("prediction: {:.4}", answer.prediction);
        }
    }
    if !missing.is_empty() {
        bail!(
            "online-predict: no features for customer(s) {} in feature view {}: they have no \
             order before the newest snapshot, or the view was not synced since (run \
             `fsdemo featurestore sync --wait`)",
            missing.join(", "),
            online.view
        );
    }
    Ok(())
}

/// The features as `{"orders_7d": 1, ..., "feature_timestamp": "..."}`.
pub fn features_text(answer: &OnlinePrediction) -> String {
    let mut parts: Vec<String> = answer
        .features
        .iter()
        .map(|(name, value)| match value {
            Some(v) => format!("\"{name}\": {}", number(*v)),
            None => format!("\"{name}\": null"),
        })
        .collect();
    if let Some(ts) = answer.feature_timestamp {
        parts.push(format!("\"feature_timestamp\": \"{}\"", format_timestamp(ts)));
    }
    format!("{{{}}}", parts.join(", "))
}

fn json_line(answer: &OnlinePrediction) -> serde_json::Value {
    let features: serde_json::Map<String, serde_json::Value> =
        answer.features.iter().map(|(name, v)| (name.clone(), serde_json::json!(v))).collect();
    let inputs: serde_json::Map<String, serde_json::Value> = MODEL_INPUTS
        .iter()
        .zip(answer.inputs)
        .map(|(n, v)| (n.to_string(), serde_json::json!(v)))
        .collect();
    serde_json::json!({
        "customer_id": answer.customer_id,
        "features": features,
        "feature_timestamp": answer.feature_timestamp.map(format_timestamp),
        "model_input": inputs,
        "prediction": answer.prediction,
        "deployed_model_id": answer.deployed_model_id,
    })
}

/// A whole number without a fraction, others with up to 4 decimals.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{:.4}", value).trim_end_matches('0').to_string()
    }
}
