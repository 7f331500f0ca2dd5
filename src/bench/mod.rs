//! `fsdemo bench ...`: the speed and memory numbers the README reports, measured by the
//! program itself rather than by timed tests. `offline` times each SQL step with its peak
//! memory at theLook scale and beyond; `online` loads the local service over loopback.

mod offline;
mod online;

pub use offline::offline;
pub use online::{online, OnlineBench};

/// Latency percentiles and throughput of one measurement.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Latency {
    /// Requests measured (warm-up excluded).
    pub requests: usize,
    /// Requests that failed.
    pub errors: usize,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 90th percentile, milliseconds.
    pub p90_ms: f64,
    /// 99th percentile, milliseconds.
    pub p99_ms: f64,
    /// The slowest request, milliseconds.
    pub max_ms: f64,
    /// Completed requests per second over the whole run.
    pub requests_per_sec: f64,
}

impl Latency {
    /// Percentiles of `micros` (sorted here) over a run of `seconds`.
    pub fn from_micros(mut micros: Vec<u32>, errors: usize, seconds: f64) -> Latency {
        micros.sort_unstable();
        let at = |q: f64| {
            let index = ((micros.len() as f64 - 1.0) * q).round() as usize;
            micros.get(index).copied().unwrap_or(0) as f64 / 1000.0
        };
        Latency {
            requests: micros.len(),
            errors,
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            max_ms: micros.last().copied().unwrap_or(0) as f64 / 1000.0,
            requests_per_sec: micros.len() as f64 / seconds.max(1e-9),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Latency;

    #[test]
    fn percentiles_come_from_the_sorted_sample() {
        let micros: Vec<u32> = (1..=100).rev().map(|v| v * 10).collect();

        let latency = Latency::from_micros(micros, 2, 0.5);

        assert_eq!(latency.requests, 100);
        assert_eq!(latency.p50_ms, 0.51);
        assert_eq!(latency.p99_ms, 0.99);
        assert_eq!(latency.max_ms, 1.0);
        assert_eq!(latency.requests_per_sec, 200.0);
        assert_eq!(latency.errors, 2);
    }
}
