//! Parsing `POST /oauth2/token` (RFC 6749 §4.4 client credentials, RFC 7523 §2.2 assertions) before any lookup:
//! method, media type, body size, repeated parameters, grant type, and exactly one client-authentication method.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, Method, header};

use crate::assertion::ASSERTION_TYPE_JWT_BEARER;
use crate::oauth_error::{BASIC_CHALLENGE, OAuthError};
use crate::scope::Scope;

/// How the client authenticated. `Debug` never shows the credential.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientCredential {
    /// `client_assertion` (Workload Identity Federation).
    Assertion(String),
    /// `client_secret_post`.
    SecretPost(String),
    /// `client_secret_basic`.
    SecretBasic(String),
}

impl ClientCredential {
    pub fn method_name(&self) -> &'static str {
        match self {
            ClientCredential::Assertion(_) => "private_key_jwt",
            ClientCredential::SecretPost(_) => "client_secret_post",
            ClientCredential::SecretBasic(_) => "client_secret_basic",
        }
    }
}

impl std::fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}(<redacted>)", self.method_name())
    }
}

/// A well-formed client-credentials token request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// From the form or the Basic credentials; absent for an assertion-only request.
    pub client_id: Option<String>,
    pub credential: ClientCredential,
    /// Requested scopes, deduplicated in request order; `None` when the request had no `scope`.
    pub scopes: Option<Vec<Scope>>,
}

impl TokenRequest {
    /// The challenge a 401 for this request carries (RFC 6749 §5.2 wants one when Basic was used).
    pub fn challenge(&self) -> Option<&'static str> {
        matches!(self.credential, ClientCredential::SecretBasic(_)).then_some(BASIC_CHALLENGE)
    }
}

const MAX_CLIENT_ID_LEN: usize = 256;
const MAX_SECRET_LEN: usize = 512;

/// Parses the request. `max_body_bytes` is checked before the body is decoded at all. The checks run in a fixed
/// order (envelope, form, grant type, authentication method, credential, scope), so each bad request gets the
/// error of its first problem.
pub fn parse_token_request(
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
    max_body_bytes: usize,
) -> Result<TokenRequest, OAuthError> {
    check_envelope(method, headers, body, max_body_bytes)?;
    let form = Form::parse(body)?;
    require_client_credentials_grant(&form)?;
    let basic = basic_credentials(headers)?;
    require_one_authentication_method(&form, basic.is_some())?;
    let form_client_id = client_id_of(&form)?;
    let (client_id, credential) = match (basic, form.get("client_secret")) {
        (Some((basic_id, secret)), _) => {
            if form_client_id.as_ref().is_some_and(|id| *id != basic_id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the HTTP Basic user name",
                ));
            }
            (Some(basic_id), ClientCredential::SecretBasic(secret))
        }
        (None, Some(secret)) => {
            let credential = secret_post(form_client_id.is_some(), secret)?;
            (form_client_id, credential)
        }
        (None, None) => (form_client_id, assertion_credential(&form)?),
    };
    let scopes = form.get("scope").map(parse_scopes).transpose()?;
    Ok(TokenRequest {
        client_id,
        credential,
        scopes,
    })
}

/// POST, within the size cap, with a form body.
fn check_envelope(method: &Method, headers: &HeaderMap, body: &[u8], max_body_bytes: usize) -> Result<(), OAuthError> {
    if method != Method::POST {
        return Err(OAuthError::method_not_allowed("POST"));
    }
    if body.len() > max_body_bytes {
        return Err(OAuthError::invalid_request(format!(
            "request body exceeds {max_body_bytes} bytes"
        )));
    }
    match wif_common::http_util::media_type(headers).as_deref() {
        Some("application/x-www-form-urlencoded") => Ok(()),
        Some(other) => Err(OAuthError::invalid_request(format!(
            "Content-Type must be application/x-www-form-urlencoded, not {}",
            other
                .chars()
                .filter(char::is_ascii_graphic)
                .take(64)
                .collect::<String>()
        ))),
        None => Err(OAuthError::invalid_request(
            "Content-Type must be application/x-www-form-urlencoded",
        )),
    }
}

