//! A small HTTP proxy on 127.0.0.1 for the controller tests: `CONNECT`
//! requests are tunnelled to their target, and a plain request in absolute
//! form is answered by the proxy itself with a fixed reply. Every request
//! head the proxy receives is recorded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

pub struct Proxy {
    pub port: u16,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    /// `answer`: the body a plain (non-CONNECT) request gets, with 200.
    pub fn start(answer: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        let answer = answer.to_string();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let seen = seen.clone();
                let answer = answer.clone();
                thread::spawn(move || {
                    let _ = serve(stream, &seen, &answer);
                });
            }
        });
        Proxy { port, heads }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<String>>, answer: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
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
    seen.lock().unwrap().push(head.clone());
    let mut client = stream;
    if let Some(target) = head
        .strip_prefix("CONNECT ")
        .and_then(|r| r.split_whitespace().next())
    {
        let upstream = TcpStream::connect(target)?;
        client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
        let mut up_read = upstream.try_clone()?;
        let mut down_write = client.try_clone()?;
        let back = thread::spawn(move || {
            let _ = std::io::copy(&mut up_read, &mut down_write);
            let _ = down_write.shutdown(Shutdown::Write);
        });
        // Bytes the reader already buffered belong to the tunnel.
        let mut upstream_write = upstream;
        upstream_write.write_all(reader.buffer())?;
        let mut rest = reader.into_inner();
        let _ = std::io::copy(&mut rest, &mut upstream_write);
        let _ = upstream_write.shutdown(Shutdown::Write);
        let _ = back.join();
        return Ok(());
    }
    let mut drain = Vec::new();
    let _ = reader.take(0).read_to_end(&mut drain);
    write!(
        client,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    )?;
    client.flush()
}
