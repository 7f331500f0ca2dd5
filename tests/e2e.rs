//! End to end, through the `fsdemo` binary as a user runs it: the whole local demo on the
//! real theLook export, its served predictions checked against the model applied to the
//! newest offline rows by this test's own reading of the tables, a second run that reuses
//! everything, and a failing step that names itself.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fsdemo_core::features::row_input;
use fsdemo_core::Config;
use fsdemo_data::Warehouse;
use serde_json::Value;

/// A workdir and a free port for one demo.
struct Demo {
    workdir: tempfile::TempDir,
    port: u16,
    source: Option<PathBuf>,
}

impl Demo {
    fn new(source: Option<PathBuf>) -> Demo {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Demo { workdir: tempfile::tempdir().unwrap(), port, source }
    }

    fn global(&self) -> Vec<String> {
        let mut args = vec![
            "--config-dir".into(),
            repo().join("configs").display().to_string(),
            "--workdir".into(),
            self.workdir.path().display().to_string(),
            "--set".into(),
            format!("serving.port={}", self.port),
        ];
        match &self.source {
            Some(source) => {
                args.extend(["--set".into(), format!("data.source={}", source.display())])
            }
            None => args.extend(["--set".into(), "data.generate_users=3000".into()]),
        }
        args
    }

    fn run(&self, args: &[&str]) -> Output {
        let output = Command::new(env!("CARGO_BIN_EXE_fsdemo"))
            .args(self.global())
            .args(args)
            .env("RUST_LOG", "info")
            .output()
            .expect("fsdemo runs");
        eprintln!("$ fsdemo {}\n{}", args.join(" "), String::from_utf8_lossy(&output.stderr));
        output
    }

