//! The HTTP transport of the access API: the CLI's client of `secrets-guard server`.

use crate::api::Call;
use crate::error::{AccessError, Result};
use serde_json::Value;
use std::time::Duration;

/// A client of one access server.
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

impl Client {
    /// A client of the server at `url` (`http://HOST:PORT` or `https://…`).
    pub fn new(url: &str) -> Result<Client> {
        let base = url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(AccessError::invalid(format!(
                "--server {url:?} must start with http:// or https://"
            )));
        }
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build();
        Ok(Client { base, agent })
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Sends `call` with the session `token` and returns the answer's JSON.
    pub fn call(&self, token: Option<&str>, call: &Call) -> Result<Value> {
        let url = format!("{}/api/v1/{}", self.base, call.op());
        let mut request = self.agent.post(&url);
        if let Some(token) = token {
            request = request.set("Authorization", &format!("Bearer {}", token.trim()));
        }
        let transport = |message: String| AccessError::Transport {
            url: self.base.clone(),
            message,
        };
        match request.send_json(call.body()) {
            Ok(response) => response
                .into_json::<Value>()
                .map_err(|e| transport(format!("unreadable answer: {e}"))),
            Err(ureq::Error::Status(status, response)) => {
                let body: Value = response
                    .into_json()
                    .map_err(|_| transport(format!("HTTP {status} without an API error body")))?;
                let code = body["error"]["code"].as_str().unwrap_or("internal");
                let message = body["error"]["message"]
                    .as_str()
                    .unwrap_or("no message")
                    .to_owned();
                Err(AccessError::from_remote(code, message))
            }
            Err(ureq::Error::Transport(t)) => Err(transport(t.to_string())),
        }
    }
}
