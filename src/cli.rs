//! The command line: global options and one subcommand per pipeline step, in pipeline
//! order. Parsing only; `main` hands the result to the command modules.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `--config-dir` when not given.
pub const DEFAULT_CONFIG_DIR: &str = "configs";

/// `--workdir` when not given.
pub const DEFAULT_WORKDIR: &str = ".fsdemo";

/// Why a feature store matters, end to end: theLook orders to point-in-time training data,
/// a Vertex AI style feature store, a model, and online predictions.
#[derive(Debug, Parser)]
#[command(name = "fsdemo", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses this process's arguments. `--set` may be given before and after the
    /// subcommand (`fsdemo --set a=1 demo --set b=2`); clap keeps only the subcommand's
    /// values of a global option (clap-rs/clap#3938), so every `--set` is collected here.
    pub fn parse_args() -> Cli {
        let mut cli = Cli::parse();
        cli.global.overrides = every_set(std::env::args().skip(1));
        cli
    }
}

/// Every `--set VALUE` and `--set=VALUE` in `args`, in order, up to a `--`.
fn every_set(args: impl Iterator<Item = String>) -> Vec<String> {
    let mut values = Vec::new();
    let mut args = args.take_while(|arg| arg != "--");
    while let Some(arg) = args.next() {
        if arg == "--set" {
            values.extend(args.next());
        } else if let Some(value) = arg.strip_prefix("--set=") {
            values.push(value.to_string());
        }
    }
    values
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Where to run: `local` (DuckDB, an embedded store, a local service) or `gcp`
    /// (BigQuery and Vertex AI). Overrides `project.profile`.
    #[arg(long, global = true, value_enum)]
    pub profile: Option<ProfileArg>,

    /// The folder with env.yaml, featurestore.yaml and training.yaml.
    #[arg(long, global = true, default_value = DEFAULT_CONFIG_DIR)]
    pub config_dir: PathBuf,

    /// Where the local profile keeps everything it writes.
    #[arg(long, global = true, default_value = DEFAULT_WORKDIR)]
    pub workdir: PathBuf,

    /// Overrides one configuration value, e.g. `--set data.snapshot_days=30`; repeatable.
    #[arg(long = "set", global = true, value_name = "SECTION.KEY=VALUE")]
    pub overrides: Vec<String>,

    /// More log detail (`-v` debug, `-vv` trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only warnings and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// The `--profile` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// DuckDB, an embedded online store and a local service.
    Local,
    /// BigQuery and Vertex AI.
    Gcp,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The offline tables: generate an export, build the SQL steps, export a table.
    #[command(subcommand)]
    Data(DataCommand),

    /// Feature store resources, syncs and online reads.
    #[command(subcommand)]
    Featurestore(FeatureStoreCommand),

    /// The local online service (fetch, sync and predict in Vertex AI's REST shapes).
    Serve(ServeArgs),

    /// Trains the model on train_dataset, evaluated out of time, and saves model.bst.
    Train,

    /// The model registry.
    #[command(subcommand)]
    Model(ModelCommand),

    /// Endpoints.
    #[command(subcommand)]
    Endpoint(EndpointCommand),

    /// Customer id -> features from the feature view -> prediction, over HTTP.
    OnlinePredict(OnlinePredictArgs),

    /// Every step in order, reusing what exists, ending with online predictions.
    Demo(DemoArgs),

    /// Speed and memory benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),

    /// Writes the HTML report of the last run and prints its path.
    Report(ReportArgs),

    /// Checks credentials, APIs, permissions and locations before spending anything (gcp).
    Doctor,

    /// Deletes the billed resources: endpoint, model, feature view, group, online store (gcp).
    Teardown(TeardownArgs),
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Writes a synthetic theLook export, deterministic for a seed.
    Generate(GenerateArgs),
    /// Loads the source and runs the SQL steps (01 to 05) in order.
    Build(BuildArgs),
    /// Writes a built table to a .csv or .parquet file.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The folder to write the export into.
    #[arg(long)]
    pub out: PathBuf,
    /// Users in the export (default: data.generate_users).
    #[arg(long)]
    pub users: Option<u32>,
    /// Random seed (default: data.generate_seed).
    #[arg(long)]
    pub seed: Option<u64>,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// gcp: BigQuery dry runs of every step, with bytes and cost, creating nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A table of the dataset, e.g. train_dataset.
    pub table: String,
    /// The file to write; .csv or .parquet.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum FeatureStoreCommand {
    /// Creates the online store, feature group, features and feature view that are missing.
    Create(CreateArgs),
    /// Starts a sync of the feature view.
    Sync(SyncArgs),
    /// Fetches one customer's features through the online service.
    Fetch(FetchArgs),
    /// Compares served values with the newest offline rows.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Replaces every resource instead of reusing it.
    #[arg(long)]
    pub recreate: bool,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Polls the sync to its end and prints the outcome.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The customer (`customer_id`).
    #[arg(long, alias = "customer_id")]
    pub customer_id: String,
    /// The response format to ask for.
    #[arg(long, value_enum, default_value = "key-value")]
    pub format: FormatArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// `KEY_VALUE`: typed values.
    KeyValue,
    /// `PROTO_STRUCT`: one JSON object.
    ProtoStruct,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// How many customers to compare.
    #[arg(long, default_value_t = 200)]
    pub sample: usize,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Starts the service in the background and returns once it is healthy.
    #[arg(long, conflicts_with = "stop")]
    pub detach: bool,
    /// Stops the background service.
    #[arg(long)]
    pub stop: bool,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Registers the trained model.bst as a Model version (reused if unchanged).
    Upload,
}

