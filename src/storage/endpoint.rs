//! Endpoint settings and building an S3 client for them: the AWS default credential chain
//! (environment, `~/.aws/config` and `credentials` profiles, SSO, instance metadata),
//! `AWS_ENDPOINT_URL`, or a named endpoint from `config.toml` with its own keys or profile.

use std::fmt;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{
    ConfigBag, Intercept, RequestChecksumCalculation, ResponseChecksumValidation, RuntimeComponents,
};
use aws_smithy_runtime_api::box_error::BoxError;
use serde::{Deserialize, Serialize};

/// When the SDK adds and checks checksums. Since early 2025 the AWS SDKs add CRC32 checksums to
/// every upload, which several S3-compatible stores reject; `when_required` turns that off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Checksums {
    /// Add CRC32 checksums to uploads and validate them on downloads (AWS's default).
    #[default]
    WhenSupported,
    /// Only where the operation demands one (for stores that reject the trailers).
    WhenRequired,
}

/// One S3 endpoint and how to sign in to it. The default endpoint leaves everything empty and
/// lets the AWS chain decide.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// e.g. `http://127.0.0.1:3900`; empty means AWS (or `AWS_ENDPOINT_URL`).
    pub url: Option<String>,
    pub region: Option<String>,
    /// Path-style addressing (`host/bucket/key`); defaults to on when `url` is set.
    pub path_style: Option<bool>,
    /// A profile from `~/.aws/config`.
    pub profile: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    #[serde(default)]
    pub checksums: Checksums,
    /// Seconds to wait for a response after a request was sent (default 120).
    pub read_timeout_secs: Option<u64>,
    /// Seconds to wait for a TCP/TLS connection (default 10).
    pub connect_timeout_secs: Option<u64>,
    /// Attempts per request, retrying throttling and transient errors with jittered backoff
    /// (default 5).
    pub max_attempts: Option<u32>,
    /// Seconds a request or response body may move nothing before it fails (default 10).
    pub stall_timeout_secs: Option<u64>,
    /// Send requests (and so credentials and signatures) over plain `http://` to a host that is
    /// not loopback. Off by default: such an endpoint is refused with an error naming this.
    pub allow_insecure_http: Option<bool>,
}

impl fmt::Debug for EndpointConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("EndpointConfig")
            .field("url", &self.url)
            .field("region", &self.region)
            .field("path_style", &self.path_style)
            .field("profile", &self.profile)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &redact(&self.secret_access_key))
            .field("session_token", &redact(&self.session_token))
            .field("checksums", &self.checksums)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish_non_exhaustive()
    }
}

impl EndpointConfig {
    /// An endpoint at `url` with static keys (used by the demo and the tests).
    pub fn with_keys(url: &str, access_key_id: &str, secret_access_key: &str) -> Self {
        EndpointConfig {
            url: Some(url.to_string()),
            region: Some("us-east-1".into()),
            access_key_id: Some(access_key_id.to_string()),
            secret_access_key: Some(secret_access_key.to_string()),
            ..EndpointConfig::default()
        }
    }

    /// Who these credentials are, without the secret: two endpoints with the same identity can
    /// copy server-side between each other.
    pub fn identity(&self) -> String {
        format!(
            "{}|{}|{}",
            self.url.as_deref().unwrap_or("aws"),
            self.profile.as_deref().unwrap_or(""),
            self.access_key_id.as_deref().unwrap_or("")
        )
    }
}

/// The S3 client for an endpoint, built through aws-config.
pub async fn build_client(cfg: &EndpointConfig) -> aws_sdk_s3::Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &cfg.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &cfg.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &cfg.url {
        loader = loader.endpoint_url(url);
    }
    if let (Some(ak), Some(sk)) = (&cfg.access_key_id, &cfg.secret_access_key) {
        loader = loader.credentials_provider(Credentials::new(
            ak,
            sk,
            cfg.session_token.clone(),
            None,
            "s3ferry-config",
        ));
    }
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(cfg.connect_timeout_secs.unwrap_or(10)))
        .read_timeout(Duration::from_secs(cfg.read_timeout_secs.unwrap_or(120)))
        .build();
    loader = loader
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(cfg.max_attempts.unwrap_or(5)))
        .stalled_stream_protection(
            StalledStreamProtectionConfig::enabled()
                .grace_period(Duration::from_secs(
                    cfg.stall_timeout_secs.unwrap_or(10).max(1),
                ))
                .build(),
        );
    let shared = loader.load().await;
    // A custom endpoint (configured, or from AWS_ENDPOINT_URL) is most likely an S3-compatible
    // store, and those generally want path-style addressing.
    let custom = cfg.url.is_some() || shared.endpoint_url().is_some();
    let mut s3 = aws_sdk_s3::config::Builder::from(&shared)
        .force_path_style(cfg.path_style.unwrap_or(custom))
        .interceptor(PlainHttpGuard {
            allowed: cfg.allow_insecure_http.unwrap_or(false),
        });
    if shared.region().is_none() {
        s3 = s3.region(Region::new("us-east-1"));
    }
    s3 = match cfg.checksums {
        Checksums::WhenSupported => s3
            .request_checksum_calculation(RequestChecksumCalculation::WhenSupported)
            .response_checksum_validation(ResponseChecksumValidation::WhenSupported),
        Checksums::WhenRequired => s3
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired),
    };
    aws_sdk_s3::Client::from_conf(s3.build())
}