fn require_client_credentials_grant(form: &Form) -> Result<(), OAuthError> {
    let grant_type = form
        .get("grant_type")
        .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    if grant_type != "client_credentials" {
        return Err(OAuthError::unsupported_grant_type(
            "only grant_type=client_credentials is supported",
        ));
    }
    Ok(())
}

/// Exactly one of: an assertion (either assertion parameter), `client_secret` in the form, HTTP Basic.
fn require_one_authentication_method(form: &Form, basic: bool) -> Result<(), OAuthError> {
    let methods = [
        form.get("client_assertion").is_some() || form.get("client_assertion_type").is_some(),
        form.get("client_secret").is_some(),
        basic,
    ];
    match methods.iter().filter(|used| **used).count() {
        0 => Err(OAuthError::invalid_client("no client authentication was provided").with_challenge(BASIC_CHALLENGE)),
        1 => Ok(()),
        _ => Err(OAuthError::invalid_request(
            "exactly one client authentication method may be used (client_assertion, client_secret or HTTP Basic)",
        )),
    }
}

fn client_id_of(form: &Form) -> Result<Option<String>, OAuthError> {
    match form.get("client_id") {
        Some(id) if id.len() > MAX_CLIENT_ID_LEN || id.chars().any(char::is_control) => {
            Err(OAuthError::invalid_request("client_id is malformed"))
        }
        id => Ok(id.map(str::to_owned)),
    }
}

/// `client_secret_post`: the secret needs the `client_id` beside it.
fn secret_post(has_client_id: bool, secret: &str) -> Result<ClientCredential, OAuthError> {
    if !has_client_id {
        return Err(OAuthError::invalid_request("client_id is required with client_secret"));
    }
    if secret.len() > MAX_SECRET_LEN {
        return Err(OAuthError::invalid_request("client_secret is too long"));
    }
    Ok(ClientCredential::SecretPost(secret.to_owned()))
}

/// RFC 7523 §2.2: the JWT-bearer assertion type and the assertion, both required.
fn assertion_credential(form: &Form) -> Result<ClientCredential, OAuthError> {
    match form.get("client_assertion_type") {
        Some(ASSERTION_TYPE_JWT_BEARER) => {}
        Some(_) => {
            return Err(OAuthError::invalid_request(format!(
                "client_assertion_type must be {ASSERTION_TYPE_JWT_BEARER}"
            )));
        }
        None => {
            return Err(OAuthError::invalid_request(
                "client_assertion_type is required with client_assertion",
            ));
        }
    }
    let assertion = form
        .get("client_assertion")
        .ok_or_else(|| OAuthError::invalid_request("client_assertion is required with client_assertion_type"))?;
    Ok(ClientCredential::Assertion(assertion.to_owned()))
}

/// Space-delimited, case-sensitive scope tokens (RFC 6749 §3.3). Unknown names are `invalid_scope`.
pub fn parse_scopes(text: &str) -> Result<Vec<Scope>, OAuthError> {
    let mut scopes = Vec::new();
    for name in text.split(' ').filter(|name| !name.is_empty()) {
        let scope = Scope::parse(name).ok_or_else(|| {
            OAuthError::invalid_scope(format!(
                "unknown scope {:?}",
                name.chars().filter(|c| !c.is_control()).take(64).collect::<String>()
            ))
        })?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    Ok(scopes)
}

/// Decoded form parameters with repeats rejected and empty values treated as absent (RFC 6749 §3.1, §3.2).
struct Form {
    params: Vec<(String, String)>,
}

impl Form {
    fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let mut params: Vec<(String, String)> = Vec::new();
        for (name, value) in form_urlencoded::parse(body) {
            if params.iter().any(|(seen, _)| *seen == name) {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {} is repeated",
                    name.chars().filter(char::is_ascii_graphic).take(64).collect::<String>()
                )));
            }
            params.push((name.into_owned(), value.into_owned()));
        }
        Ok(Self { params })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }
}

