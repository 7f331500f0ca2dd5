//! `bench online`: a bounded number of requests against the running local service on
//! 127.0.0.1 from this process (the load generator shares the machine, as the targets
//! assume): single-key `fetchFeatureValues` latency and throughput, the full online path
//! (fetch, then predict, both over HTTP), and the time of one sync.
//!
//! Each of `concurrency` workers sends its requests one after the other on its own
//! keep-alive connection with a prepared body, so the numbers measure the service, not
//! JSON building in the client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use fsdemo_serving::{DataFormat, VertexClient};
use serde::{Deserialize, Serialize};

use super::Latency;
use crate::cli::BenchOnlineArgs;
use crate::context::Context;
use crate::records;
use crate::serving::{self, Online};

/// Requests sent before measuring, to open connections and warm caches.
const WARM_UP: usize = 2_000;

/// What `bench online` measured, as `runs/bench_online.json` keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OnlineBench {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Single-key fetches.
    pub fetch: Latency,
    /// Fetch then predict, per customer.
    pub full_path: Latency,
    /// One sync of the feature view, seconds (from its FeatureViewSync run time).
    pub sync_secs: Option<f64>,
    /// Rows that sync published.
    pub sync_rows: Option<u64>,
}

/// `fsdemo bench online`.
pub async fn online(ctx: &Context, args: &BenchOnlineArgs) -> anyhow::Result<()> {
    if ctx.is_gcp() {
        bail!(
            "bench online loads the local service; Vertex AI's serving is billed per node, \
             measure it with Google's own load tools"
        );
    }
    let online = serving::online(ctx).await?;
    let keys = online.client.entity_ids(&online.view, 10_000).await?;
    if keys.is_empty() {
        bail!(
            "bench online: feature view {} serves no customer; run `fsdemo demo` first",
            online.view
        );
    }
    let keys: Arc<Vec<String>> = Arc::new(keys.iter().map(i64::to_string).collect());
    let base = crate::serving::process::url(ctx);

    run(&base, &online, &keys, WARM_UP, args.concurrency, false).await?;
    let fetch = run(&base, &online, &keys, args.requests, args.concurrency, false).await?;
    print("fetchFeatureValues", &fetch);
    let full_path = run(&base, &online, &keys, args.requests / 2, args.concurrency, true).await?;
    print("fetch + predict", &full_path);

    let (sync_secs, sync_rows) = if args.sync { sync_time(&online).await? } else { (None, None) };
    if let (Some(secs), Some(rows)) = (sync_secs, sync_rows) {
        println!("sync: {rows} rows in {secs:.2} s");
    }
    let record =
        OnlineBench { concurrency: args.concurrency, fetch, full_path, sync_secs, sync_rows };
    records::save(&ctx.paths.runs, "bench_online", &record)?;
    Ok(())
}

/// Sends `requests` spread over `concurrency` workers; with `predict`, each fetch is
/// followed by a predict of the fetched row.
async fn run(
    base: &str,
    online: &Online,
    keys: &Arc<Vec<String>>,
    requests: usize,
    concurrency: usize,
    predict: bool,
) -> anyhow::Result<Latency> {
    let concurrency = concurrency.max(1);
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let share = requests / concurrency + usize::from(worker < requests % concurrency);
        let client = VertexClient::new(base)?;
        let (view, endpoint, keys) = (online.view.clone(), online.endpoint.clone(), keys.clone());
        workers.spawn(async move {
            let mut micros = Vec::with_capacity(share);
            let mut errors = 0;
            for i in 0..share {
                let key = &keys[(worker * 7919 + i * 104_729) % keys.len()];
                let sent = Instant::now();
                let ok = match client.fetch_feature_values(&view, key, DataFormat::KeyValue).await {
                    Ok(features) if predict => {
                        client.predict(&endpoint, &[features.model_input()]).await.is_ok()
                    }
                    Ok(_) => true,
                    Err(_) => false,
                };
                micros.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                errors += usize::from(!ok);
            }
            (micros, errors)
        });
    }

    let (mut micros, mut errors) = (Vec::with_capacity(requests), 0);
    while let Some(done) = workers.join_next().await {
        let (worker_micros, worker_errors) = done.context("a load worker panicked")?;
        micros.extend(worker_micros);
        errors += worker_errors;
    }
    Ok(Latency::from_micros(micros, errors, started.elapsed().as_secs_f64()))
}

/// Starts one sync and reads its duration from its run time.
async fn sync_time(online: &Online) -> anyhow::Result<(Option<f64>, Option<u64>)> {
    let name = online.client.start_sync(&online.view).await?;
    let started = Instant::now();
    loop {
        let sync = online.client.get_sync(&name).await?;
        if sync.is_done() {
            let seconds = sync.run_time.as_ref().and_then(|t| {
                let start = chrono::DateTime::parse_from_rfc3339(&t.start_time).ok()?;
                let end = chrono::DateTime::parse_from_rfc3339(t.end_time.as_deref()?).ok()?;
                Some((end - start).num_milliseconds() as f64 / 1000.0)
            });
            return Ok((seconds.or(Some(started.elapsed().as_secs_f64())), sync.rows_synced()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn print(what: &str, l: &Latency) {
    println!(
        "{what:<20} {:>7} requests  p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  max {:.2} ms  \
         {:>8.0} req/s  {} errors",
        l.requests, l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, l.requests_per_sec, l.errors
    );
}
