//! The Helm chart (`helm/canvass`) through the real Helm v4 SDK (PyPI `helm-python-sdk`,
//! installed by `scripts/test-services`): lint, render with default and custom values, and the
//! rendered configuration accepted by `canvass config check`.

mod support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use support::{canvass, describe, repo, text};

fn python() -> PathBuf {
    let path = std::env::var_os("CANVASS_HELM_PYTHON").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/canvass/tools/helm-venv/bin/python")
    });
    assert!(path.is_file(), "{} is missing: run scripts/test-services", path.display());
    path
}

fn render(values: Option<Value>) -> Value {
    let mut cmd = Command::new(python());
    cmd.arg(repo().join("helm/tests/render.py")).arg(repo().join("helm/canvass"));
    if let Some(values) = values {
        cmd.arg(values.to_string());
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["lint"]["errors"], json!([]), "helm lint --strict: {}", report["lint"]);
    let worst =
        report["lint"]["messages"].as_array().unwrap().iter().map(|m| m["severity"].as_i64().unwrap()).max();
    assert!(worst.unwrap_or(0) < 2, "lint warnings: {}", report["lint"]);
    report
}

/// Every rendered document, as (kind, name, document).
fn documents(report: &Value) -> Vec<(String, String, Value)> {
    assert!(report.get("error").is_none(), "render failed: {}", report["error"]);
    report["manifests"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|docs| docs.as_array().unwrap().clone())
        .map(|d| {
            (d["kind"].as_str().unwrap().to_string(), d["metadata"]["name"].as_str().unwrap().to_string(), d)
        })
        .collect()
}

fn find<'a>(docs: &'a [(String, String, Value)], kind: &str, name: &str) -> Option<&'a Value> {
    docs.iter().find(|(k, n, _)| k == kind && n == name).map(|(_, _, d)| d)
}

