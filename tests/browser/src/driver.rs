//! chromedriver on a loopback port, started and stopped by PID, and fresh headless Chromium sessions.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// The chromedriver process; killed (by its PID) when dropped.
pub struct ChromeDriver {
    child: Child,
    pub url: String,
}

impl ChromeDriver {
    pub fn start(port: u16) -> Result<ChromeDriver, String> {
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|err| format!("chromedriver did not start ({err}); run infra/local/install-tools.sh --test"))?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("chromedriver did not listen within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(ChromeDriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    /// A new headless Chromium with an empty profile of its own.
    pub async fn browser(&self) -> Result<Client, String> {
        let profile = std::env::temp_dir().join(format!("wif-portal-browser-{}", uuid::Uuid::new_v4()));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--window-size=1280,1000", format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .map_err(|err| format!("new browser session: {err}"))?;
        Ok(client)
    }
}

/// Lets the page's origin use the clipboard (permissions are per origin: call it on a page of the portal). The
/// copy buttons write to the clipboard; the tests read it back.
pub async fn grant_clipboard(client: &Client) -> Result<(), String> {
    for name in ["clipboard-read", "clipboard-write"] {
        client
            .issue_cmd(SetPermission(name))
            .await
            .map_err(|err| format!("permission {name}: {err}"))?;
    }
    Ok(())
}

impl ChromeDriver {
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// W3C Permissions "Set Permission" (chromedriver implements it).
#[derive(Debug)]
struct SetPermission(&'static str);

impl WebDriverCompatibleCommand for SetPermission {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/permissions", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "descriptor": { "name": self.0 }, "state": "granted" });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Helpers over a browser session.
pub struct Page<'a>(pub &'a Client);

impl Page<'_> {
    pub async fn click(&self, css: &str) -> Result<(), String> {
        let element = self
            .0
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css(css))
            .await;
        element
            .map_err(|err| format!("no {css}: {err}"))?
            .click()
            .await
            .map_err(|err| format!("click {css}: {err}"))
    }

    pub async fn text(&self, css: &str) -> Result<String, String> {
        let element = self
            .0
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css(css))
            .await;
        element
            .map_err(|err| format!("no {css}: {err}"))?
            .text()
            .await
            .map_err(|err| format!("text of {css}: {err}"))
    }

    pub async fn fill(&self, css: &str, value: &str) -> Result<(), String> {
        let element = self
            .0
            .find(Locator::Css(css))
            .await
            .map_err(|err| format!("no {css}: {err}"))?;
        element.clear().await.map_err(|err| format!("clear {css}: {err}"))?;
        element
            .send_keys(value)
            .await
            .map_err(|err| format!("type into {css}: {err}"))
    }

    pub async fn goto(&self, url: &str) -> Result<(), String> {
        self.0.goto(url).await.map_err(|err| format!("goto {url}: {err}"))
    }

    pub async fn url(&self) -> Result<String, String> {
        self.0
            .current_url()
            .await
            .map(|u| u.to_string())
            .map_err(|err| err.to_string())
    }

    pub async fn source(&self) -> Result<String, String> {
        self.0.source().await.map_err(|err| err.to_string())
    }

    pub async fn script(&self, script: &str) -> Result<Value, String> {
        self.0
            .execute(script, vec![])
            .await
            .map_err(|err| format!("script: {err}"))
    }

    pub async fn async_script(&self, script: &str) -> Result<Value, String> {
        self.0
            .execute_async(script, vec![])
            .await
            .map_err(|err| format!("async script: {err}"))
    }

    pub async fn screenshot(&self, path: &std::path::Path) -> Result<(), String> {
        let png = self.0.screenshot().await.map_err(|err| format!("screenshot: {err}"))?;
        std::fs::write(path, png).map_err(|err| format!("{}: {err}", path.display()))
    }
}
