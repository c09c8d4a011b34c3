//! The S3 backend: the same keys and layout as the local folder, in a bucket (optionally under
//! a key prefix). Works with AWS and S3-compatible stores (endpoint override, path-style).
//! Objects are written with server-side encryption unless turned off; large ones in parts;
//! every request is retried with backoff by the SDK; TLS certificates are verified.

use std::ops::Range;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};
use serde::Deserialize;

use super::{ObjectMeta, ObjectStore};
use crate::StoreError;

/// Server-side encryption of every object written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum Encryption {
    /// SSE-S3: AES-256 with keys S3 manages.
    #[default]
    Aes256,
    /// SSE-KMS with the given key (id or ARN).
    Kms { key_id: String },
    /// No server-side encryption header (for stores that reject it).
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    pub bucket: String,
    /// Key prefix inside the bucket (e.g. `canvass/`); empty for the bucket root.
    #[serde(default)]
    pub prefix: String,
    #[serde(default = "default_region")]
    pub region: String,
    /// For S3-compatible stores: `https://minio.internal:9000`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Bucket in the path rather than the host name (most S3-compatible stores need it).
    #[serde(default)]
    pub force_path_style: bool,
    #[serde(default)]
    pub encryption: Encryption,
    /// Objects larger than this are uploaded in parts of this size.
    #[serde(default = "default_part_size")]
    pub part_size: usize,
    /// Attempts per request, with exponential backoff between them.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// Lets an `http://` endpoint through: evidence would cross the network in the clear, so
    /// only a test server on the same machine should need it.
    #[serde(default)]
    pub allow_http: bool,
}

fn default_region() -> String {
    "us-east-1".into()
}

fn default_part_size() -> usize {
    8 * 1024 * 1024
}

fn default_attempts() -> u32 {
    8
}

impl S3Config {
    pub fn new(bucket: impl Into<String>) -> Self {
        S3Config {
            bucket: bucket.into(),
            prefix: String::new(),
            region: default_region(),
            endpoint: None,
            force_path_style: false,
            encryption: Encryption::default(),
            part_size: default_part_size(),
            max_attempts: default_attempts(),
            allow_http: false,
        }
    }
}

/// The trait is synchronous (the lake reads from worker threads); the SDK is async, so the store
/// runs its own small runtime and blocks on it.
pub struct S3Store {
    client: Client,
    config: S3Config,
    runtime: tokio::runtime::Runtime,
}

/// A failure of ours, not the server's: retrying does not help.
fn io(key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Permanent { key: key.to_string(), reason: e.to_string() }
}

/// A failed request, by kind: no answer, a timeout, throttling (429, 503 SlowDown) or a
/// server error (5xx) may clear up; anything else the server refused will be refused again.
fn failed<E: ProvideErrorMetadata + std::error::Error + 'static>(
    key: &str,
    e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> StoreError {
    let (key, reason) = (key.to_string(), describe(e));
    let status = e.raw_response().map(|r| r.status().as_u16());
    match e {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            StoreError::Transient { key, reason }
        }
        _ => match status {
            Some(404) => StoreError::NotFound(key),
            Some(412) => StoreError::PreconditionFailed(key),
            Some(429) | Some(500..=599) => StoreError::Transient { key, reason },
            _ => StoreError::Permanent { key, reason },
        },
    }
}

/// The SDK's error code and message, not just "service error"; for failures to reach the
/// store, the chain of causes down to the system error ("Connection refused").
fn describe<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    e: &SdkError<E, R>,
) -> String {
    if let SdkError::ServiceError(service) = e {
        let err = service.err();
        return format!("{}: {}", err.code().unwrap_or("error"), err.message().unwrap_or("no message"));
    }
    let mut parts = vec![e.to_string()];
    let mut cause = std::error::Error::source(e);
    while let Some(next) = cause {
        let text = next.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cause = next.source();
    }
    parts.join(": ")
}

