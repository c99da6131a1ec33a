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

use crate::config::limits::{MAX_QUOTE, ReadError, quote, read_bounded, shown_path, size_limit};
use crate::config::settings::ControllerSettings;
use crate::container_type::ContainerType;
use crate::exit::{Exit, coded};
use crate::secret::Token;
use crate::signals;

/// How much of a failure's body is read for the server's own words.
const ERROR_BODY: u64 = 64 * 1024;
/// Longer than any controller address; a URL past this is a mistake, not a
/// reason to retry (hyper refuses it only at the request).
const MAX_URL: usize = 2048;
/// How often a running request looks for a signal.
const SIGNAL_POLL: Duration = Duration::from_millis(20);
/// The least time between two attempts, whatever `Retry-After` says: a
/// fleet of hosts answered `Retry-After: 0` must not flood its controller.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// The most attempts one fetch makes, however long `--timeout` is.
pub const MAX_ATTEMPTS: u32 = 10;
/// Below this much budget another attempt is not worth starting.
const MIN_ATTEMPT: Duration = Duration::from_millis(50);

#[derive(Deserialize)]
struct Envelope {
    config: BTreeMap<String, String>,
}

/// The request URL for `ty`, after checking that the settings are safe to use.
pub fn request_url(settings: &ControllerSettings, ty: ContainerType) -> anyhow::Result<Url> {
    let bad = |why: String| {
        coded(
            Exit::Config,
            format!(
                "controller URL {} {why}",
                quote(&without_credentials(&settings.url))
            ),
        )
    };
    if settings.url.len() > MAX_URL {
        return Err(bad(format!(
            "is {} bytes long; a controller URL is at most {MAX_URL}",
            settings.url.len()
        )));
    }
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
        if machine.len() > MAX_URL {
            return Err(coded(
                Exit::Config,
                format!(
                    "machine id {} is {} bytes long; give the controller's id of this machine (--machine)",
                    quote(machine),
                    machine.len()
                ),
            ));
        }
        url.query_pairs_mut().append_pair("machine", machine);
    }
    Ok(url)
}

