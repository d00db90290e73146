//! Cold start and memory of every Lambda function of infra/template.yaml, beside a reference "hello world" in the
//! same run: a `lambda_http` handler that builds an aws-sdk-dynamodb client and answers with one GetItem
//! (`infra/checks/reference-hello`, built in the same cargo call as the functions so it links the very same
//! dependency builds).
//!
//! Each release binary runs as a child process against wif-testkit's Lambda Runtime API stand-in on loopback, with
//! the environment the template gives it (resolved with the default parameters by the same evaluator the
//! environment test uses) and every AWS endpoint pointed at a fake served here that answers `{}` to every call (an
//! empty account: no item, no key). Every socket the harness owns has Nagle's algorithm off. Per function:
//!
//! - init: process start to its first `GET /2018-06-01/runtime/invocation/next`;
//! - first invoke and warm invoke (median): the stand-in handing an event over to the answer coming back;
//! - peak RSS: `VmHWM` of `/proc/<pid>/status` after all invocations;
//! - binary size.
//!
//! Rounds are interleaved (every binary once per round, in a rotated order) and medians are reported, with ratios
//! to the reference measured in the same run: on a shared, noisy machine only the ratios compare across runs.
//! Targets (issue 13): init ≤ 1.15 × and peak RSS ≤ 1.2 × the reference.
//!
//! Run: `cargo bench -p infra-checks --bench cold_start` (Linux; it first runs `cargo build --release` for the
//! functions and the reference; `--profile dev` builds only the harness faster, the binaries measured are still
//! the release ones). `WIF_COLD_START_ROUNDS` (default 21) and `WIF_COLD_START_WARM` (warm invokes per
//! round, default 50) tune it; `WIF_COLD_START_BINARIES=<dir>` measures the function binaries in that directory
//! instead of building them (e.g. a copy of an older build, for a before/after in one session);
//! `WIF_COLD_START_ONLY=token,admin` measures only those functions (the reference always runs).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use infra_checks::TEMPLATE_YAML;
use infra_checks::template::{Evaluator, SERVERLESS_FUNCTION, Template};
use serde_json::{Value, json};
use wif_testkit::lambda_runtime::{RuntimeApiStub, function_url_event};

const REFERENCE: &str = "reference-hello";
const INIT_TIMEOUT: Duration = Duration::from_secs(20);
const INVOKE_TIMEOUT: Duration = Duration::from_secs(20);

/// One binary under test.
struct Subject {
    name: String,
    binary: PathBuf,
    env: Vec<(String, String)>,
    /// What each invocation sends, and what it exercises (printed under the table).
    event: Value,
    exercises: &'static str,
}

/// One cold start of one subject.
struct Sample {
    init: Duration,
    first: Duration,
    warm: Vec<Duration>,
    peak_rss_kib: u64,
}

/// What each function is invoked with: requests that need no data (the fake account is empty).
fn event_for(binary: &str) -> (Value, &'static str) {
    let get = |path: &str| function_url_event("GET", path, "", &[("host", "fn.lambda-url.us-east-1.on.aws")], "");
    match binary {
        REFERENCE => (get("/"), "GET / → one DynamoDB GetItem"),
        "token" => (
            get("/.well-known/oauth-authorization-server"),
            "RFC 8414 metadata (no AWS call)",
        ),
        "scim" => (
            get("/scim/v2/ServiceProviderConfig"),
            "SCIM discovery, bearer check (401 without a token)",
        ),
        "admin" => (get("/clients/warm-up"), "admin API GET of an unknown client"),
        "portal" => (get("/signin"), "portal sign-in page"),
        "events-feed" => (get("/events/jwks.json"), "SET signing JWKS (KMS GetPublicKey)"),
        "events" => (json!({"Records": []}), "an empty stream batch"),
        "events-push" => (json!({}), "one push sweep (no registration)"),
        "jwks-refresh" => (json!({}), "one refresh pass (no registration)"),
        _ => (json!({}), "an empty event"),
    }
}

/// Per-function settings on top of the template's: events-push sweeps once per invocation, not for 55 s.
fn bench_overrides(binary: &str) -> &'static [(&'static str, &'static str)] {
    match binary {
        "events-push" => &[("WIF_EVENTS_PUSH_SWEEP_SECONDS", "0")],
        _ => &[],
    }
}

