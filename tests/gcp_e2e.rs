//! The gcp profile end to end, through the `fsdemo` binary, against in-process fakes of
//! BigQuery, Cloud Storage, Vertex AI, Resource Manager, Service Usage and OAuth
//! (`fsdemo-gcp-fake`, which checks every request against Google's REST reference). The
//! fake BigQuery runs the SQL it receives on DuckDB through the same translation as the
//! local profile, so the gcp demo works on real rows: every step, the reuse on a second
//! run, the dry run, doctor and teardown, and Application Default Credentials from a
//! service account key file. Nothing here reaches beyond 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use fsdemo_data::generate::{generate, GenerateOptions};
use fsdemo_data::read::translate_query;
use fsdemo_data::{load_export, Cell, Warehouse};
use fsdemo_gcp_fake::{FakeGcp, QueryEngine, QueryOutput};

const PROJECT: &str = "demo-project";

/// BigQuery's SQL run on a DuckDB warehouse holding a generated theLook export.
struct DuckEngine {
    warehouse: Mutex<Warehouse>,
}

impl DuckEngine {
    fn new(dir: &Path) -> DuckEngine {
        let export = dir.join("export");
        generate(&export, &GenerateOptions { users: 2_000, seed: 11 }).unwrap();
        let warehouse = Warehouse::open(&dir.join("bigquery.duckdb")).unwrap();
        load_export(&warehouse, &export, "thelook_ecommerce").unwrap();
        warehouse.execute("setup", "dataset", "CREATE SCHEMA IF NOT EXISTS fsdemo").unwrap();
        DuckEngine { warehouse: Mutex::new(warehouse) }
    }
}

impl QueryEngine for DuckEngine {
    fn execute(&self, sql: &str) -> Result<QueryOutput, String> {
        let statements =
            fsdemo_sql::split_statements("bigquery job", sql).map_err(|e| e.to_string())?;
        let statement = statements.first().ok_or("empty query")?;
        let duck =
            fsdemo_sql::to_duckdb("bigquery job", statement, &[PROJECT, "bigquery-public-data"])
                .map_err(|e| e.to_string())?;
        let warehouse = self.warehouse.lock().unwrap();

        if let Some(table) = duck.creates {
            warehouse.execute("job", &table.bigquery, &duck.sql).map_err(|e| e.to_string())?;
            let rows =
                warehouse.count_rows(&table.schema, &table.table).map_err(|e| e.to_string())?;
            return Ok(QueryOutput {
                created_table: Some(table.bigquery),
                created_rows: rows,
                ..QueryOutput::default()
            });
        }
        let sql = translate_query("bigquery job", sql, &[PROJECT, "bigquery-public-data"])
            .map_err(|e| e.to_string())?;
        let rows = warehouse.select("job", &sql).map_err(|e| e.to_string())?;
        let types: Vec<&str> = (0..rows.columns.len())
            .map(|i| {
                rows.rows.iter().map(|r| kind(&r[i])).find(|k| *k != "NULL").unwrap_or("STRING")
            })
            .collect();
        let columns =
            rows.columns.iter().cloned().zip(types.iter().map(|t| t.to_string())).collect();
        let values = rows.rows.iter().map(|row| row.iter().map(text).collect()).collect();
        Ok(QueryOutput { columns, rows: values, ..QueryOutput::default() })
    }
}

fn kind(cell: &Cell) -> &'static str {
    match cell {
        Cell::Null => "NULL",
        Cell::Int(_) => "INT64",
        Cell::Float(_) => "FLOAT64",
        Cell::Bool(_) => "BOOL",
        Cell::Text(_) => "STRING",
        Cell::Timestamp(_) => "TIMESTAMP",
        Cell::Date(_) => "DATE",
    }
}

/// A cell as BigQuery's JSON carries it (TIMESTAMP in microseconds, as
/// `formatOptions.useInt64Timestamp` asks).
fn text(cell: &Cell) -> Option<String> {
    Some(match cell {
        Cell::Null => return None,
        Cell::Int(v) | Cell::Timestamp(v) => v.to_string(),
        Cell::Float(v) => v.to_string(),
        Cell::Bool(v) => v.to_string(),
        Cell::Text(v) => v.clone(),
        Cell::Date(days) => {
            (chrono::NaiveDate::default() + chrono::Duration::days((*days).into())).to_string()
        }
    })
}

/// The fakes, their BigQuery running on a DuckDB warehouse in `dir` that holds a generated
/// export, with theLook's public source tables registered.
async fn fakes(dir: &Path) -> Arc<FakeGcp> {
    let fake = Arc::new(FakeGcp::start(Arc::new(DuckEngine::new(dir))).await.unwrap());
    for table in ["orders", "order_items"] {
        fake.add_table(&format!("bigquery-public-data.thelook_ecommerce.{table}"), 1_000);
    }
    fake
}

