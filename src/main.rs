//! `fsdemo`: parses the command line and runs one pipeline command. Everything else lives
//! in the command modules (in pipeline order) and the workspace's crates.

mod cli;
mod context;
mod records;

mod data;

mod featurestore;

mod training;

mod serving;

mod demo;

mod bench;

mod report;

mod gcp;

use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

use crate::cli::{
    BenchCommand, Cli, Command, DataCommand, EndpointCommand, FeatureStoreCommand, ModelCommand,
};
use crate::context::Context;

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    init_tracing(cli.global.verbose, cli.global.quiet);

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build();
    let result = runtime.map_err(anyhow::Error::from).and_then(|rt| rt.block_on(run(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let ctx = Context::load(&cli.global)?;
    match &cli.command {
        Command::Data(DataCommand::Generate(args)) => data::generate(&ctx, args).map(drop),
        Command::Data(DataCommand::Build(args)) => {
            data::build(&ctx, args, fsdemo_data::build::Rebuild::Always).await.map(drop)
        }
        Command::Data(DataCommand::Export(args)) => data::export(&ctx, args),
        Command::Featurestore(FeatureStoreCommand::Create(args)) => {
            featurestore::create(&ctx, args).await.map(drop)
        }
        Command::Featurestore(FeatureStoreCommand::Sync(args)) => {
            featurestore::sync(&ctx, args).await.map(drop)
        }
        Command::Featurestore(FeatureStoreCommand::Fetch(args)) => {
            featurestore::fetch(&ctx, args).await
        }
        Command::Featurestore(FeatureStoreCommand::Verify(args)) => {
            featurestore::verify(&ctx, args).await.map(drop)
        }
        Command::Serve(args) => serving::serve(&ctx, args).await,
        Command::Train => training::train(&ctx).await.map(drop),
        Command::Model(ModelCommand::Upload) => training::upload(&ctx).await.map(drop),
        Command::Endpoint(EndpointCommand::Deploy) => training::deploy(&ctx).await.map(drop),
        Command::OnlinePredict(args) => serving::online_predict(&ctx, args).await,
        Command::Demo(args) => demo::run(&ctx, args).await,
        Command::Bench(BenchCommand::Offline(args)) => bench::offline(&ctx, args).await,
        Command::Bench(BenchCommand::Online(args)) => bench::online(&ctx, args).await,
        Command::Report(args) => {
            let page = report::write(&ctx, args.customer_id).await?;
            println!("report: {}", page.display());
            Ok(())
        }
        Command::Doctor => gcp::doctor(&ctx).await,
        Command::Teardown(args) => gcp::teardown(&ctx, args.with_data).await,
    }
}

/// Logs to stderr: info for this program's crates, warnings for the rest, unless RUST_LOG
/// says otherwise.
fn init_tracing(verbose: u8, quiet: bool) {
    let ours = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let crates = [
        "fsdemo",
        "fsdemo_core",
        "fsdemo_sql",
        "fsdemo_data",
        "fsdemo_featurestore",
        "fsdemo_training",
        "fsdemo_serving",
        "fsdemo_gcp",
        "fsdemo_report",
    ];
    let default: Vec<String> = std::iter::once("warn".to_string())
        .chain(crates.iter().map(|c| format!("{c}={ours}")))
        .collect();
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default.join(",")));
    // Colours only on a terminal: `make demo` tees the log into a file.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