fn config_check(docs: &[(String, String, Value)]) -> String {
    let config = find(docs, "ConfigMap", "canvass").expect("a config map")["data"]["canvass.toml"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("canvass.toml");
    std::fs::write(&path, &config).unwrap();
    let out = canvass().arg("--config").arg(&path).args(["config", "check"]).output().unwrap();
    assert!(out.status.success(), "the chart's config is refused:\n{config}\n{}", describe(&out));
    text(&out.stdout)
}

#[test]
fn default_values_lint_and_render_a_working_deployment() {
    let docs = documents(&render(None));
    let detector = find(&docs, "Deployment", "canvass-detector").expect("detector deployment");
    let container = &detector["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["args"], json!(["detect"]));
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/healthz");
    assert!(container["resources"]["requests"]["cpu"].is_string());
    assert!(detector["spec"].get("replicas").is_none(), "the autoscaler owns the replica count");
    let hpa = find(&docs, "HorizontalPodAutoscaler", "canvass-detector").expect("CPU autoscaler by default");
    assert_eq!(hpa["spec"]["maxReplicas"], 12);
    let search = find(&docs, "Deployment", "canvass-search").expect("search deployment");
    let probe = &search["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"];
    assert_eq!(probe["scheme"], "HTTPS", "TLS by default: {probe}");
    let config =
        find(&docs, "ConfigMap", "canvass").unwrap()["data"]["canvass.toml"].as_str().unwrap().to_string();
    assert!(config.contains("tls_dir = \"/tmp/canvass-tls\""), "{config}");
    assert!(config.contains("\"security.protocol\" = \"ssl\""), "Kafka over TLS by default: {config}");
    assert!(
        config.contains("frames_retention_hours = 24") && config.contains("events_retention_hours = 168"),
        "{config}"
    );
    assert!(find(&docs, "Service", "canvass-search").is_some());
    assert_eq!(
        search["spec"]["template"]["spec"]["containers"][0]["args"],
        json!(["serve", "--jobs", "kafka"])
    );
    let jobs =
        find(&docs, "Deployment", "canvass-jobs").expect("ingest workers for jobs of uploaded evidence");
    let jobs = &jobs["spec"]["template"]["spec"]["containers"][0];
    assert_eq!((jobs["args"][0].as_str(), jobs["args"][1].as_str()), (Some("ingest"), Some("--jobs")));
    assert_eq!(jobs["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert!(find(&docs, "Deployment", "canvass-ingest").is_none(), "no streams configured, no ingest pods");
    assert!(find(&docs, "ScaledObject", "canvass-detector").is_none());
    assert!(find(&docs, "ServiceMonitor", "canvass-detector").is_none());
    let summary = config_check(&docs);
    assert!(summary.contains("s3://canvass-evidence/"), "{summary}");
    assert!(summary.contains("kafka: kafka:9092 group canvass-detectors"), "{summary}");
}

#[test]
fn custom_values_render_streams_secrets_keda_and_monitoring() {
    let values = json!({
        "kafka": {"brokers": "k0:9093,k1:9093", "partitions": 6, "securityProtocol": "sasl_ssl",
                  "caSecret": "kafka-ca", "sasl": {"mechanism": "SCRAM-SHA-512", "username": "canvass", "passwordSecret": "kafka-pw"}},
        "s3": {"bucket": "city-evidence", "endpoint": "https://minio.city:9000", "encryption": "kms", "kmsKeyId": "key-1",
               "credentialsSecret": "s3-creds"},
        "ingest": {"streams": [{"url": "rtsp://cam-1/stream", "source": "main-st"}, {"url": "rtsp://cam-2/stream", "source": "depot"}]},
        "detector": {"keda": {"enabled": true, "maxReplicas": 20}},
        "metrics": {"serviceMonitor": {"enabled": true}},
        "audit": {"keySecret": "audit-key"},
        "signing": {"keySecret": "signing-key"},
        "search": {"tls": {"secret": "search-cert"}, "disclosureBudget": 500, "agencies": [{"name": "metro", "sources": ["main-st"]}],
                   "users": [{"name": "ana", "role": "investigator", "agency": "metro", "token_sha256": "ab".repeat(32)}]},
    });
    let docs = documents(&render(Some(values)));
    let ingest = find(&docs, "Deployment", "canvass-ingest").expect("ingest pods for the streams");
    let containers = ingest["spec"]["template"]["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 2);
    assert!(containers[1]["args"].as_array().unwrap().contains(&json!("rtsp://cam-2/stream")));
    let scaled = find(&docs, "ScaledObject", "canvass-detector").expect("KEDA scaler");
    assert_eq!(scaled["spec"]["maxReplicaCount"], 6, "capped at the partition count");
    assert_eq!(scaled["spec"]["triggers"][0]["metadata"]["consumerGroup"], "canvass-detectors");
    assert!(
        find(&docs, "HorizontalPodAutoscaler", "canvass-detector").is_none(),
        "KEDA replaces the CPU scaler"
    );
    assert!(find(&docs, "ServiceMonitor", "canvass-detector").is_some());
    let detector = find(&docs, "Deployment", "canvass-detector").unwrap();
    let env = detector["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
    for secret in ["s3-creds", "kafka-pw", "CANVASS_KAFKA_SASL_PASSWORD", "AWS_SECRET_ACCESS_KEY"] {
        assert!(env.contains(secret), "{secret} missing from {env}");
    }
    assert!(detector["spec"]["template"]["spec"]["volumes"].to_string().contains("kafka-ca"));
    let search = find(&docs, "Deployment", "canvass-search").unwrap();
    assert!(search["spec"]["template"]["spec"]["volumes"].to_string().contains("search-cert"));
    let mounts = search["spec"]["template"]["spec"]["containers"][0]["volumeMounts"].to_string();
    assert!(mounts.contains("/etc/canvass/tls"), "{mounts}");
    assert!(!detector["spec"]["template"]["spec"]["volumes"].to_string().contains("search-cert"));
    let ingest_env = containers[0]["env"].to_string();
    assert!(ingest_env.contains("CANVASS_AUDIT_KEY") && ingest_env.contains("audit-key"), "{ingest_env}");
    // The package signing key reaches the search pods and no other.
    let search_env = search["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
    assert!(search_env.contains("CANVASS_SIGNING_KEY") && search_env.contains("signing-key"), "{search_env}");
    assert!(!ingest_env.contains("signing-key") && !env.contains("signing-key"), "{ingest_env}");
    let summary = config_check(&docs);
    assert!(summary.contains("s3://city-evidence/ at https://minio.city:9000"), "{summary}");
    assert!(summary.contains("sasl.mechanism") && summary.contains("ssl.ca.location"), "{summary}");
    assert!(summary.contains("1 agencies, 1 users"), "{summary}");
    let config =
        find(&docs, "ConfigMap", "canvass").unwrap()["data"]["canvass.toml"].as_str().unwrap().to_string();
    assert!(config.contains("disclosure_budget = 500"), "{config}");
}

#[test]
fn missing_required_values_are_named() {
    let report = render(Some(json!({"s3": {"bucket": ""}})));
    assert!(report["error"].as_str().unwrap().contains("s3.bucket is required"), "{report}");
    let report = render(Some(json!({"s3": {"encryption": "kms"}})));
    assert!(report["error"].as_str().unwrap().contains("s3.kmsKeyId is required"), "{report}");
}

#[test]
fn plain_http_only_when_a_proxy_in_front_terminates_tls() {
    let docs = documents(&render(Some(json!({"search": {"tls": {"behindProxy": true}}}))));
    let search = find(&docs, "Deployment", "canvass-search").unwrap();
    let probe = &search["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"];
    assert_eq!(probe["scheme"], "HTTP");
    let config =
        find(&docs, "ConfigMap", "canvass").unwrap()["data"]["canvass.toml"].as_str().unwrap().to_string();
    assert!(config.contains("behind_tls_proxy = true"), "{config}");
    config_check(&docs);
}