impl S3Store {
    /// Credentials come from the standard AWS chain (environment, profile, web identity,
    /// instance metadata).
    pub fn new(config: S3Config) -> Result<Self, StoreError> {
        if config.part_size < 5 * 1024 * 1024 {
            return Err(io(&config.bucket, "part_size must be at least 5 MiB (the S3 minimum)"));
        }
        if let Some(endpoint) = &config.endpoint
            && endpoint.to_ascii_lowercase().starts_with("http://")
            && !config.allow_http
        {
            return Err(io(
                &config.bucket,
                format!(
                    "endpoint {endpoint} is plain HTTP: evidence would cross the network unencrypted; \
                     use https://, or set allow_http = true (a test server on this machine only)"
                ),
            ));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("s3")
            .enable_all()
            .build()
            .map_err(|e| io(&config.bucket, e))?;
        let shared = runtime.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new(config.region.clone()))
                .retry_config(
                    RetryConfig::standard()
                        .with_max_attempts(config.max_attempts)
                        .with_initial_backoff(Duration::from_millis(200))
                        .with_max_backoff(Duration::from_secs(20)),
                )
                .load(),
        );
        let mut builder =
            aws_sdk_s3::config::Builder::from(&shared).force_path_style(config.force_path_style);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        Ok(S3Store { client: Client::from_conf(builder.build()), config, runtime })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.config.prefix)
    }

    /// The server-side encryption headers every write carries.
    fn encryption(&self) -> (Option<ServerSideEncryption>, Option<String>) {
        match &self.config.encryption {
            Encryption::Aes256 => (Some(ServerSideEncryption::Aes256), None),
            Encryption::Kms { key_id } => (Some(ServerSideEncryption::AwsKms), Some(key_id.clone())),
            Encryption::None => (None, None),
        }
    }

    fn put_request(&self, key: &str) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
        let (sse, kms_key) = self.encryption();
        self.client
            .put_object()
            .bucket(&self.config.bucket)
            .key(self.key(key))
            .set_server_side_encryption(sse)
            .set_ssekms_key_id(kms_key)
    }

    /// Every page of a listing under `prefix`, with `delimiter` for folder-like listings.
    async fn list_pages(
        &self,
        prefix: &str,
        delimiter: Option<&str>,
    ) -> Result<Vec<aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output>, StoreError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.config.bucket)
            .prefix(self.key(prefix))
            .set_delimiter(delimiter.map(String::from))
            .into_paginator()
            .send();
        let mut all = Vec::new();
        while let Some(page) = pages.next().await {
            all.push(page.map_err(|e| failed(prefix, &e))?);
        }
        Ok(all)
    }

    async fn put_in_parts(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let full_key = self.key(key);
        let (sse, kms_key) = self.encryption();
        let create = self
            .client
            .create_multipart_upload()
            .bucket(&self.config.bucket)
            .key(&full_key)
            .set_server_side_encryption(sse)
            .set_ssekms_key_id(kms_key);
        let upload = create.send().await.map_err(|e| failed(key, &e))?;
        let upload_id = upload.upload_id().ok_or_else(|| io(key, "no upload id in the reply"))?.to_string();
        let uploaded = async {
            let mut parts = Vec::new();
            for (index, chunk) in bytes.chunks(self.config.part_size).enumerate() {
                let number = index as i32 + 1;
                let part = self
                    .client
                    .upload_part()
                    .bucket(&self.config.bucket)
                    .key(&full_key)
                    .upload_id(&upload_id)
                    .part_number(number)
                    .body(ByteStream::from(chunk.to_vec()))
                    .send()
                    .await
                    .map_err(|e| failed(key, &e))?;
                parts.push(CompletedPart::builder().part_number(number).set_e_tag(part.e_tag).build());
            }
            self.client
                .complete_multipart_upload()
                .bucket(&self.config.bucket)
                .key(&full_key)
                .upload_id(&upload_id)
                .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
                .send()
                .await
                .map_err(|e| failed(key, &e))
        }
        .await;
        if uploaded.is_err() {
            // Leave no orphaned parts to pay for.
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.config.bucket)
                .key(&full_key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        uploaded.map(|_| ())
    }

    async fn get_object(&self, key: &str, range: Option<Range<u64>>) -> Result<Vec<u8>, StoreError> {
        let mut request = self.client.get_object().bucket(&self.config.bucket).key(self.key(key));
        if let Some(range) = &range {
            if range.is_empty() {
                return Ok(Vec::new());
            }
            request = request.range(format!("bytes={}-{}", range.start, range.end - 1));
        }
        let reply = request.send().await.map_err(|e| match &e {
            SdkError::ServiceError(s) if s.err().is_no_such_key() => StoreError::NotFound(key.to_string()),
            _ => failed(key, &e),
        })?;
        // The body streams after the headers: a connection lost on the way may be retried.
        let bytes = reply
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Transient { key: key.to_string(), reason: e.to_string() })?
            .to_vec();
        if let Some(range) = range
            && bytes.len() as u64 != range.end - range.start
        {
            return Err(io(
                key,
                format!("bytes {}..{} asked, {} returned", range.start, range.end, bytes.len()),
            ));
        }
        Ok(bytes)
    }
}

impl ObjectStore for S3Store {
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.runtime.block_on(async {
            if bytes.len() > self.config.part_size {
                return self.put_in_parts(key, bytes).await;
            }
            // A PUT is atomic on S3: readers see the old object or the new one.
            self.put_request(key)
                .body(ByteStream::from(bytes.to_vec()))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| failed(key, &e))
        })
    }

    fn put_new(&self, key: &str, bytes: &[u8]) -> Result<bool, StoreError> {
        self.runtime.block_on(async {
            let reply =
                self.put_request(key).if_none_match("*").body(ByteStream::from(bytes.to_vec())).send().await;
            match reply {
                Ok(_) => Ok(true),
                Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => Ok(false),
                Err(e) => Err(failed(key, &e)),
            }
        })
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.runtime.block_on(self.get_object(key, None))
    }

    fn get_range(&self, key: &str, range: Range<u64>) -> Result<Vec<u8>, StoreError> {
        self.runtime.block_on(self.get_object(key, Some(range)))
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        let pages = self.runtime.block_on(self.list_pages(prefix, None))?;
        let mut found: Vec<ObjectMeta> = pages
            .iter()
            .flat_map(|page| page.contents())
            .filter_map(|object| {
                let key = object.key()?.strip_prefix(&self.config.prefix)?;
                Some(ObjectMeta { key: key.to_string(), size: object.size().unwrap_or(0).max(0) as u64 })
            })
            .collect();
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.runtime.block_on(async {
            self.client
                .delete_object()
                .bucket(&self.config.bucket)
                .key(self.key(key))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| failed(key, &e))
        })
    }

    fn list_dirs(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let pages = self.runtime.block_on(self.list_pages(prefix, Some("/")))?;
        let mut dirs: Vec<String> = pages
            .iter()
            .flat_map(|page| page.common_prefixes())
            .filter_map(|common| Some(common.prefix()?.strip_prefix(&self.config.prefix)?.to_string()))
            .collect();
        dirs.sort();
        Ok(dirs)
    }
}
