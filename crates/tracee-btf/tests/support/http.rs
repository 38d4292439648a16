//! A small real HTTP/1.1 server on 127.0.0.1 for download tests: serves files from a
//! directory (a btfhub mirror), fixed bodies for chosen paths, or never answers.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// What the server does with a request.
#[derive(Clone)]
pub enum Reply {
    /// 200 with this body.
    Body(Vec<u8>),
    /// Read the request, then send nothing until the client gives up.
    Hang,
}

#[derive(Default)]
struct State {
    root: Option<PathBuf>,
    fixed: HashMap<String, Reply>,
    hang_all: bool,
    requests: Vec<String>,
}

/// The server; stops when dropped.
pub struct Server {
    addr: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves files under `root` (None: everything is 404 unless fixed).
    pub fn start(root: Option<PathBuf>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            root,
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, stop2) = (state.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let s3 = s2.clone();
                std::thread::spawn(move || handle(conn, &s3));
            }
        });
        Server {
            addr,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.addr
    }

    /// Answers `path` (starting with `/`) with `reply` instead of the file tree.
    pub fn set(&self, path: &str, reply: Reply) {
        self.state
            .lock()
            .unwrap()
            .fixed
            .insert(path.to_string(), reply);
    }

    /// Never answers any request.
    pub fn hang_all(&self) {
        self.state.lock().unwrap().hang_all = true;
    }

    /// Paths requested so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr.trim_start_matches("http://"));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn handle(mut conn: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
    }
    let reply = {
        let mut s = state.lock().unwrap();
        s.requests.push(path.clone());
        if s.hang_all {
            Some(Reply::Hang)
        } else if let Some(r) = s.fixed.get(&path) {
            Some(r.clone())
        } else {
            s.root.as_ref().and_then(|root| {
                // Only plain relative paths map into the tree.
                let rel = path.trim_start_matches('/');
                if rel.split('/').any(|c| c == ".." || c.is_empty()) {
                    return None;
                }
                std::fs::read(root.join(rel)).ok().map(Reply::Body)
            })
        }
    };
    match reply {
        Some(Reply::Body(body)) => {
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(&body);
        }
        Some(Reply::Hang) => {
            // Wait until the client closes its end (its timeout), then drop.
            let mut rest = String::new();
            let _ = reader.read_line(&mut rest);
        }
        None => {
            let body = b"not found";
            let _ = write!(
                conn,
                "HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(body);
        }
    }
}
