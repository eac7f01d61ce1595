//! `bench-gate k8s render|run`: the benchmark as a short-lived Job with Guaranteed QoS on the
//! node pool being measured. The pod prints its result between markers in its log, so no shared
//! volume is needed; `run` always deletes the Job, whatever happens.

use std::collections::BTreeMap;
use std::num::{NonZeroU32, NonZeroU64};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::cli::{K8sCommand, K8sJobArgs, K8sReadLogArgs, K8sRenderArgs, K8sRunArgs};
use crate::config::Config;
use crate::publish::k8s::render::{
    JobParams, LABEL_POOL, Manifest, RUNNER_NAME, TaintEffect, TolerationSpec, job, render_yaml,
    thread_trap,
};
use crate::publish::k8s::run::{RunOpts, client_from_kubeconfig, extract_result, run_pools};
use crate::result::{RunResult, write_atomic};

pub fn k8s(cmd: &K8sCommand) -> Result<u8> {
    match cmd {
        K8sCommand::Render(a) => render(a),
        K8sCommand::Run(a) => run(a),
        K8sCommand::ReadLog(a) => read_log(a),
    }
}

/// `k8s read-log`: what `run` does with a finished pod's log, from a saved log file.
fn read_log(a: &K8sReadLogArgs) -> Result<u8> {
    super::touches::k8s_read_log(a).check()?;
    let log = std::fs::read_to_string(&a.log).with_context(|| {
        format!(
            "cannot read the pod log {}\n  fix: save it first (kubectl logs POD > FILE, podman logs CONTAINER > FILE 2>&1)",
            a.log.display()
        )
    })?;
    let json = extract_result(&log)?;
    let result = save(&a.out_dir, &a.pool, &json)?;
    println!("{}", crate::report::table::run_summary(&result));
    Ok(0)
}

fn render(a: &K8sRenderArgs) -> Result<u8> {
    let params = params(&a.job, &a.job.pool)?;
    let mut docs = vec![Manifest::Job(Box::new(job(&params)))];
    if a.rbac {
        docs.extend(Manifest::rbac(&params.namespace, RUNNER_NAME));
    }
    print!("{}", render_yaml(&docs)?);
    Ok(0)
}