/// `Authorization: Basic` credentials, form-urlencoded inside (RFC 6749 §2.3.1). Any other scheme, several
/// Authorization headers or undecodable credentials are an `invalid_request`.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(OAuthError::invalid_request("several Authorization headers"));
    }
    let malformed = || {
        OAuthError::invalid_client("the Authorization header is not valid HTTP Basic credentials")
            .with_challenge(BASIC_CHALLENGE)
    };
    let text = value.to_str().map_err(|_| malformed())?;
    let (scheme, encoded) = text.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_request(
            "the token endpoint accepts only HTTP Basic in Authorization",
        ));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (raw_id, raw_secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let client_id = form_decode(raw_id);
    let secret = form_decode(raw_secret);
    if client_id.is_empty() || secret.is_empty() || client_id.len() > MAX_CLIENT_ID_LEN || secret.len() > MAX_SECRET_LEN
    {
        return Err(malformed());
    }
    Ok(Some((client_id, secret)))
}

fn form_decode(text: &str) -> String {
    form_urlencoded::parse(format!("v={text}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth_error::OAuthErrorCode;
    use http::HeaderValue;

    fn form_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        headers
    }

    fn parse(body: &str) -> Result<TokenRequest, OAuthError> {
        parse_token_request(&Method::POST, &form_headers(), body.as_bytes(), 65_536)
    }

    const ASSERTION_BODY: &str = "grant_type=client_credentials&client_id=c1&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c&scope=scim";

    #[test]
    fn parses_the_entra_request() {
        let request = parse(ASSERTION_BODY).unwrap();
        assert_eq!(request.client_id.as_deref(), Some("c1"));
        assert_eq!(request.credential, ClientCredential::Assertion("a.b.c".into()));
        assert_eq!(request.scopes, Some(vec![Scope::Scim]));
        assert!(!format!("{request:?}").contains("a.b.c"));
    }

    #[test]
    fn rejects_wrong_method_and_media_type() {
        let err = parse_token_request(&Method::GET, &form_headers(), b"", 100).unwrap_err();
        assert_eq!(err.status, http::StatusCode::METHOD_NOT_ALLOWED);
        let mut json = HeaderMap::new();
        json.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let err =
            parse_token_request(&Method::POST, &json, br#"{"grant_type":"client_credentials"}"#, 100).unwrap_err();
        assert_eq!(err.code, OAuthErrorCode::InvalidRequest);
        let err =
            parse_token_request(&Method::POST, &HeaderMap::new(), b"grant_type=client_credentials", 100).unwrap_err();
        assert_eq!(err.code, OAuthErrorCode::InvalidRequest);
        let mut charset = HeaderMap::new();
        charset.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=UTF-8"),
        );
        assert!(parse_token_request(&Method::POST, &charset, ASSERTION_BODY.as_bytes(), 65_536).is_ok());
    }

    #[test]
    fn rejects_oversized_bodies_before_parsing() {
        let body = "a".repeat(101);
        let err = parse_token_request(&Method::POST, &form_headers(), body.as_bytes(), 100).unwrap_err();
        assert_eq!(err.code, OAuthErrorCode::InvalidRequest);
        assert!(err.description.contains("exceeds"));
    }

    #[test]
    fn rejects_repeats_and_bad_grant_types() {
        let err = parse(&format!("{ASSERTION_BODY}&scope=scim.read")).unwrap_err();
        assert_eq!(
            (err.code, err.description.as_str()),
            (OAuthErrorCode::InvalidRequest, "parameter scope is repeated")
        );
        assert_eq!(parse("client_id=c1").unwrap_err().code, OAuthErrorCode::InvalidRequest);
        assert_eq!(
            parse("grant_type=password&client_id=c1").unwrap_err().code,
            OAuthErrorCode::UnsupportedGrantType
        );
    }

    #[test]
    fn exactly_one_client_authentication() {
        let err = parse("grant_type=client_credentials&client_id=c1").unwrap_err();
        assert_eq!(err.code, OAuthErrorCode::InvalidClient);
        let err = parse(&format!("{ASSERTION_BODY}&client_secret=s")).unwrap_err();
        assert_eq!(err.code, OAuthErrorCode::InvalidRequest);
        let mut headers = form_headers();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic YzE6cw=="));
        let err = parse_token_request(&Method::POST, &headers, ASSERTION_BODY.as_bytes(), 65_536).unwrap_err();
        assert_eq!(err.code, OAuthErrorCode::InvalidRequest);
        let ok = parse_token_request(&Method::POST, &headers, b"grant_type=client_credentials", 65_536).unwrap();
        assert_eq!(ok.client_id.as_deref(), Some("c1"));
        assert_eq!(ok.credential, ClientCredential::SecretBasic("s".into()));
        assert_eq!(ok.challenge(), Some(BASIC_CHALLENGE));
    }

    #[test]
    fn assertion_type_must_be_exact() {
        let body = ASSERTION_BODY.replace("jwt-bearer", "saml2-bearer");
        let err = parse(&body).unwrap_err();
        assert_eq!(err.code, OAuthErrorCode::InvalidRequest);
        assert!(err.description.contains("client_assertion_type must be"));
        let err = parse("grant_type=client_credentials&client_assertion=a.b.c").unwrap_err();
        assert_eq!(err.code, OAuthErrorCode::InvalidRequest);
        let err = parse(&format!(
            "grant_type=client_credentials&client_assertion_type={}",
            "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
        ))
        .unwrap_err();
        assert_eq!(err.code, OAuthErrorCode::InvalidRequest);
    }

    #[test]
    fn secret_post_needs_client_id_and_basic_must_agree() {
        assert_eq!(
            parse("grant_type=client_credentials&client_secret=s").unwrap_err().code,
            OAuthErrorCode::InvalidRequest
        );
        let ok = parse("grant_type=client_credentials&client_id=c1&client_secret=s%2Bx").unwrap();
        assert_eq!(ok.credential, ClientCredential::SecretPost("s+x".into()));
        let mut headers = form_headers();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic YzE6cw=="));
        let err = parse_token_request(
            &Method::POST,
            &headers,
            b"grant_type=client_credentials&client_id=c2",
            1000,
        )
        .unwrap_err();
        assert_eq!(err.code, OAuthErrorCode::InvalidRequest);
        let mut bad = form_headers();
        bad.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        let err = parse_token_request(&Method::POST, &bad, b"grant_type=client_credentials", 1000).unwrap_err();
        assert_eq!(err.code, OAuthErrorCode::InvalidClient);
        assert!(err.www_authenticate.is_some());
        let mut bearer = form_headers();
        bearer.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        let err = parse_token_request(&Method::POST, &bearer, b"grant_type=client_credentials", 1000).unwrap_err();
        assert_eq!(err.code, OAuthErrorCode::InvalidRequest);
    }

    #[test]
    fn scopes_are_checked_by_name() {
        assert_eq!(
            parse_scopes("scim.read  scim.read scim").unwrap(),
            vec![Scope::ScimRead, Scope::Scim]
        );
        assert_eq!(parse_scopes("SCIM").unwrap_err().code, OAuthErrorCode::InvalidScope);
        assert_eq!(
            parse_scopes("scim admin").unwrap_err().description,
            "unknown scope \"admin\""
        );
        let request = parse(&ASSERTION_BODY.replace("scope=scim", "scope=")).unwrap();
        assert_eq!(request.scopes, None);
    }
}
