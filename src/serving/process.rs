//! The local service as a process: run it in the foreground (binding the port, the
//! schedule of every feature view, a graceful stop on Ctrl-C or SIGTERM), start it in the
//! background and wait until it is healthy, find it by its pid file, and stop it.
//!
//! The service is the only process that opens the online store (redb allows one); other
//! commands reach the store through its HTTP API.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use fsdemo_featurestore::{RedbStore, Registry, Scheduler, SyncRunner, SystemClock};
use fsdemo_serving::{AppState, Server, VertexClient};
use tokio::sync::watch;

use super::local::{LocalFeatures, LocalModels};
use crate::context::Context;
use crate::featurestore::WarehouseSource;

/// How long `serve --detach` waits for the service to answer `/healthz`.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long `serve --stop` waits for a graceful exit before killing the process.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// The service's base URL, from `serving.host` and `serving.port`.
pub fn url(ctx: &Context) -> String {
    format!("http://{}:{}", ctx.config.serving.host, ctx.config.serving.port)
}

/// Runs the service in this process until Ctrl-C or SIGTERM.
pub async fn run_foreground(ctx: &Context) -> anyhow::Result<()> {
    let paths = &ctx.paths;
    let store =
        Arc::new(RedbStore::open(&paths.online_store).context("serve: open the online store")?);
    let registry =
        Registry::open(&paths.featurestore).context("serve: read the feature store registry")?;
    let source = Arc::new(WarehouseSource::new(ctx));
    let runner = SyncRunner::open(&paths.featurestore, store.clone(), source)
        .context("serve: open the sync records")?;

    let features = LocalFeatures::new(&registry, store, runner.clone());
    let models = LocalModels::new(paths.registry.clone(), ctx.config.names());
    let state = AppState::new(Arc::new(features), Arc::new(models));
    let addr: SocketAddr = format!("{}:{}", ctx.config.serving.host, ctx.config.serving.port)
        .parse()
        .context("serve: serving.host and serving.port must form an address like 127.0.0.1:8787")?;
    let server = Server::bind(addr, state).await?;

    std::fs::create_dir_all(&paths.workdir)?;
    // `PID URL`: other commands find the process and where it actually listens.
    let pid_line = format!("{} {}", std::process::id(), server.base_url());
    std::fs::write(&paths.service_pid, pid_line)
        .with_context(|| format!("serve: write {}", paths.service_pid.display()))?;
    let scheduler = Scheduler::new(runner, &registry, Arc::new(SystemClock))?;
    tracing::info!(
        url = %server.base_url(),
        views = registry.feature_views().len(),
        pid = std::process::id(),
        "local service started"
    );

    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        let _ = stop.send(true);
    });
    let until = |mut stopped: watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let (served, ()) =
        tokio::join!(server.run(until(stopped.clone())), scheduler.run_until(until(stopped)));

    // Only the process that wrote the pid file removes it.
    if read_pid_file(ctx).is_some_and(|(pid, _)| pid == std::process::id() as i32) {
        let _ = std::fs::remove_file(&paths.service_pid);
    }
    served?;
    Ok(())
}

