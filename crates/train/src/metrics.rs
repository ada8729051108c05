//! Training metrics as JSON Lines: one [`MetricRecord`] per line, appended and flushed as the run
//! goes, so a crashed run keeps everything logged up to the crash.
//!
//! # File format
//!
//! Each line is one JSON object:
//!
//! ```text
//! {"step":120,"split":"train","wall_time_s":35.2,"values":{"loss":1.93,"lr":0.0003}}
//! ```
//!
//! `wall_time_s` is omitted when unknown. Python reads the file with
//! `pandas.read_json(path, lines=True)` (then `pandas.json_normalize` on `values`).
//!
//! # Non-finite values
//!
//! JSON has no NaN or infinity. A non-finite value (NaN, +inf, -inf) is written as `null` and
//! read back as NaN: a diverged metric stays visibly "not a number" in every tool, at the cost
//! of the sign of an infinity. A non-finite `wall_time_s` is written as `null` and read back as
//! `None`.
//!
//! # Torn writes
//!
//! Every record is written with a single `write` call ending in `\n`. A last line with no
//! terminating newline that does not parse is the remains of a write interrupted by a crash: the
//! readers skip it (and [`MetricsWriter::append_truncating_after`] removes it). Any other line
//! that does not parse is an error naming the file and line number.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::TrainError;

/// One line of a metrics file: the values logged for one split at one step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricRecord {
    /// The optimizer step the values belong to.
    pub step: usize,
    /// Which data the values were computed on: `"train"`, `"valid"`, ...
    pub split: String,
    /// Seconds since the start of the run, if known.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_finite",
        deserialize_with = "de_opt_finite"
    )]
    pub wall_time_s: Option<f64>,
    /// Metric name to value (`"loss"`, `"lr"`, `"reward"`, `"kl"`, ...). Non-finite values are
    /// stored as JSON `null` and read back as NaN.
    #[serde(serialize_with = "ser_values", deserialize_with = "de_values")]
    pub values: BTreeMap<String, f64>,
}

impl MetricRecord {
    /// A record with no wall time.
    pub fn new(step: usize, split: impl Into<String>, values: BTreeMap<String, f64>) -> Self {
        Self {
            step,
            split: split.into(),
            wall_time_s: None,
            values,
        }
    }

    /// A record built from `(name, value)` pairs; later duplicates of a name win.
    pub fn from_pairs(step: usize, split: impl Into<String>, pairs: &[(&str, f64)]) -> Self {
        let values = pairs.iter().map(|(k, v)| ((*k).to_string(), *v)).collect();
        Self::new(step, split, values)
    }

    /// Sets the wall time in seconds.
    pub fn with_wall_time(mut self, seconds: f64) -> Self {
        self.wall_time_s = Some(seconds);
        self
    }

    /// The value of metric `key`, if logged.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.values.get(key).copied()
    }
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn ser_opt_finite<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    v.and_then(finite).serialize(s)
}

fn de_opt_finite<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Option::<f64>::deserialize(d)
}

fn ser_values<S: Serializer>(values: &BTreeMap<String, f64>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(values.iter().map(|(k, v)| (k, finite(*v))))
}

fn de_values<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
    let raw = BTreeMap::<String, Option<f64>>::deserialize(d)?;
    Ok(raw
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or(f64::NAN)))
        .collect())
}

/// Appends [`MetricRecord`]s to a JSON Lines file, one flushed line per record.
///
/// See the [module documentation](self) for the format.
#[derive(Debug)]
pub struct MetricsWriter {
    path: PathBuf,
    file: File,
}

