//! Reading a run configuration: a TOML file (unknown keys are errors, with toml's line and
//! column), then `--set key=value` overrides (dotted keys into the TOML tree, values parsed
//! as TOML, else taken as strings), then the method's validation, whose error names the
//! file and line that set the field.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use toml::{Table, Value};

use crate::error::CliError;
use crate::method::RunConfig;

/// A configuration and where its values came from.
#[derive(Clone, Debug)]
pub struct Loaded<C> {
    /// The configuration: defaults, then the file, then the overrides.
    pub config: C,
    /// The file, if one was given.
    pub path: Option<PathBuf>,
    text: Option<String>,
    sets: Vec<String>,
}

impl<C: RunConfig> Loaded<C> {
    /// Validates the configuration; the error names where the faulty field was set.
    pub fn validate(&self) -> Result<(), CliError> {
        self.config.validate().map_err(|source| CliError::Invalid {
            place: self.place_of(&source.field),
            source,
        })
    }

    /// Where `field` was set: the `--set` argument, the file and line, or the default.
    pub fn place_of(&self, field: &str) -> String {
        let is_field = |k: &str| k == field || field.starts_with(&format!("{k}."));
        if let Some(arg) = self
            .sets
            .iter()
            .rev()
            .find(|a| a.split_once('=').is_some_and(|(k, _)| is_field(k.trim())))
        {
            return format!("--set {arg}");
        }
        match (&self.path, &self.text) {
            (Some(path), Some(text)) => match find_key_line(text, field) {
                Some(line) => format!("{}, line {line}", path.display()),
                None => format!("{} (the default, not set in the file)", path.display()),
            },
            _ => "the default (no --config file)".into(),
        }
    }
}

/// Reads the configuration of a method: `path` (if any) over the defaults, then each of
/// `sets` (`key=value`). Does not validate (see [`Loaded::validate`]).
pub fn load<C: RunConfig>(path: Option<&Path>, sets: &[String]) -> Result<Loaded<C>, CliError> {
    let (mut config, text) = match path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| CliError::ReadConfig {
                path: path.to_path_buf(),
                source,
            })?;
            let config: C = parse_over_defaults(&text, path)?;
            (config, Some(text))
        }
        None => (C::default(), None),
    };
    if !sets.is_empty() {
        let mut table = to_table(&config)?;
        for arg in sets {
            apply_set(&mut table, arg)?;
        }
        config = Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| CliError::Override {
                arg: sets.join(" "),
                message: e.message().to_string(),
            })?;
    }
    Ok(Loaded {
        config,
        path: path.map(Path::to_path_buf),
        text,
        sets: sets.to_vec(),
    })
}

/// Parses `text` (the file `path`) strictly: unknown keys and wrong types are errors with
/// toml's line and column.
pub fn parse<C: DeserializeOwned>(text: &str, path: &Path) -> Result<C, CliError> {
    toml::from_str(text).map_err(|e| CliError::ParseConfig {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })
}

/// Reads `text` (the file `path`) over the method's defaults: the file's tables are merged
/// key by key into the method's `Default`, so a file that sets one key of `[train]` keeps
/// the command's own defaults for the rest (`rlhf ppo`'s algorithm is PPO even when the
/// file has a `[train]` table without `[train.algorithm]`); a table whose `kind` differs
/// from the default's replaces it whole. Unknown keys and wrong types are errors with
/// toml's line and column.
pub fn parse_over_defaults<C: RunConfig>(text: &str, path: &Path) -> Result<C, CliError> {
    let strict = parse::<C>(text, path);
    let file: Table = match text.parse() {
        Ok(t) => t,
        Err(_) => return strict,
    };
    let mut merged = to_table(&C::default())?;
    merge(&mut merged, file);
    match (Value::Table(merged).try_into::<C>(), strict) {
        (Ok(config), _) => Ok(config),
        (Err(_), Err(e)) => Err(e),
        (Err(e), Ok(_)) => Err(CliError::ParseConfig {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        }),
    }
}

/// Merges `over` into `base`: tables key by key, anything else replaced; a table whose
/// `kind` differs from `base`'s replaces it whole (another variant of a tagged enum).
pub fn merge(base: &mut Table, over: Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(b)), Value::Table(o))
                if o.get("kind").is_none_or(|k| b.get("kind") == Some(k)) =>
            {
                merge(b, o)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// `config` as a TOML table.
pub fn to_table<C: Serialize>(config: &C) -> Result<Table, CliError> {
    match Value::try_from(config) {
        Ok(Value::Table(t)) => Ok(t),
        Ok(other) => Err(CliError::Generate(format!(
            "a configuration serialises to a table, got {}",
            other.type_str()
        ))),
        Err(e) => Err(CliError::Generate(format!(
            "the configuration cannot be written as TOML: {e}"
        ))),
    }
}

/// Applies one `key=value` override to `table`: `key` is dotted (`train.steps`); `value` is
/// read as a TOML value (`10`, `1e-5`, `true`, `["ipo"]`, `"text"`), and taken as a string
/// when it is not one (`runs/sft/model`).
pub fn apply_set(table: &mut Table, arg: &str) -> Result<(), CliError> {
    let err = |message: String| CliError::Override {
        arg: arg.to_string(),
        message,
    };
    let (key, raw) = arg
        .split_once('=')
        .ok_or_else(|| err("expected key=value".into()))?;
    let key = key.trim();
    let parts: Vec<&str> = key.split('.').map(str::trim).collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(err(format!("`{key}` is not a dotted key")));
    }
    let value = parse_value(raw.trim());
    let (last, parents) = parts.split_last().expect("split yields at least one part");
    let mut at = table;
    for (i, part) in parents.iter().enumerate() {
        let entry = at
            .entry(part.to_string())
            .or_insert_with(|| Value::Table(Table::new()));
        at = match entry {
            Value::Table(t) => t,
            other => {
                return Err(err(format!(
                    "`{}` is a {}, not a table",
                    parts[..=i].join("."),
                    other.type_str()
                )));
            }
        };
    }
    // Switching a tagged table to another variant drops the old variant's keys.
    if *last == "kind" && at.get("kind").is_some_and(|k| *k != value) {
        at.clear();
    }
    at.insert(last.to_string(), value);
    Ok(())
}

