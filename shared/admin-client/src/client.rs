//! [`AdminClient`]: one method per admin-API operation, plain HTTP to the local stack and SigV4-signed HTTPS to
//! the function URL in AWS. Every method answers a [`Reply`]: the typed body (a wire type of `wif-admin-api`) and
//! the JSON as the server sent it, which the CLI prints for `--json`.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use wif_admin_api::{
    AudienceChange, AuditFilter, AuditPage, Client, ClientPage, ClientUpdate, ConnectionReport, CreatedSecret,
    CredentialChange, CredentialList, CredentialRemoved, CredentialSettings, CredentialUpdate, Deleted,
    FederatedCredential, MarkerMigration, MembershipMigration, NewClient, NewSecret, PushStatus, RevokedSecret,
    SecretList, TokensRevoked,
};

use crate::error::ClientError;
use crate::target::AdminTarget;

/// The connection test fetches a JWKS with a 3 s budget and listing pages through DynamoDB; 30 s leaves room for
/// a cold Lambda start as well.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where signing credentials come from.
#[derive(Debug, Clone)]
pub enum CredentialSource {
    /// The standard AWS chain (environment, profile, SSO, web identity, container, instance metadata).
    DefaultChain { profile: Option<String> },
    /// Fixed credentials (tests, or an embedding application that has its own).
    Static(Credentials),
}

/// One admin-API request, before it is sent: exposed so its exact signed form can be inspected and tested.
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    pub method: Method,
    pub url: url::Url,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// An answer of the admin API: the typed body, and the JSON exactly as the server sent it (what `wif-admin --json`
/// prints).
#[derive(Debug, Clone)]
pub struct Reply<T> {
    pub value: T,
    pub json: serde_json::Value,
}

pub struct AdminClient {
    target: AdminTarget,
    http: reqwest::Client,
    credential_source: CredentialSource,
    credentials: OnceCell<Credentials>,
}

impl AdminClient {
    pub fn new(target: AdminTarget, credential_source: CredentialSource) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(DEFAULT_TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            // A redirect would replay a signed admin request somewhere we did not choose.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("wif-admin/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| ClientError::Usage(format!("cannot build the HTTP client: {err}")))?;
        Ok(Self {
            target,
            http,
            credential_source,
            credentials: OnceCell::new(),
        })
    }

    pub fn target(&self) -> &AdminTarget {
        &self.target
    }

    async fn credentials(&self) -> Result<&Credentials, ClientError> {
        self.credentials
            .get_or_try_init(|| async {
                match &self.credential_source {
                    CredentialSource::Static(credentials) => Ok(credentials.clone()),
                    CredentialSource::DefaultChain { profile } => {
                        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
                        if let Some(region) = &self.target.signing_region {
                            loader = loader.region(aws_config::Region::new(region.clone()));
                        }
                        if let Some(profile) = profile {
                            loader = loader.profile_name(profile);
                        }
                        let config = loader.load().await;
                        let provider = config.credentials_provider().ok_or_else(|| {
                            ClientError::Credentials("no AWS credential provider is configured".into())
                        })?;
                        provider.provide_credentials().await.map_err(|err| {
                            ClientError::Credentials(format!(
                                "no AWS credentials for signing the admin request ({err}); configure the standard \
                                 AWS credential chain (AWS_PROFILE, aws sso login, environment variables, ...)"
                            ))
                        })
                    }
                }
            })
            .await
    }

