//! The controller's HTTP API: `GET /v1/container-manager-config/<type>`, over
//! verified HTTPS (or plain HTTP on loopback), retried within one time budget.

use std::collections::BTreeMap;
use std::io::Read;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, Response};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use crate::container_type::ContainerType;
use crate::exit::{Exit, coded};
use crate::settings::ControllerSettings;

/// A manager config is a few hundred bytes; anything past this is not one.
pub const MAX_BODY: u64 = 1024 * 1024;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Below this much budget another attempt is not worth starting.
const MIN_ATTEMPT: Duration = Duration::from_millis(50);

#[derive(Deserialize)]
struct Envelope {
    config: BTreeMap<String, String>,
}

/// The request URL for `ty`, after checking that the settings are safe to use.
pub fn request_url(settings: &ControllerSettings, ty: ContainerType) -> anyhow::Result<Url> {
    let bad = |why: String| coded(Exit::Config, format!("controller URL {:?} {why}", settings.url));
    let mut url = Url::parse(&settings.url).map_err(|e| bad(format!("is not a URL ({e})")))?;
    match url.scheme() {
        "https" => {}
        "http" if settings.token.is_none() || is_loopback(&url) => {}
        "http" => {
            return Err(bad(
                "is plain http:// to a host that is not loopback; the token is never sent in clear text: use https://"
                    .into(),
            ));
        }
        other => return Err(bad(format!("has scheme {other}; use https://"))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "carries credentials; put the token in --token-file or CONTAINER_INIT_TOKEN".into(),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host".into()));
    }
    url.set_query(None);
    url.set_fragment(None);
    let path = format!(
        "{}/v1/container-manager-config/{ty}",
        url.path().trim_end_matches('/')
    );
    url.set_path(&path);
    if let Some(machine) = &settings.machine {
        url.query_pairs_mut().append_pair("machine", machine);
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        None => false,
    }
}

fn client(settings: &ControllerSettings, url: &Url) -> anyhow::Result<Client> {
    let mut builder = Client::builder()
        .use_rustls_tls()
        .user_agent(concat!("container-init/", env!("CARGO_PKG_VERSION")))
        // A redirect could carry the token to another host; the controller's
        // address is configured, not discovered.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(settings.timeout);
    // HTTPS_PROXY, HTTP_PROXY and NO_PROXY (and lower-case) apply as curl
    // applies them. But a token goes over plain http only to loopback
    // (request_url), and a proxy is another host: that request goes direct.
    if url.scheme() == "http" && settings.token.is_some() {
        builder = builder.no_proxy();
    }
    if let Some(path) = &settings.ca_cert {
        let pem = crate::host::read_named(path).map_err(|e| {
            coded(
                Exit::Config,
                format!("cannot read CA file {}: {e}; fix --ca-cert", path.display()),
            )
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .ok()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                coded(
                    Exit::Config,
                    format!(
                        "CA file {} holds no PEM certificate; fix --ca-cert",
                        path.display()
                    ),
                )
            })?;
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| coded(Exit::Software, format!("cannot set up the HTTP client: {e}")))
}

/// One attempt's outcome, when it is not a manager config.
enum Failure {
    /// Worth another try while the budget lasts.
    Transient {
        why: String,
        retry_after: Option<Duration>,
    },
    /// Final: retrying cannot help.
    Final(anyhow::Error),
}

/// Fetch and return the controller's values for `ty` (not yet validated).
pub fn fetch(settings: &ControllerSettings, ty: ContainerType) -> anyhow::Result<BTreeMap<String, String>> {
    let url = request_url(settings, ty)?;
    let client = client(settings, &url)?;
    let started = Instant::now();
    let mut backoff = FIRST_BACKOFF;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let remaining = settings.timeout.saturating_sub(started.elapsed());
        log::info!("fetching the {ty} manager config from {url} (attempt {attempts})");
        let why = match attempt(&client, &url, settings, remaining) {
            Ok(values) => return Ok(values),
            Err(Failure::Final(err)) => return Err(err),
            Err(Failure::Transient { why, retry_after }) => {
                let wait = retry_after.unwrap_or(backoff).min(MAX_BACKOFF);
                let remaining = settings.timeout.saturating_sub(started.elapsed());
                if remaining <= wait + MIN_ATTEMPT {
                    why
                } else {
                    log::warn!("{why}; trying again in {:.1}s", wait.as_secs_f64());
                    std::thread::sleep(wait);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            }
        };
        return Err(coded(
            Exit::TempFail,
            format!(
                "the controller at {} did not give the manager config within {}s ({attempts} attempts): {why}; \
                 check that it is up and reachable, or raise --timeout",
                display_origin(&url),
                settings.timeout.as_secs()
            ),
        ));
    }
}

fn display_origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

fn attempt(
    client: &Client,
    url: &Url,
    settings: &ControllerSettings,
    remaining: Duration,
) -> Result<BTreeMap<String, String>, Failure> {
    let mut request = client
        .get(url.clone())
        .header(ACCEPT, "application/json")
        .timeout(remaining.max(MIN_ATTEMPT));
    if let Some(token) = &settings.token {
        let mut value = HeaderValue::from_str(&token.bearer())
            .map_err(|_| Failure::Final(coded(Exit::Config, "the token cannot be sent in an HTTP header")))?;
        value.set_sensitive(true);
        request = request.header(AUTHORIZATION, value);
    }
    let response = request.send().map_err(|e| classify(&e, url))?;
    let status = response.status();
    log::debug!("controller answered {status}");
    if status.is_success() {
        let body = read_body(response, url).map_err(Failure::Final)?;
        return parse(&body).map_err(|why| {
            Failure::Final(coded(
                Exit::Protocol,
                format!(
                    "the controller at {} did not answer with a manager config: {why}; check --controller",
                    display_origin(url)
                ),
            ))
        });
    }
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let message = server_message(response, settings);
    let origin = display_origin(url);
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(Failure::Final(coded(
            Exit::NoPerm,
            format!(
                "the controller at {origin} refused the request ({status}){message}; \
                 check the token (--token-file or {}) and the machine id",
                crate::settings::TOKEN_ENV
            ),
        ))),
        StatusCode::TOO_MANY_REQUESTS => Err(Failure::Transient {
            why: format!("the controller answered {status}{message}"),
            retry_after,
        }),
        s if s.is_server_error() => Err(Failure::Transient {
            why: format!("the controller answered {status}{message}"),
            retry_after,
        }),
        s if s.is_redirection() => Err(Failure::Final(coded(
            Exit::Protocol,
            format!(
                "the controller at {origin} answered {status} (a redirect); point --controller at the final address"
            ),
        ))),
        _ => Err(Failure::Final(coded(
            Exit::Protocol,
            format!(
                "the controller at {origin} answered {status}{message}; check --controller and the container type"
            ),
        ))),
    }
}