fn run(a: &K8sRunArgs) -> Result<u8> {
    if !a.out_dir.is_dir() {
        bail!(
            "--out-dir {} is not a folder\n  fix: create it first (mkdir -p {})",
            a.out_dir.display(),
            a.out_dir.display()
        );
    }
    // Where each pool's result will go must be writable, and no input, before a node is spent.
    super::touches::k8s_run(a).check()?;
    let pools = super::touches::k8s_pools(a);
    if pools.len() > 1 && a.job.pool_label.is_none() {
        bail!(
            "--pools needs --pool-label: the node label whose value names each pool\n  fix: pass e.g. --pool-label cloud.google.com/gke-nodepool or --pool-label eks.amazonaws.com/nodegroup"
        );
    }
    let jobs = pools
        .iter()
        .map(|p| params(&a.job, p).map(|p| job(&p)))
        .collect::<Result<Vec<_>>>()?;
    let opts = RunOpts {
        timeout: Duration::from_secs(a.timeout_s),
        ..RunOpts::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime\n  fix: check the process limits (ulimit -u, the container's pids limit) and run again")?;
    let outcomes = rt.block_on(async {
        let client = client_from_kubeconfig(a.kubeconfig.as_deref(), a.context.as_deref()).await?;
        let cancel = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        Ok::<_, crate::publish::k8s::K8sError>(run_pools(client, jobs, opts, cancel).await)
    })?;
    let mut failed = Vec::new();
    for (pool, outcome) in outcomes {
        match outcome
            .map_err(anyhow::Error::from)
            .and_then(|json| save(&a.out_dir, &pool, &json))
        {
            Ok(result) => println!("{}", crate::report::table::run_summary(&result)),
            Err(e) => {
                eprintln!("error: pool {pool}: {e}");
                failed.push(pool);
            }
        }
    }
    if !failed.is_empty() {
        bail!(
            "the benchmark Job failed on pool(s) {} (each Job was deleted)\n  fix: read each pool's error above; `kubectl logs` of its pod shows what bench-gate said",
            failed.join(", ")
        );
    }
    Ok(0)
}

/// Checks the pod's JSON is a result, then writes it as `<dir>/<pool>.json`.
fn result_path(dir: &Path, pool: &str) -> std::path::PathBuf {
    super::touches::k8s_result_path(dir, pool)
}

fn save(dir: &Path, pool: &str, json: &str) -> Result<RunResult> {
    let path = result_path(dir, pool);
    let result = RunResult::parse(json, &path)?;
    write_atomic(&path, result.to_json().as_bytes())?;
    eprintln!("wrote {}", path.display());
    Ok(result)
}

fn params(a: &K8sJobArgs, pool: &str) -> Result<JobParams> {
    // The config must be valid here too: a Job that fails on its config wastes a node.
    let config = Config::load(&a.config.config)?;
    let mut p = JobParams {
        image: a.image.clone(),
        namespace: a.namespace.clone(),
        cpus: NonZeroU32::new(a.pod_cpus)
            .context("--pod-cpus must be at least 1\n  fix: pass e.g. --pod-cpus 1")?,
        memory_mib: NonZeroU64::new(a.memory_mib)
            .context("--memory-mib must be at least 1\n  fix: pass e.g. --memory-mib 2048")?,
        pool: pool.to_string(),
        active_deadline_s: a.deadline_s,
        ttl_after_finished_s: a.ttl_s,
        pr: a.pr,
        commit: a
            .commit
            .clone()
            .or_else(|| std::env::var("GITHUB_SHA").ok())
            .or_else(|| super::head_commit(&a.config.config))
            .unwrap_or_else(|| "0".repeat(40)),
        ..JobParams::default()
    };
    if let Some(c) = p.args.iter_mut().skip_while(|a| *a != "-c").nth(1) {
        c.clone_from(&a.config_in_image);
    }
    if a.pool_label.is_some() || !a.node_selector.is_empty() {
        p.node_selector = BTreeMap::new();
    }
    if let Some(key) = &a.pool_label {
        p.node_selector.insert(key.clone(), pool.to_string());
    }
    for kv in &a.node_selector {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("--node-selector {kv}: expected KEY=VALUE\n  fix: pass e.g. --node-selector kubernetes.io/arch=amd64"))?;
        p.node_selector.insert(k.to_string(), v.to_string());
    }
    for t in &a.tolerations {
        p.tolerations.push(toleration(t)?);
    }
    p.labels.insert(LABEL_POOL.to_string(), pool.to_string());
    p.check()?;
    let threads: Vec<(&str, u16)> = config
        .models
        .iter()
        .map(|m| (m.name.as_str(), m.session.intra_op_threads.get()))
        .collect();
    for w in thread_trap(&threads, p.cpus) {
        eprintln!("warning: {w}");
    }
    Ok(p)
}

fn toleration(s: &str) -> Result<TolerationSpec> {
    let (kv, effect) = s
        .rsplit_once(':')
        .with_context(|| format!("--toleration {s}: expected KEY[=VALUE]:EFFECT\n  fix: pass e.g. --toleration dedicated=bench:NoSchedule"))?;
    let effect = match effect {
        "NoSchedule" => TaintEffect::NoSchedule,
        "PreferNoSchedule" => TaintEffect::PreferNoSchedule,
        "NoExecute" => TaintEffect::NoExecute,
        other => bail!(
            "--toleration {s}: unknown effect {other}\n  fix: end it with :NoSchedule, :PreferNoSchedule or :NoExecute"
        ),
    };
    let (key, value) = match kv.split_once('=') {
        Some((k, v)) => (k.to_string(), Some(v.to_string())),
        None => (kv.to_string(), None),
    };
    Ok(TolerationSpec { key, value, effect })
}