/// `url` with any `user:password@` taken out, for messages: a URL is
/// refused for carrying credentials, so its message must not repeat them.
fn without_credentials(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}<credentials>{}", &url[..scheme_end + 3], &rest[at..]),
        None => url.to_string(),
    }
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
                format!("cannot read CA file {}: {e}; fix --ca-cert", shown_path(path)),
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
                        shown_path(path)
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
    // The kinds of failure already warned about: one line each, not one per attempt.
    let mut warned = std::collections::BTreeSet::new();
    loop {
        attempts += 1;
        let remaining = settings.timeout.saturating_sub(started.elapsed());
        log::info!("fetching the {ty} manager config from {url} (attempt {attempts})");
        let why = match attempt_until_signal(&client, &url, settings, remaining)? {
            Ok(values) => return Ok(values),
            Err(Failure::Final(err)) => return Err(err),
            Err(Failure::Transient { why, retry_after }) => {
                // What Retry-After asks, but never sooner than the backoff.
                let wait = retry_after.map_or(backoff, |asked| asked.max(backoff));
                let remaining = settings.timeout.saturating_sub(started.elapsed());
                if attempts >= MAX_ATTEMPTS || remaining <= wait + MIN_ATTEMPT {
                    why
                } else {
                    let kind = why.split(':').next().unwrap_or_default().to_string();
                    if warned.insert(kind) {
                        log::warn!("{why}; trying again in {:.1}s", wait.as_secs_f64());
                    } else {
                        log::info!("{why}; trying again in {:.1}s", wait.as_secs_f64());
                    }
                    signals::sleep(wait)?;
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

/// One attempt, in a thread of its own: a blocking request cannot be
/// woken by a signal, so this waits for it while looking for SIGINT and
/// SIGTERM, and gives up on it (130/143) when one comes.
fn attempt_until_signal(
    client: &Client,
    url: &Url,
    settings: &ControllerSettings,
    remaining: Duration,
) -> anyhow::Result<Result<BTreeMap<String, String>, Failure>> {
    signals::check()?;
    let (client, url, settings) = (client.clone(), url.clone(), settings.clone());
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(attempt(&client, &url, &settings, remaining));
    });
    loop {
        match receiver.recv_timeout(SIGNAL_POLL) {
            Ok(outcome) => return Ok(outcome),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => signals::check()?,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(coded(
                    Exit::Software,
                    "the controller request ended without an outcome",
                ));
            }
        }
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
        let body = read_body(response, url)?;
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
                crate::config::settings::TOKEN_ENV
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
    if untrusted_certificate(err) {
        return Failure::Final(coded(
            Exit::Config,
            format!(
                "the TLS certificate of the controller at {} was not trusted ({chain}); \
                 pass the CA that signed it with --ca-cert FILE (or controller.ca-cert in the config file)",
                display_origin(url)
            ),
        ));
    }
    let io_kind = causes(err)
        .into_iter()
        .find_map(|c| c.downcast_ref::<std::io::Error>().map(std::io::Error::kind));
    let what = if err.is_timeout() || io_kind == Some(std::io::ErrorKind::TimedOut) {
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

/// The error and every cause below it. An `io::Error` that wraps another
/// error hands out that error's own source, skipping it, so the wrapped one
/// is walked here too (rustls's error sits inside two of them).
fn causes<'a>(err: &'a (dyn std::error::Error + 'static)) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut out = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        out.push(e);
        if let Some(inner) = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            let inner: &(dyn std::error::Error + 'static) = inner;
            out.extend(causes(inner));
            break;
        }
        next = e.source();
    }
    out
}

/// rustls's verdict on the server's certificate, by type: its wording, or
/// a locale, cannot change what this says.
fn untrusted_certificate(err: &reqwest::Error) -> bool {
    causes(err).into_iter().any(|cause| {
        matches!(
            cause.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented)
        )
    })
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

/// A body that stops before its end is a transport failure, worth another
/// try; one that goes past the limit is not a manager config.
fn read_body(response: Response, url: &Url) -> Result<Vec<u8>, Failure> {
    read_bounded(response).map_err(|e| match e {
        ReadError::Io(e) => Failure::Transient {
            why: format!("the body stopped before its end: {}", error_chain(&e)),
            retry_after: None,
        },
        ReadError::NotAFile(_) | ReadError::Interrupted => Failure::Transient {
            why: format!("the body stopped before its end: {e}"),
            retry_after: None,
        },
        ReadError::TooLarge(_) => Failure::Final(coded(
            Exit::Protocol,
            format!(
                "the controller at {} sent more than {}, which is not a manager config; check --controller",
                display_origin(url),
                size_limit()
            ),
        )),
    })
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
    let _ = response.take(ERROR_BODY).read_to_end(&mut body);
    let cut = body.len() as u64 == ERROR_BODY;
    server_words(&body, settings.token.as_ref(), cut)
}

/// The redaction comes before any cut: a token split by a cut could not be
/// recognised any more, and its first characters would be printed.
fn server_words(body: &[u8], token: Option<&Token>, cut: bool) -> String {
    let redact = |text: &str, cut: bool| match token {
        Some(token) => token.redact(text, cut),
        None => text.to_string(),
    };
    let text = redact(&String::from_utf8_lossy(body), cut);
    let text = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            ["error", "message"]
                .iter()
                .find_map(|k| v.get(k).and_then(|m| m.as_str()).map(str::to_string))
        })
        .map(|message| redact(&message, false))
        .unwrap_or(text);
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let text: String = text.chars().take(MAX_QUOTE).collect();
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
            "https://user:s3cretpw@host:1/x@y",
            "file:///etc/passwd",
            &format!("https://c.example/{}", "a".repeat(64 * 1024)),
        ] {
            let err = request_url(&settings(bad, false), ContainerType::Kvm).unwrap_err();
            assert_eq!(exit_for(&err), Exit::Config, "{bad}");
            let msg = err.to_string();
            assert!(!msg.contains("t0ken"));
            assert!(!msg.contains("pw@"), "{msg}");
            assert!(msg.len() < 600, "{}", msg.len());
        }
        let mut long_machine = settings("https://c.example", false);
        long_machine.machine = Some("4".repeat(64 * 1024));
        let err = request_url(&long_machine, ContainerType::Kvm).unwrap_err();
        assert_eq!(exit_for(&err), Exit::Config);
    }

    #[test]
    fn a_cut_off_token_in_an_error_body_is_not_printed() {
        let token = Token::new("s3cr3tT0KENvalue").unwrap();
        let body = format!("{}Authorization: Bearer s3cr3tT0KENvalue", " ".repeat(4080));
        let words = server_words(body.as_bytes(), Some(&token), false);
        assert_eq!(words, ": Authorization: Bearer <redacted>");
        // Cut by the read limit in the middle of the token.
        let cut = &body.as_bytes()[..4080 + "Authorization: Bearer s3cr3t".len()];
        let words = server_words(cut, Some(&token), true);
        assert!(!words.contains("s3cr"), "{words}");
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