fn classify(err: &reqwest::Error, url: &Url) -> Failure {
    let chain = error_chain(err);
    if chain.contains("certificate") || chain.contains("UnknownIssuer") {
        return Failure::Final(coded(
            Exit::Config,
            format!(
                "the TLS certificate of the controller at {} was not trusted ({chain}); \
                 pass the CA that signed it with --ca-cert FILE (or controller.ca-cert in the config file)",
                display_origin(url)
            ),
        ));
    }
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    Failure::Transient {
        why: format!("{what}: {chain}"),
        retry_after: None,
    }
}

/// An error and its causes on one line; reqwest's own message is generic.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

fn read_body(response: Response, url: &Url) -> anyhow::Result<Vec<u8>> {
    let mut body = Vec::new();
    response.take(MAX_BODY + 1).read_to_end(&mut body).map_err(|e| {
        coded(
            Exit::Protocol,
            format!(
                "the controller at {} sent a broken body: {e}",
                display_origin(url)
            ),
        )
    })?;
    if body.len() as u64 > MAX_BODY {
        return Err(coded(
            Exit::Protocol,
            format!(
                "the controller at {} sent more than 1 MiB, which is not a manager config; check --controller",
                display_origin(url)
            ),
        ));
    }
    Ok(body)
}

/// `{"config": {"key": "value", ...}}` and nothing less.
pub fn parse(body: &[u8]) -> Result<BTreeMap<String, String>, String> {
    serde_json::from_slice::<Envelope>(body)
        .map(|e| e.config)
        .map_err(|e| {
            let start: String = String::from_utf8_lossy(&body[..body.len().min(40)])
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            format!("{e} (the body starts with {start:?})")
        })
}

/// The server's own words about a failure, short, on one line, and without
/// the token should the server echo it back.
fn server_message(response: Response, settings: &ControllerSettings) -> String {
    let mut body = Vec::new();
    let _ = response.take(4096).read_to_end(&mut body);
    let text = String::from_utf8_lossy(&body);
    let text = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            ["error", "message"]
                .iter()
                .find_map(|k| v.get(k).and_then(|m| m.as_str()).map(str::to_string))
        })
        .unwrap_or_else(|| text.into_owned());
    let mut text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(token) = &settings.token {
        let secret = token.bearer();
        let secret = secret.trim_start_matches("Bearer ");
        text = text.replace(secret, "<redacted>");
    }
    let text: String = text.chars().take(200).collect();
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::exit_for;
    use crate::secret::Token;

    fn settings(url: &str, token: bool) -> ControllerSettings {
        ControllerSettings {
            url: url.into(),
            token: token.then(|| Token::new("t0ken").unwrap()),
            ca_cert: None,
            machine: Some("0/lxd 1".into()),
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn url_is_built_and_escaped() {
        let url = request_url(
            &settings("https://c.example:17070/base/", true),
            ContainerType::Lxd,
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://c.example:17070/base/v1/container-manager-config/lxd?machine=0%2Flxd+1"
        );
    }

    #[test]
    fn plain_http_only_to_loopback_when_a_token_is_set() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:2",
            "http://127.9.9.9",
        ] {
            assert!(
                request_url(&settings(ok, true), ContainerType::Lxc).is_ok(),
                "{ok}"
            );
        }
        let err = request_url(&settings("http://10.1.2.3:17070", true), ContainerType::Lxc).unwrap_err();
        assert_eq!(exit_for(&err), Exit::Config);
        assert!(err.to_string().contains("never sent in clear text"), "{err}");
        assert!(request_url(&settings("http://10.1.2.3:17070", false), ContainerType::Lxc).is_ok());
    }

    #[test]
    fn bad_urls_are_78() {
        for bad in [
            "ftp://x",
            "not a url",
            "https://user:pw@host",
            "file:///etc/passwd",
        ] {
            let err = request_url(&settings(bad, false), ContainerType::Kvm).unwrap_err();
            assert_eq!(exit_for(&err), Exit::Config, "{bad}");
            assert!(!err.to_string().contains("t0ken"));
        }
    }

    #[test]
    fn only_a_config_envelope_parses() {
        assert_eq!(parse(br#"{"config":{"a":"b"}}"#).unwrap()["a"], "b");
        for bad in [
            &br#"<html>oops</html>"#[..],
            br#"{"config":{"a":"b""#,
            br#"{"config":{"mtu":1500}}"#,
            br#"{"other":{}}"#,
            br#"[]"#,
            b"",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