    fn config(&self) -> Config {
        let overrides: Vec<String> =
            self.global().chunks(2).filter(|p| p[0] == "--set").map(|p| p[1].clone()).collect();
        Config::load(&repo().join("configs"), &overrides).unwrap()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.run(&["serve", "--stop"]);
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Runs the command the demo suggests under "try one customer by hand" (with the built
/// binary in place of scripts/fsdemo.sh): it must reach the same workdir and service.
fn assert_suggestion_runs(text: &str) {
    let line = text
        .lines()
        .skip_while(|l| !l.starts_with("try one customer by hand"))
        .nth(1)
        .unwrap_or_else(|| panic!("no suggested command in:\n{text}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words[0], "scripts/fsdemo.sh", "{line}");

    let output = Command::new(env!("CARGO_BIN_EXE_fsdemo")).args(&words[1..]).output().unwrap();

    assert!(
        output.status.success(),
        "`{line}` failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout(&output).contains("prediction: "), "{}", stdout(&output));
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn demo_on_the_real_export_serves_what_the_model_predicts_offline_and_reuses_on_a_second_run() {
    let source = repo().join("../shared/thelook");
    if !source.join("orders.csv.gz").exists() {
        let missing = format!("the real theLook export is not at {}", source.display());
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true and {missing}");
        eprintln!("skipped: {missing}");
        return;
    }
    let demo = Demo::new(Some(source));

    let first = demo.run(&["demo"]);
    assert!(first.status.success(), "the demo failed:\n{}", stdout(&first));
    let text = stdout(&first);
    assert!(text.contains("created   FeatureView"), "{text}");
    assert!(text.contains("report: "), "{text}");
    assert_suggestion_runs(&text);
    let page = std::fs::read_to_string(demo.workdir.path().join("report/report.html")).unwrap();
    for section in ["pipeline", "point-in-time", "agreement", "model", "data", "speed"] {
        assert!(page.contains(&format!("<section id=\"{section}\">")), "no {section} section");
    }
    // Only the speed section waits for `bench online`; the demo recorded everything else.
    assert_eq!(page.matches("not recorded").count(), 1, "a section lacks the demo's records");
    assert!(page.contains("<b>10 of 10</b>"), "the page does not show 10 agreeing predictions");

    // Ten customers taken from the online store, predicted over HTTP.
    let checks: Vec<Value> = serde_json::from_slice(
        &std::fs::read(demo.workdir.path().join("runs/predictions.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(checks.len(), 10);
    let ids: Vec<String> = checks.iter().map(|c| c["served"]["customer_id"].to_string()).collect();
    let answer = demo.run(&["online-predict", "--json", "--customer-id", &ids.join(",")]);
    assert!(answer.status.success());
    let served: Vec<Value> =
        stdout(&answer).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(served.len(), 10);

    // The same customers read here from the newest offline rows, through model.bst.
    let config = demo.config();
    let warehouse =
        Warehouse::open_read_only(&demo.workdir.path().join("warehouse.duckdb")).unwrap();
    let model = fsdemo_training::load(&demo.workdir.path().join("model")).unwrap();
    let schema = &config.featurestore.features;
    let numbers: Vec<i64> = ids.iter().map(|id| id.parse().unwrap()).collect();
    let table = config.names().table(&config.project.dataset, "features_customer");
    let projects = [config.project.id.as_str(), config.project.source_project.as_str()];
    let rows = fsdemo_data::read::newest_rows(
        &warehouse,
        &table,
        "customer_id",
        "feature_timestamp",
        schema,
        Some(&numbers),
        &projects,
    )
    .unwrap();
    drop(warehouse);
    for answer in &served {
        let id = answer["customer_id"].as_i64().unwrap();
        let row = rows
            .iter()
            .find(|r| r.entity_id == id)
            .unwrap_or_else(|| panic!("no offline row of {id}"));
        let offline = model.predict(&row_input(schema, row));
        let online = answer["prediction"].as_f64().unwrap();
        assert!(
            (offline - online).abs() < 1e-9,
            "customer {id}: served {online}, offline {offline}"
        );
    }

    // A second demo reuses every resource and still ends with predictions.
    let second = demo.run(&["demo"]);
    let again = stdout(&second);
    assert!(second.status.success(), "{again}");
    assert!(
        again.contains("reused    FeatureView") && !again.contains("created   FeatureView"),
        "{again}"
    );
    assert!(again.contains("reused    Model"), "{again}");
    assert!(again.contains("reused    Endpoint"), "{again}");
    assert!(again.contains("P(14 days)"), "{again}");
    assert!(text.contains("7 tables built from theLook orders (2 source tables loaded)"), "{text}");
    assert!(again.contains("7 tables kept (unchanged) from theLook orders"), "{again}");
    assert!(again.contains("model kept (unchanged): test ROC AUC"), "{again}");
}

#[test]
fn a_failing_step_stops_the_demo_naming_the_step_and_what_is_needed() {
    let demo = Demo::new(None);

    let output = demo.run(&["demo", "--skip-data"]);

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("demo stopped at step `first sync`"), "{stderr}");
    assert!(stderr.contains("featureViews/customer_view"), "{stderr}");
    assert!(stderr.contains("fsdemo data build"), "{stderr}");
}

#[test]
fn skip_flags_reuse_what_exists_and_named_customers_are_predicted() {
    let demo = Demo::new(None);
    assert!(demo.run(&["demo"]).status.success());
    let first: Vec<Value> = serde_json::from_slice(
        &std::fs::read(demo.workdir.path().join("runs/predictions.json")).unwrap(),
    )
    .unwrap();
    let named: Vec<String> =
        first.iter().take(3).map(|c| c["served"]["customer_id"].to_string()).collect();

    let output =
        demo.run(&["demo", "--skip-data", "--skip-training", "--customer-ids", &named.join(",")]);
    let unknown = demo.run(&[
        "demo",
        "--skip-data",
        "--skip-featurestore",
        "--skip-training",
        "--skip-deploy",
        "--customer-ids",
        "0",
    ]);

    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("== tables: skipped") && text.contains("== training: skipped"), "{text}");
    let second: Vec<Value> = serde_json::from_slice(
        &std::fs::read(demo.workdir.path().join("runs/predictions.json")).unwrap(),
    )
    .unwrap();
    let predicted: Vec<String> =
        second.iter().map(|c| c["served"]["customer_id"].to_string()).collect();
    assert_eq!(predicted, named);
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(!unknown.status.success());
    assert!(
        stderr.contains("has no row for customer(s) 0") && stderr.contains("customer_view"),
        "{stderr}"
    );

    // The workdir's service runs on demo.port: another port is named, not a second service.
    let elsewhere =
        demo.run(&["online-predict", "--customer-id", &named[0], "--set", "serving.port=1"]);
    let stderr = String::from_utf8_lossy(&elsewhere.stderr);
    assert!(!elsewhere.status.success());
    let actual = format!("runs at http://127.0.0.1:{}", demo.port);
    assert!(stderr.contains(&actual) && stderr.contains("says http://127.0.0.1:1"), "{stderr}");
}

#[test]
fn the_model_is_kept_while_tables_and_settings_hold_and_trained_again_when_a_setting_changes() {
    let demo = Demo::new(None);
    let sha = || -> String {
        let train: Value = serde_json::from_slice(
            &std::fs::read(demo.workdir.path().join("runs/train.json")).unwrap(),
        )
        .unwrap();
        train["sha256"].as_str().unwrap().to_string()
    };
    assert!(demo.run(&["demo"]).status.success());
    let first = sha();

    let kept = stdout(&demo.run(&["demo"]));
    let kept_sha = sha();
    let changed = stdout(&demo.run(&["demo", "--set", "training.l2=0.25"]));

    assert!(kept.contains("model.bst kept (sha256 "), "{kept}");
    assert_eq!(kept_sha, first);
    assert!(kept.contains("reused    Model"), "{kept}");
    assert!(!changed.contains("model.bst kept"), "a new l2 kept the old model:\n{changed}");
    assert!(changed.contains("created   Model"), "{changed}");
    assert_ne!(sha(), first, "another l2 fitted the same model");
}

#[test]
fn verify_catches_a_rebuilt_table_the_feature_view_has_not_synced_and_a_sync_repairs_it() {
    let demo = Demo::new(None);
    assert!(demo.run(&["demo"]).status.success());
    // Returned orders count from now on: the same customers, other features offline.
    let counted = "data.exclude_statuses=[Cancelled]";

    let rebuilt = demo.run(&["--set", counted, "data", "build"]);
    let stale = demo.run(&["--set", counted, "featurestore", "verify", "--sample", "300"]);
    let synced = demo.run(&["--set", counted, "featurestore", "sync", "--wait"]);
    let fresh = demo.run(&["--set", counted, "featurestore", "verify", "--sample", "300"]);

    assert!(rebuilt.status.success());
    assert!(!stale.status.success(), "verify missed the skew:\n{}", stdout(&stale));
    assert!(stdout(&stale).contains("MISMATCH customer"), "{}", stdout(&stale));
    assert!(String::from_utf8_lossy(&stale.stderr).contains("value(s) differ between"));
    assert!(synced.status.success(), "{}", stdout(&synced));
    assert!(fresh.status.success(), "{}", stdout(&fresh));
    assert!(stdout(&fresh).contains("300 of 300 customers match"), "{}", stdout(&fresh));
}

#[test]
fn a_changed_cron_updates_the_view_in_place_and_the_restarted_service_serves_on() {
    let demo = Demo::new(None);
    assert!(demo.run(&["demo"]).status.success());
    let cron = "featurestore.feature_view.cron=*/5 * * * *";

    let changed = demo.run(&["--set", cron, "featurestore", "create"]);
    let again = demo.run(&["--set", cron, "featurestore", "create"]);
    let served: Vec<Value> = serde_json::from_slice(
        &std::fs::read(demo.workdir.path().join("runs/predictions.json")).unwrap(),
    )
    .unwrap();
    let customer = served[0]["served"]["customer_id"].to_string();
    let fetched = demo.run(&["--set", cron, "featurestore", "fetch", "--customer-id", &customer]);

    let text = stdout(&changed);
    assert!(changed.status.success(), "{text}");
    assert!(
        text.contains("updated   FeatureView") && text.contains("reused    FeatureGroup"),
        "{text}"
    );
    assert!(text.contains("restarted the local service"), "{text}");
    assert!(!stdout(&again).contains("restarted"), "an unchanged create restarted the service");
    let log = std::fs::read_to_string(demo.workdir.path().join("service.log")).unwrap();
    assert!(log.contains("*/5 * * * *"), "the restarted service does not schedule the new cron");
    assert!(fetched.status.success(), "{}", String::from_utf8_lossy(&fetched.stderr));
    assert!(
        stdout(&fetched).contains(&format!("customer {customer}"))
            && stdout(&fetched).contains("orders_30d")
    );
}