    /// Builds (and, for a function URL, signs) a request.
    pub async fn prepare(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<PreparedRequest, ClientError> {
        let url = self.target.url(segments, query);
        let mut headers: Vec<(String, String)> = Vec::new();
        if body.is_some() {
            headers.push(("content-type".into(), "application/json".into()));
        }
        let body = body.unwrap_or_default();
        if let Some(region) = &self.target.signing_region {
            let credentials = self.credentials().await?;
            let borrowed: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let signed = crate::sigv4::sign(
                method.as_str(),
                &url,
                &borrowed,
                &body,
                credentials,
                region,
                SystemTime::now(),
            )?;
            headers.extend(signed);
        }
        Ok(PreparedRequest {
            method,
            url,
            headers,
            body,
        })
    }

    /// Sends a request and returns the JSON body of a 2xx answer; error answers become [`ClientError::Api`].
    pub async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&impl Serialize>,
    ) -> Result<serde_json::Value, ClientError> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|err| ClientError::Usage(format!("cannot encode the request body: {err}")))?;
        let prepared = self.prepare(method, segments, query, body).await?;
        self.send(prepared).await
    }

    pub async fn send(&self, prepared: PreparedRequest) -> Result<serde_json::Value, ClientError> {
        let url_text = prepared.url.to_string();
        let mut request = self.http.request(prepared.method, prepared.url);
        for (name, value) in &prepared.headers {
            request = request.header(name, value);
        }
        if !prepared.body.is_empty() {
            request = request.body(prepared.body);
        }
        let response = request.send().await.map_err(|err| ClientError::Connection {
            url: url_text.clone(),
            message: describe(&err),
        })?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|err| ClientError::Connection {
            url: url_text.clone(),
            message: describe(&err),
        })?;
        let json: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        if (200..300).contains(&status) {
            return json.ok_or_else(|| ClientError::InvalidResponse {
                status,
                message: format!("not JSON: {}", snippet(&text)),
            });
        }
        let code = json.as_ref().and_then(|j| j.get("error")).and_then(|v| v.as_str());
        let description = json
            .as_ref()
            .and_then(|j| j.get("error_description").or_else(|| j.get("message")))
            .and_then(|v| v.as_str());
        match (code, description) {
            (Some(code), description) => Err(ClientError::Api {
                status,
                code: code.to_owned(),
                description: description.unwrap_or(code).to_owned(),
            }),
            // Function URLs answer an unsigned or badly signed request with {"Message":"Forbidden"}.
            (None, _) if status == 403 => Err(ClientError::Api {
                status,
                code: "forbidden".into(),
                description: format!(
                    "the function URL refused the request ({}); check the credentials and that the caller has \
                     lambda:InvokeFunctionUrl on the admin function",
                    snippet(&text)
                ),
            }),
            (None, _) => Err(ClientError::InvalidResponse {
                status,
                message: snippet(&text),
            }),
        }
    }

    /// Sends a request and reads the answer as `T`, keeping the JSON as the server sent it.
    async fn fetch<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&impl Serialize>,
    ) -> Result<Reply<T>, ClientError> {
        let json = self.call(method, segments, query, body).await?;
        let value = serde_json::from_value(json.clone()).map_err(|err| ClientError::InvalidResponse {
            status: 200,
            message: format!("the answer does not have the expected shape: {err}"),
        })?;
        Ok(Reply { value, json })
    }

    const NO_BODY: Option<&'static ()> = None;

    pub async fn create_client(&self, client: &NewClient) -> Result<Reply<Client>, ClientError> {
        self.fetch(Method::POST, &["clients"], &[], Some(client)).await
    }

    pub async fn list_clients(
        &self,
        tenant_id: Option<&str>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<Reply<ClientPage>, ClientError> {
        let query = list_query(tenant_id, limit, cursor);
        self.fetch(Method::GET, &["clients"], &query, Self::NO_BODY).await
    }

    pub async fn get_client(&self, client_id: &str) -> Result<Reply<Client>, ClientError> {
        self.fetch(Method::GET, &["clients", client_id], &[], Self::NO_BODY)
            .await
    }

    pub async fn update_client(&self, client_id: &str, update: &ClientUpdate) -> Result<Reply<Client>, ClientError> {
        self.fetch(Method::PATCH, &["clients", client_id], &[], Some(update))
            .await
    }

    pub async fn set_enabled(
        &self,
        client_id: &str,
        enabled: bool,
        version: Option<u64>,
    ) -> Result<Reply<Client>, ClientError> {
        let action = if enabled { "enable" } else { "disable" };
        let query = version_query(version);
        self.fetch(Method::POST, &["clients", client_id, action], &query, Self::NO_BODY)
            .await
    }

    pub async fn delete_client(&self, client_id: &str, version: Option<u64>) -> Result<Reply<Deleted>, ClientError> {
        let query = version_query(version);
        self.fetch(Method::DELETE, &["clients", client_id], &query, Self::NO_BODY)
            .await
    }

    pub async fn revoke_tokens(&self, client_id: &str) -> Result<Reply<TokensRevoked>, ClientError> {
        let segments = ["clients", client_id, "revoke-tokens"];
        self.fetch(Method::POST, &segments, &[], Self::NO_BODY).await
    }

    /// The registration's RFC 8935 push delivery state.
    pub async fn push_status(&self, client_id: &str) -> Result<Reply<PushStatus>, ClientError> {
        let segments = ["clients", client_id, "push"];
        self.fetch(Method::GET, &segments, &[], Self::NO_BODY).await
    }

    /// Leaves the dead letter: the next sweep pushes again from the oldest undelivered event.
    pub async fn redeliver(&self, client_id: &str) -> Result<Reply<PushStatus>, ClientError> {
        let segments = ["clients", client_id, "push", "redeliver"];
        self.fetch(Method::POST, &segments, &[], Self::NO_BODY).await
    }

    pub async fn test_client(&self, client_id: &str) -> Result<Reply<ConnectionReport>, ClientError> {
        let segments = ["clients", client_id, "test"];
        self.fetch(Method::GET, &segments, &[], Self::NO_BODY).await
    }

    pub async fn create_secret(
        &self,
        client_id: &str,
        options: &NewSecret,
    ) -> Result<Reply<CreatedSecret>, ClientError> {
        let segments = ["clients", client_id, "secrets"];
        self.fetch(Method::POST, &segments, &[], Some(options)).await
    }

    pub async fn list_secrets(&self, client_id: &str) -> Result<Reply<SecretList>, ClientError> {
        let segments = ["clients", client_id, "secrets"];
        self.fetch(Method::GET, &segments, &[], Self::NO_BODY).await
    }

    pub async fn revoke_secret(
        &self,
        client_id: &str,
        secret_id: &str,
        version: Option<u64>,
        revoke_tokens: bool,
    ) -> Result<Reply<RevokedSecret>, ClientError> {
        let query = revoke_secret_query(version, revoke_tokens);
        let segments = ["clients", client_id, "secrets", secret_id];
        self.fetch(Method::DELETE, &segments, &query, Self::NO_BODY).await
    }

    pub async fn list_credentials(&self, client_id: &str) -> Result<Reply<CredentialList>, ClientError> {
        let segments = ["clients", client_id, "credentials"];
        self.fetch(Method::GET, &segments, &[], Self::NO_BODY).await
    }

    pub async fn get_credential(
        &self,
        client_id: &str,
        credential_id: &str,
    ) -> Result<Reply<FederatedCredential>, ClientError> {
        let segments = ["clients", client_id, "credentials", credential_id];
        self.fetch(Method::GET, &segments, &[], Self::NO_BODY).await
    }

    pub async fn add_credential(
        &self,
        client_id: &str,
        credential: &CredentialSettings,
        version: Option<u64>,
    ) -> Result<Reply<CredentialChange>, ClientError> {
        let segments = ["clients", client_id, "credentials"];
        self.fetch(Method::POST, &segments, &version_query(version), Some(credential))
            .await
    }

    pub async fn update_credential(
        &self,
        client_id: &str,
        credential_id: &str,
        update: &CredentialUpdate,
    ) -> Result<Reply<CredentialChange>, ClientError> {
        let segments = ["clients", client_id, "credentials", credential_id];
        self.fetch(Method::PATCH, &segments, &[], Some(update)).await
    }

    pub async fn remove_credential(
        &self,
        client_id: &str,
        credential_id: &str,
        version: Option<u64>,
    ) -> Result<Reply<CredentialRemoved>, ClientError> {
        let segments = ["clients", client_id, "credentials", credential_id];
        self.fetch(Method::DELETE, &segments, &version_query(version), Self::NO_BODY)
            .await
    }

    pub async fn add_audience(
        &self,
        client_id: &str,
        credential_id: &str,
        change: &AudienceChange,
    ) -> Result<Reply<CredentialChange>, ClientError> {
        let segments = ["clients", client_id, "credentials", credential_id, "audiences"];
        self.fetch(Method::POST, &segments, &[], Some(change)).await
    }

    pub async fn remove_audience(
        &self,
        client_id: &str,
        credential_id: &str,
        audience: &str,
        version: Option<u64>,
    ) -> Result<Reply<CredentialChange>, ClientError> {
        let segments = ["clients", client_id, "credentials", credential_id, "audiences"];
        let mut query = version_query(version);
        query.push(("audience", audience.to_owned()));
        self.fetch(Method::DELETE, &segments, &query, Self::NO_BODY).await
    }

    pub async fn migrate_trust_markers(&self) -> Result<Reply<MarkerMigration>, ClientError> {
        let segments = ["migrations", "trust-markers"];
        self.fetch(Method::POST, &segments, &[], Self::NO_BODY).await
    }

    /// One slice of the Directory membership migration; call again with its `next_cursor` until there is none.
    pub async fn migrate_directory_memberships(
        &self,
        cursor: Option<&str>,
    ) -> Result<Reply<MembershipMigration>, ClientError> {
        let segments = ["migrations", "directory-memberships"];
        let query: Vec<(&str, String)> = cursor.map(|c| ("cursor", c.to_owned())).into_iter().collect();
        self.fetch(Method::POST, &segments, &query, Self::NO_BODY).await
    }

    pub async fn audit(&self, filter: &AuditFilter) -> Result<Reply<AuditPage>, ClientError> {
        self.fetch(Method::GET, &["audit"], &filter.to_query(), Self::NO_BODY)
            .await
    }
}

