//! A real HTTPS (or plain HTTP) server on 127.0.0.1 for the controller tests,
//! with a CA generated for the test run by openssl(1). Each connection is
//! answered by a script of responses; every request's head is recorded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// What the server does with one request.
#[derive(Clone)]
pub enum Reply {
    /// Status, extra headers, body.
    With(u16, Vec<(String, String)>, Vec<u8>),
    /// Read the request and never answer (until the client gives up).
    Hang,
    /// Status and a body that stops after these bytes, though its
    /// Content-Length promises more.
    CutShort(u16, Vec<u8>),
}

pub fn json(status: u16, body: &str) -> Reply {
    Reply::With(
        status,
        vec![("Content-Type".into(), "application/json".into())],
        body.as_bytes().to_vec(),
    )
}

/// A CA and a server certificate for 127.0.0.1 and localhost, made once per
/// test binary. The certificate also names 10.0.2.2, the address at which a
/// QEMU guest on user networking reaches this machine's loopback (the VM
/// tests' controller).
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    pub fn other_ca_cert(&self) -> PathBuf {
        self.dir.join("other-ca.pem")
    }
}

pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let run = |args: &[&str]| {
            let out = Command::new("openssl").args(args).current_dir(&dir).output().unwrap();
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        for ca in ["ca", "other-ca"] {
            run(&[
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", &format!("{ca}.key"), "-out", &format!("{ca}.pem"), "-days", "2",
                "-subj", &format!("/CN=container-init test {ca}"),
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ]);
        }
        run(&[
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1",
        ]);
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=IP:127.0.0.1,IP:10.0.2.2,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run(&[
            "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "server.ext",
        ]);
        Pki { dir }
    })
}

fn tls_config(dir: &Path) -> Arc<rustls::ServerConfig> {
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut BufReader::new(
        std::fs::File::open(dir.join("server.pem")).unwrap(),
    ))
    .map(Result::unwrap)
    .collect();
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut BufReader::new(
        std::fs::File::open(dir.join("server.key")).unwrap(),
    ))
    .unwrap()
    .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    Arc::new(config)
}

/// A reply made from the request's head.
pub type Route = Arc<dyn Fn(&str) -> Reply + Send + Sync>;

enum Answer {
    Scripted(Reply),
    Routed(Route),
}

pub struct Server {
    pub port: u16,
    tls: bool,
    /// The head of every request, as received.
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Serve `script` in order; the last reply repeats.
    pub fn start(tls: bool, script: Vec<Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let config = tls.then(|| tls_config(&pki().dir));
        thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(stream) = stream else { continue };
                let reply = script[n.min(script.len() - 1)].clone();
                let seen = seen.clone();
                let config = config.clone();
                thread::spawn(move || serve(stream, config, Answer::Scripted(reply), seen));
            }
        });
        Server { port, tls, requests }
    }

    /// Answer every request by what `route` makes of its head (the request
    /// line and the headers).
    pub fn start_routed(tls: bool, route: Route) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let config = tls.then(|| tls_config(&pki().dir));
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (seen, config, route) = (seen.clone(), config.clone(), route.clone());
                thread::spawn(move || serve(stream, config, Answer::Routed(route), seen));
            }
        });
        Server { port, tls, requests }
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    pub fn heads(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(
    stream: TcpStream,
    config: Option<Arc<rustls::ServerConfig>>,
    reply: Answer,
    seen: Arc<Mutex<Vec<String>>>,
) {
    stream.set_read_timeout(Some(Duration::from_secs(60))).ok();
    match config {
        Some(config) => {
            let conn = rustls::ServerConnection::new(config).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, stream);
            // A client that does not trust us aborts the handshake here.
            let _ = handle(&mut tls, reply, seen);
        }
        None => {
            let mut plain = stream;
            let _ = handle(&mut plain, reply, seen);
        }
    }
}

fn handle(
    stream: &mut (impl Read + Write),
    answer: Answer,
    seen: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(&mut *stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let reply = match answer {
        Answer::Scripted(reply) => reply,
        Answer::Routed(route) => route(&head),
    };
    seen.lock().unwrap().push(head);
    drop(reader);
    match reply {
        Reply::Hang => {
            thread::sleep(Duration::from_secs(120));
            Ok(())
        }
        Reply::CutShort(status, body) => {
            let head = format!(
                "HTTP/1.1 {status} Status\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
                body.len() * 2 + 100
            );
            stream.write_all(head.as_bytes())?;
            stream.write_all(&body)?;
            stream.flush()
        }
        Reply::With(status, headers, body) => {
            let mut out = format!(
                "HTTP/1.1 {status} Status\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            stream.write_all(out.as_bytes())?;
            stream.write_all(&body)?;
            stream.flush()
        }
    }
}