impl MetricsWriter {
    /// Creates (or truncates) the metrics file at `path`, creating missing parent directories.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, TrainError> {
        let path = path.as_ref();
        create_parent(path)?;
        let file = File::create(path).map_err(|source| io_err(path, source))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Opens the metrics file at `path` for appending, creating it (and missing parent
    /// directories) if needed. Existing records are kept as they are; use
    /// [`append_truncating_after`](Self::append_truncating_after) when resuming from a
    /// checkpoint.
    pub fn append(path: impl AsRef<Path>) -> Result<Self, TrainError> {
        let path = path.as_ref();
        create_parent(path)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| io_err(path, source))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Opens the metrics file at `path` for appending after dropping every record whose step is
    /// greater than `step`: use it when resuming from a checkpoint taken at `step`, so the
    /// records the crashed run logged after its last checkpoint are not duplicated.
    ///
    /// Kept lines are preserved byte for byte. The file is rewritten through a temporary
    /// sibling and an atomic rename, so a crash here leaves either the old or the new file.
    /// A missing file is created. A malformed line (other than a torn last line, see the
    /// [module documentation](self)) is an error and leaves the file untouched.
    pub fn append_truncating_after(
        path: impl AsRef<Path>,
        step: usize,
    ) -> Result<Self, TrainError> {
        let path = path.as_ref();
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(io_err(path, source)),
        };
        let parsed = parse_lines(path, &text)?;
        let torn_tail = !text.is_empty() && !text.ends_with('\n');
        if torn_tail || parsed.iter().any(|(r, _)| r.step > step) {
            let mut kept = String::with_capacity(text.len());
            for (record, line) in &parsed {
                if record.step <= step {
                    kept.push_str(line);
                    kept.push('\n');
                }
            }
            rlhf_core::write_atomic(path, kept.as_bytes())
                .map_err(|e| io_err(&e.path, e.source))?;
        }
        Self::append(path)
    }

    /// The file this writer appends to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `record` as one JSON line and flushes it to the operating system.
    pub fn log(&mut self, record: &MetricRecord) -> Result<(), TrainError> {
        let mut line =
            serde_json::to_string(record).map_err(|source| TrainError::MetricsSerialize {
                path: self.path.clone(),
                step: record.step,
                source,
            })?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|source| io_err(&self.path, source))
    }

    /// Convenience for [`log`](Self::log) with `(name, value)` pairs and an optional wall time.
    pub fn log_values(
        &mut self,
        step: usize,
        split: &str,
        wall_time_s: Option<f64>,
        values: &[(&str, f64)],
    ) -> Result<(), TrainError> {
        let mut record = MetricRecord::from_pairs(step, split, values);
        record.wall_time_s = wall_time_s;
        self.log(&record)
    }
}

/// Reads every record of the metrics file at `path`, in file order.
///
/// Blank lines are skipped, and so is a torn last line (see the [module documentation](self)).
/// A malformed line is a [`TrainError::MetricsParse`] naming the path and 1-based line number.
pub fn read_metrics(path: impl AsRef<Path>) -> Result<Vec<MetricRecord>, TrainError> {
    let path = path.as_ref();
    let text = fs::read_to_string(path).map_err(|source| io_err(path, source))?;
    Ok(parse_lines(path, &text)?
        .into_iter()
        .map(|(record, _)| record)
        .collect())
}

/// Parses `text` into records with their source lines (without the newline).
fn parse_lines<'t>(path: &Path, text: &'t str) -> Result<Vec<(MetricRecord, &'t str)>, TrainError> {
    let terminated = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<MetricRecord>(line) {
            Ok(record) => out.push((record, *line)),
            Err(_) if index + 1 == lines.len() && !terminated => {}
            Err(e) => {
                return Err(TrainError::MetricsParse {
                    path: path.to_path_buf(),
                    line: index + 1,
                    source: e,
                });
            }
        }
    }
    Ok(out)
}

fn io_err(path: &Path, source: std::io::Error) -> TrainError {
    TrainError::MetricsIo {
        path: path.to_path_buf(),
        source,
    }
}