#[derive(Debug, Subcommand)]
pub enum EndpointCommand {
    /// Deploys the newest model version with 100% of the traffic.
    Deploy,
}

#[derive(Debug, Args)]
pub struct OnlinePredictArgs {
    /// One or more customers: `--customer-id 1 2`, `--customer-id 1,2` or `--customer_id=1`.
    #[arg(long, alias = "customer_id", required = true, num_args = 1.., value_delimiter = ',')]
    pub customer_id: Vec<String>,
    /// Prints one JSON object per customer instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Uses the tables as they are (no generate, load or build).
    #[arg(long)]
    pub skip_data: bool,
    /// Uses the feature store as it is (no create, no sync).
    #[arg(long)]
    pub skip_featurestore: bool,
    /// Uses the trained model as it is.
    #[arg(long)]
    pub skip_training: bool,
    /// Uses the registry and endpoint as they are (no upload, no deploy).
    #[arg(long)]
    pub skip_deploy: bool,
    /// The customers to predict for; default: 10 taken from the online store.
    #[arg(long, alias = "customer_ids", value_delimiter = ',')]
    pub customer_ids: Vec<String>,
    /// gcp: only the BigQuery dry runs, with bytes and cost.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Times each offline step with peak memory at theLook scale and at 10x users.
    Offline(BenchOfflineArgs),
    /// Latency and throughput of fetch (and fetch + predict) against the local service.
    Online(BenchOnlineArgs),
}

#[derive(Debug, Args)]
pub struct BenchOfflineArgs {
    /// Users at scale 1 (theLook has 100,000).
    #[arg(long, default_value_t = 100_000)]
    pub users: u32,
    /// The scales to run, as multiples of --users.
    #[arg(long, value_delimiter = ',', default_value = "1,10")]
    pub scales: Vec<u32>,
}

#[derive(Debug, Args)]
pub struct BenchOnlineArgs {
    /// Requests of the fetch measurement; fetch + predict runs half as many, each being
    /// two HTTP calls.
    #[arg(long, default_value_t = 50_000)]
    pub requests: usize,
    /// Requests in flight at once; 4 keeps both cores of a small machine busy without
    /// measuring queueing.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Also measures a sync from the warehouse (requires a built warehouse).
    #[arg(long)]
    pub sync: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The customer of the point-in-time panel; default: one picked automatically.
    #[arg(long, alias = "customer_id")]
    pub customer_id: Option<i64>,
}

#[derive(Debug, Args)]
pub struct TeardownArgs {
    /// Also deletes the BigQuery dataset and the Cloud Storage bucket.
    #[arg(long)]
    pub with_data: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets(line: &str) -> Vec<String> {
        every_set(line.split_whitespace().map(str::to_string))
    }

    #[test]
    fn set_before_and_after_the_subcommand_all_count_in_order() {
        assert_eq!(sets("--set a=1 demo --set=b=2 --skip-data --set c=3"), ["a=1", "b=2", "c=3"]);
        assert_eq!(sets("demo --customer-ids 1,2"), Vec::<String>::new());
    }

    #[test]
    fn clap_alone_drops_the_values_given_before_the_subcommand() {
        // Why `parse_args` collects them itself: if clap ever merges, this fails and the
        // workaround can go.
        let cli = Cli::parse_from(["fsdemo", "--set", "a=1", "doctor", "--set", "b=2"]);
        assert_eq!(cli.global.overrides, ["b=2"]);
    }
}
