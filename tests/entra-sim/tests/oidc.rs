//! The stand-in as Entra's OpenID provider: the authorize page, one-time codes bound to client, redirect URI and
//! PKCE verifier, the app's certificate-based `private_key_jwt`, and Entra-shaped ID tokens.

use std::collections::HashMap;

use entra_sim::{Identity, JwksServer, SigningKey};
use serde_json::{Value, json};

const REDIRECT: &str = "http://127.0.0.1:9/lambda-url/portal/signin/callback";
const CLIENT: &str = "11111111-2222-4333-8444-555555555555";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn claims_of(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

fn assertion(key: &SigningKey, thumbprint: &str, aud: &str, jti: &str) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let header = json!({"alg": "RS256", "typ": "JWT", "x5t#S256": thumbprint});
    let claims =
        json!({"aud": aud, "iss": CLIENT, "sub": CLIENT, "jti": jti, "nbf": now, "iat": now, "exp": now + 300});
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = key.sign_rs256(input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&signature))
}

struct Setup {
    server: JwksServer,
    http: reqwest::Client,
    key: SigningKey,
    thumbprint: String,
}

async fn setup() -> Setup {
    let server = JwksServer::start(Identity::random().unwrap()).await.unwrap();
    let key = SigningKey::generate().unwrap();
    server
        .oidc()
        .register_app(CLIENT, vec![REDIRECT.into()], key.certificate_der())
        .unwrap();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.certificate_der());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Setup {
        thumbprint: b64(digest.as_ref()),
        server,
        http,
        key,
    }
}

fn authorize_params(redirect: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", CLIENT.into()),
        ("response_type", "code".into()),
        ("redirect_uri", redirect.into()),
        ("scope", "openid profile".into()),
        ("state", "st-1".into()),
        ("nonce", "no-1".into()),
        ("code_challenge", CHALLENGE.into()),
        ("code_challenge_method", "S256".into()),
    ]
}

impl Setup {
    async fn code_for(&self, user: &str) -> String {
        let mut form = authorize_params(REDIRECT);
        form.push(("login_hint", user.into()));
        let answer = self
            .http
            .post(self.server.oidc().authorize_endpoint())
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 302);
        let location = answer.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with(REDIRECT));
        let query: HashMap<String, String> = url::Url::parse(&location).unwrap().query_pairs().into_owned().collect();
        assert_eq!(query["state"], "st-1");
        query["code"].clone()
    }

    async fn redeem(&self, code: &str, verifier: &str, jti: &str) -> (u16, Value) {
        let token_url = self.server.oidc().token_endpoint();
        let form = [
            ("client_id", CLIENT.to_owned()),
            ("grant_type", "authorization_code".into()),
            ("code", code.into()),
            ("redirect_uri", REDIRECT.into()),
            ("code_verifier", verifier.into()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
            ),
            (
                "client_assertion",
                assertion(&self.key, &self.thumbprint, &token_url, jti),
            ),
        ];
        let answer = self.http.post(token_url).form(&form).send().await.unwrap();
        (answer.status().as_u16(), answer.json().await.unwrap())
    }
}

#[tokio::test]
async fn sign_in_gives_an_entra_shaped_id_token_once() {
    let s = setup().await;
    let page = s
        .http
        .get(s.server.oidc().authorize_endpoint())
        .query(&authorize_params(REDIRECT))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"user-adele\"") && html.contains("id=\"user-lynne\""));
    let code = s.code_for("adele").await;
    let (status, body) = s.redeem(&code, VERIFIER, "j1").await;
    assert_eq!(status, 200, "{body}");
    let claims = claims_of(body["id_token"].as_str().unwrap());
    assert_eq!(claims["aud"], CLIENT);
    assert_eq!(claims["nonce"], "no-1");
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(
        claims["iss"],
        format!(
            "https://login.microsoftonline.com/{}/v2.0",
            claims["tid"].as_str().unwrap()
        )
    );
    assert!(
        claims["wids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w == "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3")
    );
    let keys: Value = s
        .http
        .get(s.server.oidc().jwks_uri())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1);
    // A replayed code is refused.
    let (status, body) = s.redeem(&code, VERIFIER, "j2").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn codes_pkce_redirects_and_client_assertions_are_checked() {
    let s = setup().await;
    let code = s.code_for("bianca").await;
    let (status, body) = s
        .redeem(&code, "wrong-verifier-wrong-verifier-wrong-verifier", "j1")
        .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let code = s.code_for("bianca").await;
    let (status, _) = s.redeem(&code, VERIFIER, "j1").await;
    assert_eq!(status, 401, "a reused assertion jti is refused");
    let other_key = SigningKey::generate().unwrap();
    let code = s.code_for("bianca").await;
    let forged = Setup { key: other_key, ..s };
    let (status, body) = forged.redeem(&code, VERIFIER, "j9").await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    // An unregistered redirect URI gets an error page, never a redirect.
    let page = forged
        .http
        .get(forged.server.oidc().authorize_endpoint())
        .query(&authorize_params("https://evil.example/callback"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    assert!(page.headers().get("location").is_none());
}