fn parse_value(raw: &str) -> Value {
    toml::from_str::<Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()))
}

/// The 1-based line of `text` that sets the dotted key `field` (a `key = value` line under
/// its `[table]` header, or a dotted key), else the line that sets the nearest enclosing
/// key (an inline table), else the header of its table.
pub fn find_key_line(text: &str, field: &str) -> Option<usize> {
    let mut table = String::new();
    let mut best: Option<(usize, usize)> = None; // (matched length, line)
    let mut consider = |key: &str, line: usize| {
        let hit = key == field || field.starts_with(&format!("{key}."));
        if hit && best.is_none_or(|(len, _)| key.len() > len) {
            best = Some((key.len(), line));
        }
    };
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with("[[") {
            table.clear();
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let name = header.split(']').next().unwrap_or("");
            table = unquote_key(name);
            consider(&table, i + 1);
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if let Some((key, _)) = line.split_once('=') {
            let key = unquote_key(key);
            if key.is_empty() {
                continue;
            }
            let full = if table.is_empty() {
                key
            } else {
                format!("{table}.{key}")
            };
            consider(&full, i + 1);
        }
    }
    best.map(|(_, line)| line)
}

fn unquote_key(key: &str) -> String {
    key.split('.')
        .map(|p| p.trim().trim_matches('"').trim_matches('\''))
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lines_follow_tables_and_dotted_keys() {
        let text = "out = \"x\"\n[train]\nsteps = 3\nadamw = { beta1 = 0.5 }\n\n[loss]\nbeta = 2\n";
        assert_eq!(find_key_line(text, "out"), Some(1));
        assert_eq!(find_key_line(text, "train.steps"), Some(3));
        assert_eq!(find_key_line(text, "train.adamw.beta1"), Some(4));
        assert_eq!(find_key_line(text, "loss.beta"), Some(7));
        assert_eq!(find_key_line(text, "loss.simpo_gamma"), Some(6));
        assert_eq!(find_key_line(text, "data.path"), None);
        assert_eq!(find_key_line("train.steps = 2", "train.steps"), Some(1));
    }

    #[test]
    fn files_merge_into_the_defaults_and_a_new_kind_replaces_the_table() {
        let mut base: Table =
            toml::from_str("a = 1\n[t]\nx = 1\ny = 2\n[t.alg]\nkind = \"p\"\nk = 1\n").unwrap();
        let over: Table = toml::from_str("[t]\ny = 3\n[t.alg]\nkind = \"g\"\nb = 2\n").unwrap();
        merge(&mut base, over);
        assert_eq!(base["a"], Value::Integer(1));
        assert_eq!(base["t"]["x"], Value::Integer(1));
        assert_eq!(base["t"]["y"], Value::Integer(3));
        assert!(base["t"]["alg"].get("k").is_none());
        assert_eq!(base["t"]["alg"]["b"], Value::Integer(2));
    }

    #[test]
    fn overrides_parse_toml_values_or_strings() {
        let mut t = Table::new();
        apply_set(&mut t, "train.steps=10").unwrap();
        apply_set(&mut t, "model=runs/sft/model").unwrap();
        apply_set(&mut t, "loss.loss_types=[\"ipo\"]").unwrap();
        assert_eq!(t["train"]["steps"], Value::Integer(10));
        assert_eq!(t["model"], Value::String("runs/sft/model".into()));
        assert!(t["loss"]["loss_types"].is_array());
        assert!(apply_set(&mut t, "novalue").is_err());
        apply_set(&mut t, "kl.kind=fixed").unwrap();
        apply_set(&mut t, "kl.beta=0.1").unwrap();
        apply_set(&mut t, "kl.kind=fixed").unwrap();
        assert_eq!(t["kl"]["beta"], Value::Float(0.1), "same kind: kept");
        apply_set(&mut t, "kl.kind=adaptive").unwrap();
        assert!(
            t["kl"].get("beta").is_none(),
            "another kind: the old keys go"
        );
        assert!(apply_set(&mut t, "model.x=1").is_err());
    }
}