/// The template's functions: (binary name, resolved environment), in template order.
fn template_functions() -> Vec<(String, BTreeMap<String, String>)> {
    let template = Template::parse(TEMPLATE_YAML).unwrap_or_else(|err| panic!("template: {err}"));
    let evaluator = Evaluator::new(&template, &[]);
    template
        .resources_of_type(SERVERLESS_FUNCTION)
        .into_iter()
        .map(|logical_id| {
            let resource = template.resource(logical_id).unwrap_or(&Value::Null);
            let binary = resource["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{logical_id} names no BuildProperties.Binary"))
                .to_owned();
            let env = evaluator
                .function_environment(logical_id)
                .unwrap_or_else(|err| panic!("{logical_id}: {err}"));
            (binary, env)
        })
        .collect()
}

/// `<target>/release`, where the binaries under test are built. This bench runs from `<target>/<profile>/deps`
/// (the harness itself may be built with `--profile dev`: what it times are the release binaries).
fn release_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|err| panic!("current_exe: {err}"));
    exe.ancestors()
        .nth(3)
        .map(|target| target.join("release"))
        .unwrap_or_else(|| panic!("no target directory above {}", exe.display()))
}

/// Builds the functions' and the reference's release binaries (one cargo call, so they share dependencies).
fn build(all: &[String], binaries: &[String]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command.args(["build", "--release", "--quiet", "-p", REFERENCE, "--bin", REFERENCE]);
    // Every function package is selected even when only some are measured, so features unify exactly as in a
    // build of all of them (and the dependency builds are shared). Each package's binary has its name
    // (infra/template.yaml's BuildProperties.Binary).
    for name in all {
        command.args(["-p", name]);
    }
    for binary in binaries {
        command.args(["--bin", binary]);
    }
    let status = command.status().unwrap_or_else(|err| panic!("cargo build: {err}"));
    assert!(status.success(), "cargo build --release failed");
}

fn subjects() -> Vec<Subject> {
    let only = std::env::var("WIF_COLD_START_ONLY").unwrap_or_default();
    let all = template_functions();
    let all_names: Vec<String> = all.iter().map(|(name, _)| name.clone()).collect();
    let functions: Vec<_> = all
        .into_iter()
        .filter(|(name, _)| only.is_empty() || only.split(',').any(|wanted| wanted.trim() == name))
        .collect();
    let names: Vec<String> = functions.iter().map(|(name, _)| name.clone()).collect();
    let prebuilt = std::env::var_os("WIF_COLD_START_BINARIES").map(PathBuf::from);
    build(&all_names, if prebuilt.is_some() { &[] } else { &names });
    let release = release_dir();
    let function_dir = prebuilt.unwrap_or_else(|| release.clone());
    let mut subjects = vec![subject(REFERENCE, release.join(REFERENCE), BTreeMap::new())];
    for (name, env) in functions {
        let binary = function_dir.join(&name);
        subjects.push(subject(&name, binary, env));
    }
    subjects
}