/// Runs `fsdemo --profile gcp` with the fakes' URLs and a fixed access token.
fn fsdemo(fake: &FakeGcp, workdir: &Path, args: &[&str]) -> Output {
    let mut command = gcp_command(fake, workdir, args);
    run(command.env("FSDEMO_GCP_ACCESS_TOKEN", "test-token"), args)
}

/// `fsdemo --profile gcp ARGS` with the fakes' URLs, credentials left to the caller.
fn gcp_command(fake: &FakeGcp, workdir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fsdemo"));
    command
        .args(["--profile", "gcp", "--workdir"])
        .arg(workdir)
        .args(["--config-dir"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("configs"));
    let mut overrides = fake.set_overrides();
    overrides.extend([
        format!("project.id={PROJECT}"),
        "project.location=us-central1".into(),
        "gcp.poll_interval_ms=10".into(),
    ]);
    for assignment in overrides {
        command.args(["--set", &assignment]);
    }
    command.args(args);
    command
}

/// `fsdemo --profile gcp doctor` with Application Default Credentials from `key_file`
/// (no fixed token), off the runtime so the fakes keep answering.
async fn doctor_with_key_file(fake: &Arc<FakeGcp>, workdir: PathBuf, key_file: PathBuf) -> Output {
    let fake = fake.clone();
    tokio::task::spawn_blocking(move || {
        let mut command = gcp_command(&fake, &workdir, &["doctor"]);
        command
            .env_remove("FSDEMO_GCP_ACCESS_TOKEN")
            .env("GOOGLE_APPLICATION_CREDENTIALS", key_file);
        run(&mut command, &["doctor"])
    })
    .await
    .unwrap()
}

fn run(command: &mut Command, args: &[&str]) -> Output {
    let output = command.output().unwrap();
    eprintln!(
        "$ fsdemo --profile gcp {}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcp_demo_runs_every_step_reuses_on_a_second_run_and_tears_down() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fakes(dir.path()).await;
    fake.set_operation_polls(2);
    let workdir = dir.path().join("work");
    let run = |args: &'static [&'static str]| {
        let (fake, workdir) = (fake.clone(), workdir.clone());
        tokio::task::spawn_blocking(move || fsdemo(&fake, &workdir, args))
    };

    let doctor = run(&["doctor"]).await.unwrap();
    assert!(doctor.status.success(), "{}", stdout(&doctor));
    assert!(
        stdout(&doctor).contains("all") && !stdout(&doctor).contains("FAIL"),
        "{}",
        stdout(&doctor)
    );

    let dry = run(&["data", "build", "--dry-run"]).await.unwrap();
    let dry_text = stdout(&dry);
    assert!(dry.status.success(), "{dry_text}");
    assert!(dry_text.contains("dry run total"), "{dry_text}");
    assert!(dry_text.contains("not estimable before step"), "{dry_text}");

    let first = run(&["demo"]).await.unwrap();
    let text = stdout(&first);
    assert!(first.status.success(), "{text}");
    for created in ["FeatureOnlineStore", "FeatureGroup", "FeatureView", "Model", "Endpoint"] {
        assert!(text.contains(&format!("created   {created}")), "{created} not created:\n{text}");
    }
    let checks: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(workdir.join("runs/predictions.json")).unwrap())
            .unwrap();
    assert_eq!(checks.len(), 10, "{text}");
    for check in &checks {
        let (served, offline) =
            (check["served"]["prediction"].as_f64().unwrap(), check["offline"].as_f64().unwrap());
        assert!((served - offline).abs() < 1e-6, "served {served}, offline {offline}");
    }
    assert!(fake.method_ids().iter().any(|m| m == "aiplatform.featureViews.sync"));

    fake.clear_requests();
    let second = run(&["demo"]).await.unwrap();
    let again = stdout(&second);
    assert!(second.status.success(), "{again}");
    for reused in ["FeatureOnlineStore", "FeatureView", "Model", "Endpoint"] {
        assert!(again.contains(&format!("reused    {reused}")), "{reused} not reused:\n{again}");
    }
    assert!(!again.contains("created   "), "{again}");
    // Same SQL, same source tables: the tables are kept and no BigQuery job runs.
    assert!(again.contains("7 tables kept (unchanged)"), "{again}");
    let builds = |fake: &FakeGcp| {
        let creates = |r: &fsdemo_gcp_fake::RecordedRequest| {
            let sql = r.body.as_ref().and_then(|b| b["configuration"]["query"]["query"].as_str());
            sql.is_some_and(|sql| sql.contains("CREATE OR REPLACE TABLE"))
        };
        fake.requests().iter().filter(|r| creates(r)).count()
    };
    assert_eq!(builds(&fake), 0, "{:?}", fake.method_ids());

    // theLook's public tables are rewritten daily: a newer source means a new build.
    fake.add_table("bigquery-public-data.thelook_ecommerce.orders", 1_000);
    fake.clear_requests();
    let third = run(&["demo"]).await.unwrap();
    let fresh = stdout(&third);
    assert!(third.status.success(), "{fresh}");
    assert!(fresh.contains("7 tables built"), "{fresh}");
    assert!(builds(&fake) >= 7, "{:?}", fake.method_ids());

    let teardown = run(&["teardown"]).await.unwrap();
    let gone = run(&["teardown"]).await.unwrap();
    assert!(teardown.status.success() && gone.status.success());
    assert!(stdout(&teardown).contains("deleted  Endpoint"), "{}", stdout(&teardown));
    assert!(stdout(&teardown).contains("kept"), "the dataset is kept without --with-data");
    assert!(stdout(&gone).contains("gone     Endpoint"), "{}", stdout(&gone));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcp_step_failure_names_the_step_the_permission_and_the_role() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fakes(dir.path()).await;
    fake.fail("aiplatform.featureOnlineStores.create", fsdemo_gcp_fake::Fault::PermissionDenied);
    let workdir = dir.path().join("work");

    let (fake2, workdir2) = (fake.clone(), workdir.clone());
    let output =
        tokio::task::spawn_blocking(move || fsdemo(&fake2, &workdir2, &["demo"])).await.unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("demo stopped at step `feature store`"), "{stderr}");
    assert!(stderr.contains("aiplatform.featureOnlineStores.create"), "{stderr}");
    assert!(stderr.contains("roles/aiplatform"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_account_key_file_is_exchanged_for_one_token_that_every_call_carries() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fakes(dir.path()).await;
    fake.require_issued_tokens();
    let key_file = dir.path().join("key.json");
    let email = format!("fsdemo@{PROJECT}.iam.gserviceaccount.com");
    std::fs::write(&key_file, fake.service_account_key(PROJECT, &email)).unwrap();
    let workdir = dir.path().join("work");

    let doctor = doctor_with_key_file(&fake, workdir, key_file).await;

    let text = stdout(&doctor);
    assert!(doctor.status.success(), "{text}");
    assert!(text.contains("Application Default Credentials"), "{text}");
    let issued = fake.issued_tokens();
    assert_eq!(issued.len(), 1, "gcp_auth caches the token across calls");
    let calls: Vec<_> = fake.requests().into_iter().filter(|r| r.path != "/token").collect();
    assert!(calls.len() > 3, "doctor called {} APIs", calls.len());
    for call in calls {
        assert_eq!(
            call.bearer_token.as_ref(),
            Some(&issued[0]),
            "{} {}",
            call.http_method,
            call.path
        );
        // Doctor's gets of the not yet created dataset and bucket are 404s; none is a 401.
        assert_ne!(call.status, 401, "{} {}", call.http_method, call.path);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_file_signed_with_another_key_is_refused_and_doctor_says_how_to_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let fake = fakes(dir.path()).await;
    fake.require_issued_tokens();
    let email = format!("fsdemo@{PROJECT}.iam.gserviceaccount.com");
    let mut key: serde_json::Value =
        serde_json::from_str(&fake.service_account_key(PROJECT, &email)).unwrap();
    let other: serde_json::Value =
        serde_json::from_str(&fake.service_account_key(PROJECT, "other@x.iam.gserviceaccount.com"))
            .unwrap();
    key["private_key"] = other["private_key"].clone();
    let key_file = dir.path().join("key.json");
    std::fs::write(&key_file, key.to_string()).unwrap();
    let workdir = dir.path().join("work");

    let doctor = doctor_with_key_file(&fake, workdir, key_file).await;

    let text = stdout(&doctor);
    assert!(!doctor.status.success(), "{text}");
    assert!(fake.issued_tokens().is_empty());
    let stderr = String::from_utf8_lossy(&doctor.stderr);
    assert!(stderr.contains("Invalid JWT Signature."), "refused for another reason:\n{stderr}");
    let credentials = text.lines().find(|l| l.contains("credentials")).unwrap_or_default();
    assert!(credentials.contains("FAIL"), "{text}");
    assert!(text.contains("gcloud auth application-default login"), "{text}");
}