async fn wait_for_signal() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match terminate.as_mut() {
                Some(signal) => { signal.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
    tracing::info!("stop requested");
}

/// The pid of the running background service, if there is one (a stale pid file is
/// removed).
pub fn running_pid(ctx: &Context) -> Option<i32> {
    running(ctx).map(|(pid, _)| pid)
}

/// The running background service's pid and the URL it listens on (`None` for a pid file
/// written before the URL was recorded).
pub fn running(ctx: &Context) -> Option<(i32, Option<String>)> {
    let (pid, url) = read_pid_file(ctx)?;
    if alive(pid) {
        return Some((pid, url));
    }
    let _ = std::fs::remove_file(&ctx.paths.service_pid);
    None
}

/// `service.pid`: `PID URL`, or `PID` alone.
fn read_pid_file(ctx: &Context) -> Option<(i32, Option<String>)> {
    let text = std::fs::read_to_string(&ctx.paths.service_pid).ok()?;
    let mut words = text.split_whitespace();
    let pid = words.next()?.parse().ok()?;
    Some((pid, words.next().map(str::to_string)))
}

/// Fails when this workdir's service runs but listens elsewhere than the configuration
/// says, naming both, so a command does not start a second one or talk to nobody.
pub fn check_same_url(ctx: &Context) -> anyhow::Result<()> {
    let configured = url(ctx);
    if let Some((pid, Some(actual))) = running(ctx) {
        if actual != configured {
            bail!(
                "serve: this workdir's local service runs at {actual} (pid {pid}), but the \
                 configuration says {configured}: give the same serving.host and serving.port \
                 it was started with, or stop it with `{}`",
                ctx.suggest("serve --stop")
            );
        }
    }
    Ok(())
}

/// Whether the service answers at its URL.
pub async fn healthy(ctx: &Context) -> bool {
    match VertexClient::new(url(ctx)) {
        Ok(client) => client.healthy().await,
        Err(_) => false,
    }
}

/// Makes sure the background service runs; returns its URL and whether it was started now.
pub async fn ensure_running(ctx: &Context) -> anyhow::Result<(String, bool)> {
    check_same_url(ctx)?;
    let url = url(ctx);
    if running_pid(ctx).is_some() && healthy(ctx).await {
        return Ok((url, false));
    }
    if healthy(ctx).await {
        bail!(
            "serve: something else answers at {url} but this workdir's service is not running; \
             stop it or set serving.port to a free port"
        );
    }
    start_detached(ctx).await?;
    Ok((url, true))
}

/// Starts `fsdemo serve` in the background and waits until it is healthy.
pub async fn start_detached(ctx: &Context) -> anyhow::Result<()> {
    let paths = &ctx.paths;
    std::fs::create_dir_all(&paths.workdir)?;
    let log = std::fs::File::create(&paths.service_log)
        .with_context(|| format!("serve: create {}", paths.service_log.display()))?;
    let exe = std::env::current_exe().context("serve: find this program's path")?;

    let mut command = Command::new(exe);
    command.args(&ctx.forwarded).arg("serve");
    command.stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log);
    // Its own process group, so a Ctrl-C in this terminal does not stop it.
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().context("serve: start the background service")?;

    let started = Instant::now();
    loop {
        if healthy(ctx).await && running_pid(ctx).is_some() {
            let log = paths.service_log.display();
            let (url, pid) = (url(ctx), child.id());
            tracing::info!(%url, pid, %log, "local service running in the background");
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "serve: the background service exited ({status}) before it was healthy; its log \
                 {} ends with:\n{}",
                paths.service_log.display(),
                log_tail(ctx)
            );
        }
        if started.elapsed() > START_TIMEOUT {
            let _ = child.kill();
            bail!(
                "serve: the background service did not answer {}/healthz within {}s; see {}",
                url(ctx),
                START_TIMEOUT.as_secs(),
                paths.service_log.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Stops the background service; `false` when none was running.
pub async fn stop(ctx: &Context) -> anyhow::Result<bool> {
    let Some(pid) = running_pid(ctx) else { return Ok(false) };
    signal(pid, libc::SIGTERM);

    let started = Instant::now();
    while alive(pid) {
        if started.elapsed() > STOP_TIMEOUT {
            tracing::warn!(
                pid,
                "the service did not stop within {}s; killing it",
                STOP_TIMEOUT.as_secs()
            );
            signal(pid, libc::SIGKILL);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = std::fs::remove_file(&ctx.paths.service_pid);
    tracing::info!(pid, "local service stopped");
    Ok(true)
}

/// The last lines of the service log.
pub fn log_tail(ctx: &Context) -> String {
    let text = std::fs::read_to_string(&ctx.paths.service_log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

fn alive(pid: i32) -> bool {
    // Signal 0 checks that the process exists; a zombie has exited for our purposes.
    let exists = unsafe { libc::kill(pid, 0) } == 0;
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z'))
    });
    exists && !zombie
}

fn signal(pid: i32, signal: i32) {
    // SAFETY: kill(2) with a pid read from our own pid file; a wrong pid only fails.
    unsafe {
        libc::kill(pid, signal);
    }
}