pub fn list_query(tenant_id: Option<&str>, limit: Option<u32>, cursor: Option<&str>) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    if let Some(tenant) = tenant_id {
        query.push(("tenant_id", tenant.to_owned()));
    }
    if let Some(limit) = limit {
        query.push(("limit", limit.to_string()));
    }
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor.to_owned()));
    }
    query
}

pub fn version_query(version: Option<u64>) -> Vec<(&'static str, String)> {
    version.map(|v| vec![("version", v.to_string())]).unwrap_or_default()
}

pub fn revoke_secret_query(version: Option<u64>, revoke_tokens: bool) -> Vec<(&'static str, String)> {
    let mut query = version_query(version);
    if revoke_tokens {
        query.push(("revoke_tokens", "true".into()));
    }
    query
}

/// reqwest's error text plus its source chain ("error sending request" alone says nothing).
fn describe(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "connection failed".to_owned()
    } else {
        err.to_string()
    };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn snippet(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return "(empty body)".to_owned();
    }
    trimmed.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::SignMode;

    #[tokio::test]
    async fn prepared_requests_carry_exactly_what_was_signed() {
        let target = AdminTarget::parse(
            "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws",
            SignMode::Auto,
            None,
        )
        .unwrap();
        let credentials = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let client = AdminClient::new(target, CredentialSource::Static(credentials)).unwrap();
        let prepared = client
            .prepare(
                Method::POST,
                &["clients", "c-1", "secrets"],
                &[],
                Some(br#"{"description":"x"}"#.to_vec()),
            )
            .await
            .unwrap();
        let mut names: Vec<&str> = prepared.headers.iter().map(|(n, _)| n.as_str()).collect();
        names.sort();
        assert_eq!(
            names,
            vec!["authorization", "content-type", "x-amz-content-sha256", "x-amz-date"]
        );
        let authorization = &prepared
            .headers
            .iter()
            .find(|(name, _)| name == "authorization")
            .unwrap()
            .1;
        assert!(
            authorization.contains("/eu-west-1/lambda/aws4_request"),
            "{authorization}"
        );
        assert!(authorization.contains("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date"));
        assert_eq!(
            prepared.url.as_str(),
            "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws/clients/c-1/secrets"
        );

        let local = AdminClient::new(
            AdminTarget::parse(crate::target::LOCAL_ADMIN_URL, SignMode::Auto, None).unwrap(),
            CredentialSource::DefaultChain { profile: None },
        )
        .unwrap();
        let prepared = local
            .prepare(Method::GET, &["audit"], &[("tenant_id", "t".into())], None)
            .await
            .unwrap();
        assert!(prepared.headers.is_empty(), "the local stack is never signed");
    }

    #[test]
    fn query_builders_leave_out_unset_parameters() {
        assert!(list_query(None, None, None).is_empty());
        assert_eq!(
            revoke_secret_query(Some(4), true),
            vec![("version", "4".to_owned()), ("revoke_tokens", "true".to_owned())]
        );
        let filter = AuditFilter {
            client_id: Some("c".into()),
            limit: Some("5".into()),
            order: Some("asc".into()),
            ..Default::default()
        };
        assert_eq!(
            filter.to_query(),
            vec![
                ("client_id", "c".to_owned()),
                ("limit", "5".to_owned()),
                ("order", "asc".to_owned())
            ]
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_connection_error() {
        // A loopback port that was just free: nothing listens there, and nothing beyond loopback is contacted.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let client = AdminClient::new(
            AdminTarget::parse(
                &format!("http://127.0.0.1:{port}/lambda-url/admin"),
                SignMode::Auto,
                None,
            )
            .unwrap(),
            CredentialSource::DefaultChain { profile: None },
        )
        .unwrap();
        let err = client.get_client("x").await.unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::CONNECTION, "{err}");
    }
}
