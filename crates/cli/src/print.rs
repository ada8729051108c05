//! `--print-config`: a configuration as TOML, every key preceded by its documentation
//! (default and source), unset optional keys listed as comments. The output is itself a
//! valid configuration file that reads back to the same configuration.

use std::collections::HashSet;
use std::fmt::Write as _;

use crate::error::CliError;
use crate::method::RunConfig;

/// Marks a key the documentation table lacks (the tests forbid it).
pub const UNDOCUMENTED: &str = "(undocumented)";

/// `config` as a documented TOML file.
pub fn print_config<C: RunConfig>(config: &C) -> Result<String, CliError> {
    let text = toml::to_string(config).map_err(|e| {
        CliError::Generate(format!("the configuration cannot be written as TOML: {e}"))
    })?;
    let docs = C::docs();
    let extra = C::other_variant_docs();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# rlhf {}: every setting, its value (the default unless set) and its meaning.\n\
         # Unset optional settings are listed as comments.",
        C::NAME
    );
    let mut table = String::new();
    let mut seen: HashSet<String> = HashSet::new();
    // Inside a multi-line string (toml writes strings with newlines as `"""` blocks):
    // copied verbatim, blank lines included.
    let mut in_string = false;
    let toggles =
        |line: &str| (line.matches("\"\"\"").count() + line.matches("\'\'\'").count()) % 2 == 1;
    for line in text.lines() {
        if in_string {
            let _ = writeln!(out, "{line}");
            in_string ^= toggles(line);
            continue;
        }
        let t = line.trim();
        if t.starts_with('[') && !t.starts_with("[[") {
            unset(&docs, &table, &seen, &mut out);
            table = t
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            let _ = writeln!(out, "\n{line}");
            continue;
        }
        if let Some((key, _)) = t.split_once('=')
            && !t.starts_with('#')
        {
            let key = key.trim().trim_matches('"');
            let full = if table.is_empty() {
                key.to_string()
            } else {
                format!("{table}.{key}")
            };
            let doc = docs
                .iter()
                .find(|(k, _)| *k == full)
                .map(|(_, d)| *d)
                .or_else(|| extra.iter().find(|(k, _)| *k == full).map(|(_, d)| *d))
                .unwrap_or(UNDOCUMENTED);
            let _ = writeln!(out, "# {doc}");
            seen.insert(full);
        }
        if !t.is_empty() {
            let _ = writeln!(out, "{line}");
        }
        in_string = !t.starts_with('#') && toggles(line);
    }
    unset(&docs, &table, &seen, &mut out);
    Ok(out)
}

/// Comment lines for the documented keys of `table` that the configuration leaves unset.
fn unset(docs: &[(String, &str)], table: &str, seen: &HashSet<String>, out: &mut String) {
    for (key, doc) in docs {
        let (parent, last) = key.rsplit_once('.').unwrap_or(("", key.as_str()));
        if parent == table && !seen.contains(key) {
            let _ = writeln!(out, "# {doc}\n# {last} = (unset)");
        }
    }
}