fn create_parent(path: &Path) -> Result<(), TrainError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            fs::create_dir_all(dir).map_err(|source| io_err(dir, source))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(step: usize, split: &str, loss: f64) -> MetricRecord {
        MetricRecord::from_pairs(step, split, &[("loss", loss), ("lr", 1e-4)])
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/run/metrics.jsonl");
        let records = vec![
            rec(0, "train", 2.5).with_wall_time(0.25),
            rec(1, "train", 2.25),
            rec(1, "valid", 2.75).with_wall_time(3.0),
            MetricRecord::new(2, "train", BTreeMap::new()),
        ];
        let mut w = MetricsWriter::create(&path).unwrap();
        for r in &records {
            w.log(r).unwrap();
        }
        w.log_values(3, "valid", None, &[("kl", 0.125)]).unwrap();
        drop(w);
        let back = read_metrics(&path).unwrap();
        assert_eq!(back.len(), 5);
        assert_eq!(&back[..4], &records[..]);
        assert_eq!(back[4].get("kl"), Some(0.125));
        assert_eq!(back[4].split, "valid");

        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 5);
        assert!(
            text.lines()
                .next()
                .unwrap()
                .starts_with(r#"{"step":0,"split":"train""#)
        );
        assert!(!text.lines().nth(1).unwrap().contains("wall_time_s"));

        // `append` keeps what is there.
        let mut w = MetricsWriter::append(&path).unwrap();
        w.log(&rec(4, "train", 1.0)).unwrap();
        assert_eq!(read_metrics(&path).unwrap().len(), 6);
        // `create` truncates.
        let _ = MetricsWriter::create(&path).unwrap();
        assert!(read_metrics(&path).unwrap().is_empty());
    }

    #[test]
    fn non_finite_values_are_null_and_read_back_as_nan() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.jsonl");
        let mut w = MetricsWriter::create(&path).unwrap();
        let r = MetricRecord::from_pairs(
            7,
            "train",
            &[
                ("loss", f64::NAN),
                ("grad_norm", f64::INFINITY),
                ("kl", -f64::INFINITY),
            ],
        )
        .with_wall_time(f64::NAN);
        w.log(&r).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "{\"step\":7,\"split\":\"train\",\"wall_time_s\":null,\"values\":{\"grad_norm\":null,\"kl\":null,\"loss\":null}}\n"
        );
        let back = read_metrics(&path).unwrap();
        assert_eq!(back.len(), 1);
        assert!(back[0].values.values().all(|v| v.is_nan()));
        assert_eq!(back[0].values.len(), 3);
        assert_eq!(back[0].wall_time_s, None);
    }

    #[test]
    fn truncation_on_resume() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let mut w = MetricsWriter::create(&path).unwrap();
        for step in 0..10 {
            w.log(&rec(step, "train", 10.0 - step as f64)).unwrap();
            if step % 3 == 0 {
                w.log(&rec(step, "valid", 11.0)).unwrap();
            }
        }
        drop(w);
        // Simulate a crash in the middle of a write.
        fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"step\":10,\"spl")
            .unwrap();

        let mut w = MetricsWriter::append_truncating_after(&path, 6).unwrap();
        let kept = read_metrics(&path).unwrap();
        assert!(kept.iter().all(|r| r.step <= 6));
        assert_eq!(kept.iter().filter(|r| r.split == "train").count(), 7);
        assert_eq!(kept.iter().filter(|r| r.split == "valid").count(), 3);
        w.log(&rec(7, "train", 0.5)).unwrap();
        let after = read_metrics(&path).unwrap();
        assert_eq!(after.len(), 11);
        assert_eq!(after.last().unwrap(), &rec(7, "train", 0.5));
        let steps: Vec<usize> = after.iter().map(|r| r.step).collect();
        assert!(steps.windows(2).all(|w| w[0] <= w[1]), "{steps:?}");
        assert!(!dir.path().join("metrics.jsonl.truncating.tmp").exists());

        // Resuming on a missing file creates it.
        let fresh = dir.path().join("sub/new.jsonl");
        let mut w = MetricsWriter::append_truncating_after(&fresh, 3).unwrap();
        w.log(&rec(4, "train", 1.0)).unwrap();
        assert_eq!(read_metrics(&fresh).unwrap().len(), 1);
    }

    #[test]
    fn malformed_line_error_names_path_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.jsonl");
        let good = serde_json::to_string(&rec(0, "train", 1.0)).unwrap();
        fs::write(
            &path,
            format!("{good}\n\n{good}\n{{\"step\": \"x\"}}\n{good}\n"),
        )
        .unwrap();
        let err = read_metrics(&path).unwrap_err();
        match &err {
            TrainError::MetricsParse { line, .. } => assert_eq!(*line, 4),
            other => panic!("unexpected {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("line 4"), "{msg}");
        assert!(msg.contains("bad.jsonl"), "{msg}");

        // Resuming on a corrupt file fails and leaves it as it was.
        let before = fs::read(&path).unwrap();
        let err = MetricsWriter::append_truncating_after(&path, 0).unwrap_err();
        assert!(err.to_string().contains("line 4"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), before);

        // A terminated (complete) last line that does not parse is an error too.
        fs::write(&path, format!("{good}\nnot json\n")).unwrap();
        assert!(
            read_metrics(&path)
                .unwrap_err()
                .to_string()
                .contains("line 2")
        );
        // An unterminated one is a torn write and is skipped.
        fs::write(&path, format!("{good}\nnot json")).unwrap();
        assert_eq!(read_metrics(&path).unwrap().len(), 1);
    }

    #[test]
    fn missing_file_error_names_path() {
        let err = read_metrics("/nonexistent/dir/metrics.jsonl").unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/dir/metrics.jsonl"),
            "{err}"
        );
    }
}