fn subject(name: &str, binary: PathBuf, env: BTreeMap<String, String>) -> Subject {
    let (event, exercises) = event_for(name);
    let mut env: Vec<(String, String)> = env.into_iter().collect();
    env.extend(
        bench_overrides(name)
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Subject {
        name: name.to_owned(),
        binary,
        env,
        event,
        exercises,
    }
}

/// Starts `subject`, waits for its first poll, invokes it once cold and `warm` times warm, reads its peak RSS.
async fn cold_start(subject: &Subject, aws_endpoint: &str, warm: usize, log: &Path) -> Sample {
    let stub = RuntimeApiStub::start()
        .await
        .unwrap_or_else(|err| panic!("runtime API stand-in: {err}"));
    let mut env: Vec<(&str, &str)> = vec![("AWS_ENDPOINT_URL", aws_endpoint), ("RUST_LOG", "info")];
    env.extend(subject.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let binary = subject.binary.to_string_lossy();
    let started = Instant::now();
    let process = stub
        .spawn_function(&binary, &env, log)
        .unwrap_or_else(|err| panic!("cannot start {binary}: {err}"));
    let polled = stub.first_poll(INIT_TIMEOUT).await.unwrap_or_else(|err| {
        panic!(
            "{}: {err}; its log:\n{}",
            subject.name,
            std::fs::read_to_string(log).unwrap_or_default()
        )
    });
    let first = timed_invoke(&stub, subject).await;
    let mut warm_times = Vec::with_capacity(warm);
    for _ in 0..warm {
        warm_times.push(timed_invoke(&stub, subject).await);
    }
    let peak_rss_kib = peak_rss_kib(process.id());
    drop(process);
    Sample {
        init: polled - started,
        first,
        warm: warm_times,
        peak_rss_kib,
    }
}

async fn timed_invoke(stub: &RuntimeApiStub, subject: &Subject) -> Duration {
    let start = Instant::now();
    stub.invoke(&subject.event, INVOKE_TIMEOUT)
        .await
        .unwrap_or_else(|err| panic!("{}: {err}", subject.name));
    start.elapsed()
}

/// `VmHWM` (peak resident set) of a running process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM for process {pid}"))
}

/// A stand-in for every AWS API on loopback: any request gets `200 {}` (JSON protocols: an empty account).
async fn fake_aws() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|err| panic!("fake AWS endpoint: {err}"));
    let address = listener.local_addr().unwrap_or_else(|err| panic!("{err}"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_request| async {
                    let mut response = hyper::Response::new(Full::new(Bytes::from_static(b"{}")));
                    response.headers_mut().insert(
                        "content-type",
                        hyper::header::HeaderValue::from_static("application/x-amz-json-1.0"),
                    );
                    Ok::<_, Infallible>(response)
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    format!("http://{address}")
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Medians over the rounds of one subject: init, first, warm (ms), peak RSS (MiB), size (MiB).
struct Summary {
    init: f64,
    first: f64,
    warm: f64,
    rss: f64,
    size: f64,
}

fn summarise(subject: &Subject, samples: &[Sample]) -> Summary {
    let mut init: Vec<f64> = samples.iter().map(|s| ms(s.init)).collect();
    let mut first: Vec<f64> = samples.iter().map(|s| ms(s.first)).collect();
    let mut warm: Vec<f64> = samples.iter().flat_map(|s| s.warm.iter().map(|d| ms(*d))).collect();
    let mut rss: Vec<f64> = samples.iter().map(|s| s.peak_rss_kib as f64 / 1024.0).collect();
    let size = std::fs::metadata(&subject.binary).map_or(f64::NAN, |m| m.len() as f64 / (1024.0 * 1024.0));
    Summary {
        init: median(&mut init),
        first: median(&mut first),
        warm: median(&mut warm),
        rss: median(&mut rss),
        size,
    }
}

fn verdict(ratio: f64, target: f64) -> &'static str {
    if ratio <= target { "ok" } else { "OVER" }
}

fn report(subjects: &[Subject], samples: &[Vec<Sample>], rounds: usize, warm: usize) {
    let summaries: Vec<Summary> = subjects.iter().zip(samples).map(|(s, v)| summarise(s, v)).collect();
    let reference = &summaries[0];
    println!(
        "cold start benchmark ({rounds} interleaved rounds, {warm} warm invokes each; medians; ratio = / {REFERENCE})"
    );
    println!(
        "  {:<16} {:>9} {:>6} {:>4}  {:>9} {:>9}  {:>9} {:>6} {:>4}  {:>8} {:>6}",
        "function", "init ms", "ratio", "", "first ms", "warm ms", "RSS MiB", "ratio", "", "size MiB", "ratio"
    );
    for (subject, summary) in subjects.iter().zip(&summaries) {
        let init_ratio = summary.init / reference.init;
        let rss_ratio = summary.rss / reference.rss;
        println!(
            "  {:<16} {:>9.2} {:>5.2}x {:>4}  {:>9.2} {:>9.3}  {:>9.1} {:>5.2}x {:>4}  {:>8.1} {:>5.2}x",
            subject.name,
            summary.init,
            init_ratio,
            verdict(init_ratio, 1.15),
            summary.first,
            summary.warm,
            summary.rss,
            rss_ratio,
            verdict(rss_ratio, 1.2),
            summary.size,
            summary.size / reference.size,
        );
    }
    println!("  targets: init <= 1.15x, peak RSS <= 1.2x the reference. Each invocation:");
    for subject in subjects {
        println!("    {:<16} {}", subject.name, subject.exercises);
    }
}

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let rounds = setting("WIF_COLD_START_ROUNDS", 21).max(1);
    let warm = setting("WIF_COLD_START_WARM", 50).max(1);
    let subjects = subjects();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|err| panic!("runtime: {err}"));
    let logs = tempfile::tempdir().unwrap_or_else(|err| panic!("temporary directory: {err}"));
    let samples = runtime.block_on(async {
        let aws = fake_aws().await;
        let mut samples: Vec<Vec<Sample>> = subjects.iter().map(|_| Vec::new()).collect();
        for round in 0..rounds {
            // Rotated order: no subject always runs right after another's teardown.
            for offset in 0..subjects.len() {
                let index = (round + offset) % subjects.len();
                let subject = &subjects[index];
                let log = logs.path().join(format!("{}.log", subject.name));
                samples[index].push(cold_start(subject, &aws, warm, &log).await);
            }
        }
        samples
    });
    report(&subjects, &samples, rounds, warm);
}
