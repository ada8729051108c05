//! HttpModel against a small HTTP server of the test's own on 127.0.0.1 (std::net) that
//! misbehaves on purpose: a server that never answers in time, one that answers garbage
//! or truncated JSON, overload and server errors that heal after a retry, refusals,
//! replies without the promised fields; and the reply cache, the API key header, the
//! bound on concurrent requests, log-probs read from both endpoints, and the judge's
//! fallback to parsing when a server offers no log-probs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pref_data::{Message, Text};
use rlaif_judge::http::{HttpConfig, HttpError, HttpModel};
use rlaif_judge::{
    BackendError, Comparison, Constitution, GenerateOptions, JudgeConfig, MultipleChoiceJudge,
    PairwiseJudge, TextModel,
};
use serde_json::{Value, json};

/// A request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    headers: Vec<(String, String)>,
    body: Value,
}

/// What the server does with a request: a raw HTTP reply (written as is), after a delay.
struct Reply {
    delay: Duration,
    raw: String,
}

fn ok(body: &str) -> Reply {
    status(200, body)
}

fn status(code: u16, body: &str) -> Reply {
    Reply {
        delay: Duration::ZERO,
        raw: format!(
            "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    }
}

type Handler = dyn Fn(usize, &Seen) -> Reply + Send + Sync;

struct Server {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    in_flight_max: Arc<AtomicUsize>,
}

impl Server {
    fn requests(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

/// Serves `handler` (given the request's index and content) on a fresh port, one thread
/// per connection, until the test process ends.
fn serve(handler: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let in_flight_max = Arc::new(AtomicUsize::new(0));
    let handler: Arc<Handler> = Arc::new(handler);
    {
        let (seen, in_flight, in_flight_max) =
            (seen.clone(), in_flight.clone(), in_flight_max.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (seen, handler) = (seen.clone(), handler.clone());
                let (in_flight, in_flight_max) = (in_flight.clone(), in_flight_max.clone());
                std::thread::spawn(move || {
                    handle(
                        stream,
                        &seen,
                        handler.as_ref(),
                        (&in_flight, &in_flight_max),
                    );
                });
            }
        });
    }
    Server {
        url,
        seen,
        in_flight_max,
    }
}

/// Serves one request. A request counts as in flight from when it has been read whole to
/// just before its reply is written (the client is waiting all that time; counting until
/// the thread ends would also count replies the client already has, a race under load).
fn handle(
    mut stream: TcpStream,
    seen: &Mutex<Vec<Seen>>,
    handler: &Handler,
    (in_flight, in_flight_max): (&AtomicUsize, &AtomicUsize),
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap();
            }
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).unwrap();
    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    in_flight_max.fetch_max(now, Ordering::SeqCst);
    let request = Seen {
        path,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let index = {
        let mut s = seen.lock().unwrap();
        s.push(request.clone());
        s.len() - 1
    };
    let reply = handler(index, &request);
    std::thread::sleep(reply.delay);
    in_flight.fetch_sub(1, Ordering::SeqCst);
    let _ = stream.write_all(reply.raw.as_bytes());
    let _ = stream.flush();
}

fn config(server: &Server) -> HttpConfig {
    HttpConfig {
        backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        api_key_env: None,
        ..HttpConfig::new(&server.url, "test-model").with_timeout(Duration::from_secs(5), 2)
    }
}

fn completion(text: &str) -> String {
    json!({"choices": [{"text": text, "finish_reason": "stop"}]}).to_string()
}

fn server_error(e: BackendError) -> HttpError {
    match e {
        BackendError::Server { source, .. } => *source,
        other => panic!("not a server error: {other}"),
    }
}

fn prompt() -> Text {
    Text::Plain("Say hi:".into())
}

fn greedy(n: usize) -> GenerateOptions {
    GenerateOptions {
        max_new_tokens: n,
        ..GenerateOptions::default()
    }
}

#[test]
fn generates_on_both_endpoints_with_the_requested_settings() {
    let server = serve(|_, seen| {
        if seen.path.ends_with("/chat/completions") {
            ok(
                &json!({"choices": [{"message": {"role": "assistant", "content": "hello"}}]})
                    .to_string(),
            )
        } else {
            ok(&completion(" hi there. END more"))
        }
    });
    let model = HttpModel::new(config(&server)).unwrap();
    let chat = Text::Chat(vec![Message::new("user", "hi")]);
    let opts = GenerateOptions {
        max_new_tokens: 7,
        temperature: 0.5,
        seed: 40,
        stop: vec!["END".into()],
        ..GenerateOptions::default()
    };
    let out = model.generate(&[prompt(), chat], &opts).unwrap();
    assert_eq!(out, vec![" hi there. ".to_string(), "hello".to_string()]);
    let seen = server.seen.lock().unwrap();
    let plain = seen.iter().find(|s| s.path == "/v1/completions").unwrap();
    assert_eq!(plain.body["prompt"], "Say hi:");
    assert_eq!(plain.body["model"], "test-model");
    assert_eq!(plain.body["max_tokens"], 7);
    assert_eq!(plain.body["seed"], 40);
    assert_eq!(plain.body["stop"], json!(["END"]));
    let chat = seen
        .iter()
        .find(|s| s.path == "/v1/chat/completions")
        .unwrap();
    assert_eq!(
        chat.body["messages"],
        json!([{"role": "user", "content": "hi"}])
    );
    assert_eq!(chat.body["seed"], 41, "row i is sampled with seed + i");
}

#[test]
fn a_server_that_never_answers_in_time_is_a_timeout_after_the_retries() {
    let server = serve(|_, _| Reply {
        delay: Duration::from_millis(1500),
        ..ok(&completion("late"))
    });
    let cfg = HttpConfig {
        timeout: Duration::from_millis(200),
        max_retries: 1,
        ..config(&server)
    };
    let model = HttpModel::new(cfg).unwrap();
    let t = Instant::now();
    let e = server_error(model.generate(&[prompt()], &greedy(4)).unwrap_err());
    assert!(
        t.elapsed() < Duration::from_millis(1400),
        "{:?}",
        t.elapsed()
    );
    match &e {
        HttpError::Timeout { attempts, url, .. } => {
            assert_eq!(*attempts, 2);
            assert!(url.ends_with("/v1/completions"));
        }
        other => panic!("{other}"),
    }
    assert!(
        e.to_string()
            .contains("no reply within 200ms (2 attempt(s))"),
        "{e}"
    );
    assert_eq!(model.stats().retries, 1);
}

#[test]
fn garbage_and_truncated_json_are_clear_errors_without_retry() {
    let server = serve(|i, _| match i {
        0 => ok("<html>502 Bad Gateway</html>"),
        _ => ok(r#"{"choices": [{"text": "hel"#),
    });
    let model = HttpModel::new(config(&server)).unwrap();
    let e = server_error(model.generate(&[prompt()], &greedy(4)).unwrap_err());
    assert!(matches!(e, HttpError::NotJson { .. }), "{e}");
    assert!(e.to_string().contains("the reply is not JSON"), "{e}");
    assert!(
        e.to_string().contains("<html>502 Bad Gateway</html>"),
        "{e}"
    );
    let e = server_error(model.generate(&[prompt()], &greedy(4)).unwrap_err());
    assert!(matches!(e, HttpError::Truncated { .. }), "{e}");
    assert!(e.to_string().contains("truncated JSON"), "{e}");
    assert_eq!(server.requests(), 2, "neither was retried");
}

#[test]
fn a_body_cut_short_of_its_length_is_retried() {
    let server = serve(|i, _| match i {
        0 => Reply {
            delay: Duration::ZERO,
            raw:
                "HTTP/1.1 200 OK\r\nContent-Length: 500\r\nConnection: close\r\n\r\n{\"choices\": ["
                    .into(),
        },
        _ => ok(&completion("whole")),
    });
    let model = HttpModel::new(config(&server)).unwrap();
    assert_eq!(
        model.generate(&[prompt()], &greedy(4)).unwrap(),
        vec!["whole"]
    );
    assert_eq!(model.stats().retries, 1);
}

#[test]
fn overload_and_server_errors_are_retried_with_backoff() {
    let server = serve(|i, _| {
        match i {
        0 => Reply {
            raw: "HTTP/1.1 429 Too Many\r\nRetry-After: 0\r\nContent-Length: 4\r\nConnection: close\r\n\r\nslow".into(),
            delay: Duration::ZERO,
        },
        1 => status(500, "{\"error\": {\"message\": \"boom\"}}"),
        _ => ok(&completion("fine")),
    }
    });
    let model = HttpModel::new(config(&server)).unwrap();
    assert_eq!(
        model.generate(&[prompt()], &greedy(4)).unwrap(),
        vec!["fine"]
    );
    let stats = model.stats();
    assert_eq!((stats.requests, stats.retries), (3, 2));

    // A server error that persists fails after the retries, quoting the body.
    let down = serve(|_, _| status(503, "overloaded"));
    let model = HttpModel::new(config(&down)).unwrap();
    let e = server_error(model.generate(&[prompt()], &greedy(4)).unwrap_err());
    assert!(
        matches!(
            e,
            HttpError::Status {
                status: 503,
                attempts: 3,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("HTTP 503 (3 attempt(s)): overloaded"),
        "{e}"
    );
}

#[test]
fn refusals_are_not_retried() {
    let server = serve(|_, _| status(401, "{\"error\": {\"message\": \"Invalid API key\"}}"));
    let model = HttpModel::new(config(&server)).unwrap();
    let e = server_error(model.generate(&[prompt()], &greedy(4)).unwrap_err());
    assert!(
        matches!(
            e,
            HttpError::Status {
                status: 401,
                attempts: 1,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("Invalid API key"), "{e}");
    assert_eq!(server.requests(), 1);

    let refusing = serve(|_, _| {
        ok(
            &json!({"choices": [{"message": {"content": null, "refusal": "I won't."}}]})
                .to_string(),
        )
    });
    let model = HttpModel::new(config(&refusing)).unwrap();
    let chat = Text::Chat(vec![Message::new("user", "hi")]);
    let e = server_error(model.generate(&[chat], &greedy(4)).unwrap_err());
    assert!(matches!(e, HttpError::Refused { .. }), "{e}");
    assert!(
        e.to_string().ends_with("the model refused: I won't."),
        "{e}"
    );
}

#[test]
fn replies_without_the_promised_fields_name_the_field() {
    let server = serve(|i, _| match i {
        0 => ok("{\"choices\": []}"),
        1 => ok("{\"id\": 1}"),
        _ => ok("{\"error\": {\"message\": \"model not loaded\"}}"),
    });
    let model = HttpModel::new(config(&server)).unwrap();
    let mut messages = Vec::new();
    for _ in 0..3 {
        let e = server_error(model.generate(&[prompt()], &greedy(4)).unwrap_err());
        assert!(matches!(e, HttpError::Shape { .. }), "{e}");
        messages.push(e.to_string());
    }
    assert!(messages[0].ends_with("unexpected reply: `choices` is empty"));
    assert!(messages[1].ends_with("unexpected reply: `choices` is missing"));
    assert!(messages[2].ends_with("`error` is set: model not loaded"));
}

#[test]
fn a_server_that_is_not_there_is_a_connection_error() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = HttpConfig {
        backoff: Duration::from_millis(5),
        max_retries: 1,
        api_key_env: None,
        ..HttpConfig::new(format!("http://127.0.0.1:{port}/v1"), "m")
    };
    let model = HttpModel::new(cfg).unwrap();
    let e = server_error(model.generate(&[prompt()], &greedy(4)).unwrap_err());
    assert!(matches!(e, HttpError::Transport { attempts: 2, .. }), "{e}");
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
}

#[test]
fn the_cache_answers_a_rerun_without_asking() {
    let server = serve(|_, seen| ok(&completion(&format!("echo {}", seen.body["prompt"]))));
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&server).with_cache_dir(dir.path());
    let prompts = vec![Text::Plain("one".into()), Text::Plain("two".into())];
    let first = HttpModel::new(cfg.clone()).unwrap();
    let a = first.generate(&prompts, &greedy(4)).unwrap();
    assert_eq!(server.requests(), 2);
    // A new model (a rerun) with the same cache asks nothing.
    let rerun = HttpModel::new(cfg.clone()).unwrap();
    assert_eq!(rerun.generate(&prompts, &greedy(4)).unwrap(), a);
    assert_eq!(server.requests(), 2);
    assert_eq!(rerun.stats().cache_hits, 2);
    assert_eq!(rerun.stats().requests, 0);
    // Another request (other settings) is asked.
    rerun.generate(&prompts[..1], &greedy(5)).unwrap();
    assert_eq!(server.requests(), 3);
    // Errors are not cached.
    let files = walk(dir.path());
    assert_eq!(files, 3, "one file per request");
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() { walk(&p) } else { 1 }
        })
        .sum()
}

#[test]
fn the_api_key_comes_from_the_environment() {
    let server = serve(|_, _| ok(&completion("ok")));
    let var = "RLAIF_JUDGE_TEST_KEY_7F3A";
    // SAFETY: the variable's name is unique to this test; no other thread reads it.
    unsafe { std::env::set_var(var, "sk-test-123") };
    let cfg = HttpConfig {
        api_key_env: Some(var.into()),
        ..config(&server)
    };
    let model = HttpModel::new(cfg).unwrap();
    model.generate(&[prompt()], &greedy(2)).unwrap();
    let seen = server.seen.lock().unwrap();
    let auth = seen[0]
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.clone());
    assert_eq!(auth.as_deref(), Some("Bearer sk-test-123"));
    assert!(!seen[0].body.to_string().contains("sk-test"));
}

#[test]
fn no_more_requests_are_in_flight_than_the_concurrency() {
    let server = serve(|_, _| Reply {
        delay: Duration::from_millis(150),
        ..ok(&completion("x"))
    });
    let cfg = HttpConfig {
        concurrency: 2,
        ..config(&server)
    };
    let model = HttpModel::new(cfg).unwrap();
    let prompts: Vec<Text> = (0..6).map(|i| Text::Plain(format!("p{i}"))).collect();
    let t = Instant::now();
    let out = model.generate(&prompts, &greedy(2)).unwrap();
    assert_eq!(out.len(), 6);
    assert_eq!(server.in_flight_max.load(Ordering::SeqCst), 2);
    // Three rounds of two, not six in a row.
    assert!(
        t.elapsed() < Duration::from_millis(6 * 150),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn option_logprobs_are_read_from_both_endpoints() {
    let server = serve(|_, seen| {
        if seen.path.ends_with("/chat/completions") {
            assert_eq!(seen.body["logprobs"], true);
            assert_eq!(seen.body["top_logprobs"], 20);
            ok(
                &json!({"choices": [{"message": {"content": "B"}, "logprobs": {"content": [
                {"token": "B", "logprob": -0.2, "top_logprobs": [
                    {"token": "B", "logprob": -0.2}, {"token": "A", "logprob": -1.9}]}]}}]})
                .to_string(),
            )
        } else {
            assert_eq!(seen.body["logprobs"], 20);
            assert_eq!(seen.body["max_tokens"], 1);
            ok(
                &json!({"choices": [{"text": "A", "logprobs": {"top_logprobs": [
                {"A": -0.3, " A": -2.0, "B": -1.5, "C": -4.0}]}}]})
                .to_string(),
            )
        }
    });
    let model = HttpModel::new(config(&server)).unwrap();
    let options = vec!["A".to_string(), "B".to_string(), "Z".to_string()];
    let lp = model.option_logprobs(&prompt(), &options).unwrap();
    let want_a = ((-0.3f64).exp() + (-2.0f64).exp()).ln();
    assert!((lp[0].unwrap() - want_a).abs() < 1e-12);
    assert_eq!(lp[1], Some(-1.5));
    assert_eq!(lp[2], None);
    let chat = Text::Chat(vec![Message::new("user", "A or B?")]);
    let lp = model.option_logprobs(&chat, &options).unwrap();
    assert_eq!(lp, vec![Some(-1.9), Some(-0.2), None]);
}

#[test]
fn the_judge_parses_answers_from_a_server_without_log_probs() {
    // Log-prob requests get replies without log-probs; generation answers by content.
    let server = serve(|_, seen| {
        let prompt = seen.body["prompt"].as_str().unwrap_or("");
        if seen.body.get("logprobs").is_some() {
            return ok(&completion("("));
        }
        let a_line = prompt.lines().find(|l| l.starts_with("(A)")).unwrap_or("");
        ok(&completion(if a_line.contains("polite") {
            "A)"
        } else {
            "B)"
        }))
    });
    let model = HttpModel::new(config(&server)).unwrap();
    let judge =
        MultipleChoiceJudge::new(model, Constitution::harmlessness(), JudgeConfig::default())
            .unwrap();
    let got = judge
        .judge(&[
            Comparison::new(
                "\n\nHuman: hi\n\nAssistant:",
                "a polite reply",
                "a rude reply",
            ),
            Comparison::new(
                "\n\nHuman: hi\n\nAssistant:",
                "a rude reply",
                "a polite reply",
            ),
        ])
        .unwrap();
    assert_eq!(got[0].p_a, 1.0);
    assert_eq!(got[1].p_a, 0.0);
    assert_eq!(got[0].parsed, 2);
    assert_eq!(got[0].orders_agree(), Some(true));
}

#[test]
fn bad_configurations_are_rejected() {
    let e = HttpModel::new(HttpConfig::new("localhost:8080", "m")).unwrap_err();
    assert!(
        e.to_string().contains("`base_url`: expected an http"),
        "{e}"
    );
    let e = HttpModel::new(HttpConfig {
        concurrency: 0,
        ..HttpConfig::new("http://x", "m")
    })
    .unwrap_err();
    assert!(
        e.to_string().contains("`concurrency`: expected at least 1"),
        "{e}"
    );
}

#[test]
fn options_after_a_space_token_are_asked_after_the_space() {
    // A tokenizer that makes " 7" two tokens, " " and "7" (Gemma's): the first position only
    // reports the space.
    let server = serve(|_, seen| {
        let prompt = seen.body["prompt"].as_str().unwrap();
        let top = if prompt.ends_with("Rating: ") {
            json!({"7": -0.1, "6": -2.5, "x": -3.0})
        } else {
            // "1" without its space is another text (`Rating:1`) and is not counted; " 6"
            // as one token is.
            json!({" ": -0.5, "\n": -2.0, "1": -3.0, " 6": -4.0})
        };
        ok(&json!({"choices": [{"text": " ", "logprobs": {"top_logprobs": [top]}}]}).to_string())
    });
    let model = HttpModel::new(config(&server)).unwrap();
    let options: Vec<String> = (1..=9).map(|k| format!(" {k}")).collect();
    let lp = model
        .option_logprobs(&Text::Plain("Rating:".into()), &options)
        .unwrap();
    assert!((lp[6].unwrap() - (-0.6)).abs() < 1e-12);
    let six = ((-3.0f64).exp() + (-4.0f64).exp()).ln();
    assert!((lp[5].unwrap() - six).abs() < 1e-12);
    assert_eq!(lp[0], None);
    assert_eq!(server.requests(), 2);
}