/// Refuses, before anything is signed or sent, a request over plain `http://` to a host that is
/// not loopback, unless the endpoint opted in: credentials, signatures and session tokens would
/// cross the network readable by anyone on the path. It looks at the request's final URL, so it
/// covers `AWS_ENDPOINT_URL`, profiles' `endpoint_url` and virtual-hosted bucket names alike.
#[derive(Debug)]
struct PlainHttpGuard {
    allowed: bool,
}

impl Intercept for PlainHttpGuard {
    fn name(&self) -> &'static str {
        "PlainHttpGuard"
    }

    fn read_before_signing(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.allowed {
            return Ok(());
        }
        match plain_http_authority(context.request().uri()) {
            Some((authority, host)) if !is_loopback(host) => Err(Box::new(InsecureHttp {
                host: authority.to_string(),
            })),
            _ => Ok(()),
        }
    }
}

/// For an `http://` URL, its authority (`host:port`) and host.
fn plain_http_authority(uri: &str) -> Option<(&str, &str)> {
    let scheme_end = uri.find("://")?;
    if !uri[..scheme_end].eq_ignore_ascii_case("http") {
        return None;
    }
    let rest = &uri[scheme_end + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        &host_port[..host_port.find(']').map_or(host_port.len(), |i| i + 1)]
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    Some((host_port, host))
}

/// True for `localhost`, `127.0.0.0/8` and `::1`: traffic that never leaves the machine.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The refusal of [`PlainHttpGuard`]; `errors::map` turns it into a config error.
#[derive(Debug)]
pub struct InsecureHttp {
    pub host: String,
}

impl fmt::Display for InsecureHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refusing to send credentials over plain HTTP to {}: use an https:// URL, or set allow_insecure_http = true for this endpoint in config.toml",
            self.host
        )
    }
}

impl std::error::Error for InsecureHttp {}

/// A label for messages: the name and URL, never a key.
pub fn label(name: &str, cfg: &EndpointConfig) -> String {
    match &cfg.url {
        Some(url) => format!("{name} ({url})"),
        None => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let mut cfg = EndpointConfig::with_keys("http://x", "AKIDEXAMPLE", "s3cr3t-SECRET");
        cfg.session_token = Some("tok-TOKEN".into());
        let shown = format!("{cfg:?}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("tok-TOKEN"),
            "{shown}"
        );
        assert!(!cfg.identity().contains("s3cr3t"));
        assert!(!label("n", &cfg).contains("s3cr3t"));
    }

    #[test]
    fn only_loopback_may_be_plain_http() {
        for (uri, refused) in [
            ("http://127.0.0.1:9000/b/k", false),
            ("http://localhost:9000/b", false),
            ("http://[::1]:9000/b", false),
            ("http://bucket.localhost:3900/k", false),
            ("https://s3.example.com/b", false),
            ("http://10.0.0.5:9000/b?x=1", true),
            ("http://minio.lan/b", true),
            ("http://[2001:db8::1]:9000/b", true),
            ("HTTP://user@example.com:80", true),
        ] {
            let got = plain_http_authority(uri).is_some_and(|(_, host)| !is_loopback(host));
            assert_eq!(got, refused, "{uri}");
        }
        let msg = InsecureHttp {
            host: "10.0.0.5:9000".into(),
        }
        .to_string();
        assert!(msg.contains("allow_insecure_http = true") && msg.contains("10.0.0.5:9000"));
    }

    #[test]
    fn parses_from_toml() {
        let cfg: EndpointConfig = toml::from_str(
            "url = \"http://127.0.0.1:3900\"\nregion = \"garage\"\nchecksums = \"when_required\"\nprofile = \"p\"",
        )
        .unwrap();
        assert_eq!(cfg.checksums, Checksums::WhenRequired);
        assert_eq!(cfg.profile.as_deref(), Some("p"));
        let cfg: EndpointConfig = toml::from_str(
            "url = \"http://minio.lan:9000\"\nallow_insecure_http = true\nstall_timeout_secs = 30",
        )
        .unwrap();
        assert_eq!(
            (cfg.allow_insecure_http, cfg.stall_timeout_secs),
            (Some(true), Some(30))
        );
        assert!(toml::from_str::<EndpointConfig>("bogus = 1").is_err());
    }
}
