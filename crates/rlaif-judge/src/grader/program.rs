//! `program`: an external command grades the sample (in place of OpenAI's `python`
//! grader).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Failure, FieldError, GradeResult, Grader, GraderSample, Item, quote};

fn default_timeout() -> f64 {
    10.0
}

fn default_max_output() -> usize {
    1 << 20
}

/// Configuration of a [`Program`] grader (`type = "program"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramConfig {
    /// The grader's name.
    #[serde(default)]
    pub name: String,
    /// The program and its arguments (no shell is involved: write `["sh", "-c", "…"]`
    /// for one).
    pub command: Vec<String>,
    /// Seconds the program may run (default 10).
    #[serde(default = "default_timeout")]
    pub timeout_secs: f64,
    /// Most bytes of standard output read (default 1 MiB); more is a failure.
    #[serde(default = "default_max_output")]
    pub max_output_bytes: usize,
}

/// A grader that runs a program, in place of OpenAI's `python` grader (whose
/// `grade(sample, item) -> float` runs in OpenAI's sandbox).
///
/// The program receives `{"sample": {"output_text": …, "output_json": …}, "item": {…}}`
/// as one JSON document on standard input and must print one number (its score) on
/// standard output and exit with status 0, within `timeout_secs`. Anything else — it
/// cannot start, times out (it and its process group are killed), exits non-zero,
/// prints nothing, non-UTF-8, more than `max_output_bytes`, or something other than a
/// finite number — scores 0 with a [`Failure::Program`] reason (with the end of its
/// standard error). The program runs with the grader's privileges: it is not a sandbox.
#[derive(Clone, Debug)]
pub struct Program {
    name: String,
    command: Vec<String>,
    timeout: Duration,
    max_output: usize,
}

impl Program {
    /// The grader for `config`.
    pub fn new(config: &ProgramConfig) -> Result<Self, FieldError> {
        if config.command.is_empty() || config.command[0].trim().is_empty() {
            return Err(FieldError::new(
                "command",
                "expected a program and its arguments, e.g. [\"python3\", \"grade.py\"]",
            ));
        }
        if !(config.timeout_secs.is_finite() && config.timeout_secs > 0.0) {
            return Err(FieldError::new(
                "timeout_secs",
                format!(
                    "expected a positive number of seconds, got {}",
                    config.timeout_secs
                ),
            ));
        }
        if config.max_output_bytes == 0 {
            return Err(FieldError::new(
                "max_output_bytes",
                "expected at least 1 byte",
            ));
        }
        Ok(Self {
            name: config.name.clone(),
            command: config.command.clone(),
            timeout: Duration::from_secs_f64(config.timeout_secs),
            max_output: config.max_output_bytes,
        })
    }

    fn run(&self, input: Vec<u8>) -> Result<f64, String> {
        let program = &self.command[0];
        let mut cmd = Command::new(program);
        cmd.args(&self.command[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start `{program}`: {e}"))?;
        let start = Instant::now();
        let mut stdin = child.stdin.take();
        std::thread::spawn(move || {
            if let Some(s) = stdin.as_mut() {
                // A program that exits without reading its input is not an error here.
                let _ = s.write_all(&input);
            }
        });
        let (out_tx, out_rx) = mpsc::channel();
        let mut stdout = child.stdout.take();
        let max = self.max_output;
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(s) = stdout.as_mut() {
                let _ = s.by_ref().take(max as u64 + 1).read_to_end(&mut buf);
                let _ = std::io::copy(s, &mut std::io::sink());
            }
            let _ = out_tx.send(buf);
        });
        let (err_tx, err_rx) = mpsc::channel();
        let mut stderr = child.stderr.take();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(s) = stderr.as_mut() {
                let _ = s.by_ref().take(64 * 1024).read_to_end(&mut buf);
                let _ = std::io::copy(s, &mut std::io::sink());
            }
            let _ = err_tx.send(buf);
        });

        let kill = |child: &mut std::process::Child| {
            #[cfg(unix)]
            // SAFETY: kill(2) with a negative pid signals the process group the child
            // leads (it was started with process_group(0)); no memory is involved.
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL);
            }
            let _ = child.kill();
            let _ = child.wait();
        };
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if start.elapsed() >= self.timeout => {
                    kill(&mut child);
                    return Err(format!(
                        "`{program}` did not finish within {:.3} s (killed)",
                        self.timeout.as_secs_f64()
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => {
                    kill(&mut child);
                    return Err(format!("cannot wait for `{program}`: {e}"));
                }
            }
        };
        let left = self.timeout.saturating_sub(start.elapsed()) + Duration::from_millis(100);
        let stdout = match out_rx.recv_timeout(left) {
            Ok(b) => b,
            Err(_) => {
                kill(&mut child);
                return Err(format!(
                    "`{program}` exited but its output stayed open past {:.3} s (a background process?)",
                    self.timeout.as_secs_f64()
                ));
            }
        };
        let stderr = err_rx
            .recv_timeout(Duration::from_millis(200))
            .unwrap_or_default();
        let stderr_tail = {
            let s = String::from_utf8_lossy(&stderr);
            let s = s.trim();
            if s.is_empty() {
                String::new()
            } else {
                let tail: String = s
                    .chars()
                    .rev()
                    .take(300)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                format!("; stderr: {tail:?}")
            }
        };
        if !status.success() {
            return Err(format!("`{program}` failed ({status}){stderr_tail}"));
        }
        if stdout.len() > self.max_output {
            return Err(format!(
                "`{program}` printed more than {} bytes",
                self.max_output
            ));
        }
        let text = String::from_utf8(stdout).map_err(|e| {
            format!("`{program}` printed output that is not UTF-8 ({e}){stderr_tail}")
        })?;
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(format!(
                "`{program}` printed nothing, expected a number{stderr_tail}"
            ));
        }
        match trimmed.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            Ok(v) => Err(format!("`{program}` printed {v}, not a finite number")),
            Err(_) => Err(format!(
                "`{program}` printed {}, not a number{stderr_tail}",
                quote(trimmed)
            )),
        }
    }
}

impl Grader for Program {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "program"
    }

    fn grade(&mut self, sample: &GraderSample, item: &Item) -> GradeResult {
        let input = serde_json::json!({ "sample": sample, "item": item });
        let bytes = match serde_json::to_vec(&input) {
            Ok(b) => b,
            Err(e) => {
                return GradeResult::fail(
                    Failure::Program,
                    format!("cannot serialise the input: {e}"),
                );
            }
        };
        match self.run(bytes) {
            Ok(v) => GradeResult::new(v, format!("`{}` printed {v}", self.command[0])),
            Err(e) => GradeResult::fail(Failure::Program, e),
        }
    }
}
