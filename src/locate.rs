//! Finding the HH-RLHF data file for the examples (this repository's layout, and a download
//! from the Hugging Face hub: not library business, so it lives here beside the examples).
//!
//! [`locate_hh`] looks, in order, at:
//! 1. the path given with `--data` (a file, or a folder holding the file);
//! 2. the shared data folder [`SHARED_HH_DIR`] (`../shared/data/hh-rlhf/`), relative
//!    to the project root and then to the current directory;
//! 3. the Hugging Face hub: the dataset [`HH_HUB_REPO`], file [`HH_HUB_FILE`]
//!    (the whole harmless-base test split), cached under the Hugging Face cache
//!    folder (`$HF_HOME/hub`, default `~/.cache/huggingface/hub`). This needs the
//!    crate feature `hub` (on by default) and is skipped when [`OFFLINE_ENV`] or
//!    `HF_HUB_OFFLINE` is set. A short reachability check runs first so that a
//!    machine without network fails within seconds.
//!
//! When nothing is found, one [`DataError::NotFound`] lists every place tried and
//! why it failed, with a hint on how to get the data. A `--data` path that does not
//! hold the file is an error at once: data named explicitly is never silently
//! replaced by other data.

use std::path::{Path, PathBuf};
use std::time::Duration;

use pref_data::{Attempt, DataError};

/// The Hugging Face dataset holding HH-RLHF.
pub const HH_HUB_REPO: &str = "Anthropic/hh-rlhf";
/// The file fetched from [`HH_HUB_REPO`] (also the file's path in the
/// `anthropics/hh-rlhf` GitHub repository).
pub const HH_HUB_FILE: &str = "harmless-base/test.jsonl.gz";
/// The shared data folder, relative to the project root.
pub const SHARED_HH_DIR: &str = "../shared/data/hh-rlhf";
/// Environment variable that, when set to anything but `""`, `0` or `false`,
/// disables the hub download.
pub const OFFLINE_ENV: &str = "RLHF_OFFLINE";
/// How to get the data by hand; ends the error message when nothing is found.
pub const HH_HINT: &str = "download `harmless-base/test.jsonl.gz` from the Anthropic/hh-rlhf dataset \
    (https://huggingface.co/datasets/Anthropic/hh-rlhf/resolve/main/harmless-base/test.jsonl.gz, \
    or the same path in the github.com/anthropics/hh-rlhf repository) and pass \
    `--data /path/to/test.jsonl.gz`, or put the file into ../shared/data/hh-rlhf/ beside the project";

/// Default time allowed for the hub reachability check (DNS lookup + TCP connect).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Options for [`locate_hh_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LocateOptions {
    /// `Some(reason)` skips the hub download, reporting `reason`; a file already in
    /// the hub cache is still used.
    pub offline: Option<String>,
    /// Hub cache folder; `None` means the Hugging Face default (`$HF_HOME/hub` or
    /// `~/.cache/huggingface/hub`).
    pub cache_dir: Option<PathBuf>,
    /// Hub endpoint; `None` means `$HF_ENDPOINT` or `https://huggingface.co`.
    pub endpoint: Option<String>,
    /// Time allowed for the reachability check before downloading.
    pub connect_timeout: Duration,
}

impl Default for LocateOptions {
    /// Hub enabled, default cache and endpoint, [`DEFAULT_CONNECT_TIMEOUT`];
    /// environment variables are not consulted (see [`LocateOptions::from_env`]).
    fn default() -> Self {
        Self {
            offline: None,
            cache_dir: None,
            endpoint: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

impl LocateOptions {
    /// The defaults, made offline when [`OFFLINE_ENV`] (`RLHF_OFFLINE`) or
    /// `HF_HUB_OFFLINE` is set to anything but `""`, `0` or `false`.
    pub fn from_env() -> Self {
        let offline = [OFFLINE_ENV, "HF_HUB_OFFLINE"].into_iter().find_map(|var| {
            let value = std::env::var(var).ok()?;
            let off = !matches!(
                value.trim().to_ascii_lowercase().as_str(),
                "" | "0" | "false"
            );
            off.then(|| format!("offline: {var}={value}"))
        });
        Self {
            offline,
            ..Self::default()
        }
    }

    /// Skips the hub download, giving `reason` in error messages.
    pub fn offline(mut self, reason: impl Into<String>) -> Self {
        self.offline = Some(reason.into());
        self
    }

    /// Uses `dir` as the hub cache folder.
    pub fn with_cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Uses `endpoint` (e.g. `https://huggingface.co`) for the hub.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Sets the time allowed for the hub reachability check.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
}

/// Finds the HH-RLHF file `file_name` (e.g. `"harmless-base-dev.jsonl.gz"`) with
/// options from the environment ([`LocateOptions::from_env`]); see the
/// [module docs](self) for the order of places searched.
///
/// `explicit` is the `--data` path, if given; `project_root` is the workspace root
/// (an example can pass `env!("CARGO_MANIFEST_DIR")`).
pub fn locate_hh(
    explicit: Option<&Path>,
    project_root: &Path,
    file_name: &str,
) -> Result<PathBuf, DataError> {
    locate_hh_with(
        explicit,
        project_root,
        file_name,
        &LocateOptions::from_env(),
    )
}

/// [`locate_hh`] with explicit options.
///
/// The hub fallback returns [`HH_HUB_FILE`] (the full harmless-base test split,
/// whose first 2,000 lines are the shared `harmless-base-dev.jsonl.gz`), whatever
/// `file_name` is.
pub fn locate_hh_with(
    explicit: Option<&Path>,
    project_root: &Path,
    file_name: &str,
    opts: &LocateOptions,
) -> Result<PathBuf, DataError> {
    let what = format!("the HH-RLHF data file `{file_name}`");

    // 1. The explicit path.
    if let Some(path) = explicit {
        return explicit_path(path, file_name).map_err(|outcome| DataError::NotFound {
            what,
            attempts: vec![Attempt {
                place: format!("--data {}", path.display()),
                outcome,
            }],
            hint: format!("check the --data path, or {HH_HINT}"),
        });
    }
    let mut attempts = vec![Attempt {
        place: "--data PATH".to_string(),
        outcome: "not given".to_string(),
    }];

    // 2. The shared data folder.
    let mut dirs = vec![(project_root.join(SHARED_HH_DIR), "the project root")];
    if let Ok(cwd) = std::env::current_dir() {
        let dir = cwd.join(SHARED_HH_DIR);
        if !same_dir(&dir, &dirs[0].0) {
            dirs.push((dir, "the current directory"));
        }
    }
    for (dir, base) in dirs {
        let path = dir.join(file_name);
        if path.is_file() {
            return Ok(path.canonicalize().unwrap_or(path));
        }
        let outcome = if path.exists() {
            "exists but is not a file".to_string()
        } else if dir.is_dir() {
            format!("the folder exists but has no `{file_name}`")
        } else {
            "the folder does not exist".to_string()
        };
        attempts.push(Attempt {
            place: format!("{} (shared data, relative to {base})", path.display()),
            outcome,
        });
    }

    // 3. The Hugging Face hub.
    match hub::fetch(opts) {
        Ok(path) => Ok(path),
        Err(outcome) => {
            attempts.push(Attempt {
                place: format!("Hugging Face hub, dataset {HH_HUB_REPO}, file {HH_HUB_FILE}"),
                outcome,
            });
            Err(DataError::NotFound {
                what,
                attempts,
                hint: HH_HINT.to_string(),
            })
        }
    }
}

/// The file at an explicit `--data` path, or why there is none.
fn explicit_path(path: &Path, file_name: &str) -> Result<PathBuf, String> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    if !path.exists() {
        return Err("does not exist".to_string());
    }
    if !path.is_dir() {
        return Err("is neither a file nor a folder".to_string());
    }
    for name in [file_name, HH_HUB_FILE] {
        let candidate = path.join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(format!(
        "is a folder, but holds neither `{file_name}` nor `{HH_HUB_FILE}`"
    ))
}

/// Whether two paths name the same folder (by canonical path when both exist).
fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(feature = "hub")]
mod hub {
    use std::net::{TcpStream, ToSocketAddrs};
    use std::path::PathBuf;
    use std::sync::mpsc;
    use std::time::Duration;

    use hf_hub::api::sync::ApiBuilder;
    use hf_hub::{Cache, Repo, RepoType};

    use super::{HH_HUB_FILE, HH_HUB_REPO, LocateOptions};

    const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

    /// The hub file (from the cache, or downloaded), or why it could not be had.
    pub(super) fn fetch(opts: &LocateOptions) -> Result<PathBuf, String> {
        let cache = match &opts.cache_dir {
            Some(dir) => Cache::new(dir.clone()),
            None => Cache::from_env(),
        };
        let repo = Repo::new(HH_HUB_REPO.to_string(), RepoType::Dataset);
        if let Some(path) = cache.repo(repo.clone()).get(HH_HUB_FILE) {
            return Ok(path);
        }
        let cache_dir = cache.path().display().to_string();
        if let Some(reason) = &opts.offline {
            return Err(format!(
                "not in the hub cache {cache_dir}, download skipped ({reason})"
            ));
        }
        let endpoint = opts
            .endpoint
            .clone()
            .or_else(|| std::env::var("HF_ENDPOINT").ok())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let (host, port) = proxy_address()
            .or_else(|| host_port(&endpoint))
            .ok_or_else(|| format!("cannot tell host and port from endpoint `{endpoint}`"))?;
        probe(&host, port, opts.connect_timeout)
            .map_err(|e| format!("{endpoint} is unreachable ({host}:{port}: {e})"))?;
        let api = ApiBuilder::from_cache(cache)
            .with_endpoint(endpoint.clone())
            .with_progress(false)
            .build()
            .map_err(|e| format!("cannot set up the hub client: {e}"))?;
        api.repo(repo)
            .get(HH_HUB_FILE)
            .map_err(|e| format!("download from {endpoint} into {cache_dir} failed: {e}"))
    }

    /// Host and port of an `http(s)://host[:port][/...]` URL.
    fn host_port(url: &str) -> Option<(String, u16)> {
        let (scheme, rest) = url.split_once("://")?;
        let default_port = match scheme.to_ascii_lowercase().as_str() {
            "https" => 443,
            "http" => 80,
            "socks5" | "socks5h" | "socks4" => 1080,
            _ => return None,
        };
        let authority = rest.split('/').next()?;
        let authority = authority.rsplit('@').next()?;
        if authority.is_empty() {
            return None;
        }
        if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']')?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().ok()?,
                None => default_port,
            };
            return Some((host.to_string(), port));
        }
        match authority.rsplit_once(':') {
            Some((host, port)) => Some((host.to_string(), port.parse().ok()?)),
            None => Some((authority.to_string(), default_port)),
        }
    }

    /// The proxy the download would go through, if one is configured.
    fn proxy_address() -> Option<(String, u16)> {
        ["ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"]
            .into_iter()
            .filter_map(|var| std::env::var(var).ok())
            .find(|v| !v.trim().is_empty())
            .and_then(|v| {
                let v = if v.contains("://") {
                    v
                } else {
                    format!("http://{v}")
                };
                host_port(&v)
            })
    }

    /// Checks that `host:port` accepts a TCP connection within `timeout`, DNS lookup
    /// included (which runs on a helper thread, since it has no timeout of its own).
    fn probe(host: &str, port: u16, timeout: Duration) -> Result<(), String> {
        let (tx, rx) = mpsc::channel();
        let target = (host.to_string(), port);
        std::thread::Builder::new()
            .name("pref-data-hub-probe".to_string())
            .spawn(move || {
                let result = (|| {
                    let addrs: Vec<_> = target
                        .to_socket_addrs()
                        .map_err(|e| format!("DNS lookup failed: {e}"))?
                        .collect();
                    let mut last = "DNS lookup returned no address".to_string();
                    for addr in addrs {
                        match TcpStream::connect_timeout(&addr, timeout) {
                            Ok(_) => return Ok(()),
                            Err(e) => last = format!("cannot connect to {addr}: {e}"),
                        }
                    }
                    Err(last)
                })();
                // The receiver may have given up already; nothing to do then.
                let _ = tx.send(result);
            })
            .map_err(|e| format!("cannot start the probe thread: {e}"))?;
        match rx.recv_timeout(timeout) {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {timeout:?}")),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn parses_host_and_port() {
            assert_eq!(
                host_port("https://huggingface.co"),
                Some(("huggingface.co".into(), 443))
            );
            assert_eq!(
                host_port("http://u:p@proxy:3128/"),
                Some(("proxy".into(), 3128))
            );
            assert_eq!(
                host_port("https://[::1]:8443/x"),
                Some(("::1".into(), 8443))
            );
            assert_eq!(host_port("ftp://x"), None);
            assert_eq!(host_port("nonsense"), None);
        }
    }
}

#[cfg(not(feature = "hub"))]
mod hub {
    use std::path::PathBuf;

    use super::LocateOptions;

    pub(super) fn fetch(_opts: &LocateOptions) -> Result<PathBuf, String> {
        Err("not tried: pref-data was built without its `hub` feature".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    const DEV_FILE: &str = "harmless-base-dev.jsonl.gz";

    fn project_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn offline() -> LocateOptions {
        LocateOptions::default().offline("offline")
    }

    #[test]
    fn explicit_path_wins() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mine.jsonl");
        std::fs::write(&file, "{}\n").unwrap();
        // A file, even though the shared folder also has data.
        let got = locate_hh_with(Some(&file), &project_root(), DEV_FILE, &offline()).unwrap();
        assert_eq!(got, file);
        // A folder holding the file, by name or at the hub's path.
        std::fs::write(dir.path().join(DEV_FILE), "").unwrap();
        let got = locate_hh_with(Some(dir.path()), &project_root(), DEV_FILE, &offline()).unwrap();
        assert_eq!(got, dir.path().join(DEV_FILE));
        let got = locate_hh_with(Some(dir.path()), &project_root(), "other.jsonl", &offline());
        assert!(got.is_err());
        std::fs::create_dir(dir.path().join("harmless-base")).unwrap();
        std::fs::write(dir.path().join(HH_HUB_FILE), "").unwrap();
        let got =
            locate_hh_with(Some(dir.path()), &project_root(), "other.jsonl", &offline()).unwrap();
        assert_eq!(got, dir.path().join(HH_HUB_FILE));
    }

    #[test]
    fn bad_explicit_path_is_an_error_not_a_fallback() {
        let missing = Path::new("/no/such/hh.jsonl.gz");
        let err = locate_hh_with(Some(missing), &project_root(), DEV_FILE, &offline()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("--data /no/such/hh.jsonl.gz: does not exist"),
            "{msg}"
        );
        assert!(msg.contains("hint: check the --data path"), "{msg}");
    }

    #[test]
    fn shared_dir_found() {
        let got = locate_hh_with(None, &project_root(), DEV_FILE, &offline())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            got.ends_with(Path::new("shared/data/hh-rlhf").join(DEV_FILE)),
            "{got:?}"
        );
        assert!(got.is_file());
    }

    #[test]
    fn failure_names_every_place() {
        let root = tempfile::tempdir().unwrap();
        let project = root.path().join("project");
        std::fs::create_dir(&project).unwrap();
        let cache = root.path().join("hf-cache");
        let opts = offline().with_cache_dir(&cache);
        let start = Instant::now();
        let err = locate_hh_with(None, &project, "nothing-here.jsonl.gz", &opts).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(2));
        let msg = err.to_string();
        println!("{msg}");
        let DataError::NotFound { attempts, .. } = &err else {
            panic!("{err:?}")
        };
        assert!(attempts.len() >= 3, "{attempts:?}");
        assert!(msg.contains("`nothing-here.jsonl.gz`"), "{msg}");
        assert!(msg.contains("1. --data PATH: not given"), "{msg}");
        assert!(
            msg.contains("(shared data, relative to the project root)"),
            "{msg}"
        );
        assert!(
            msg.contains(&project.join(SHARED_HH_DIR).display().to_string()),
            "{msg}"
        );
        assert!(msg.contains("the folder does not exist"), "{msg}");
        assert!(
            msg.contains("Hugging Face hub, dataset Anthropic/hh-rlhf"),
            "{msg}"
        );
        if cfg!(feature = "hub") {
            assert!(msg.contains("download skipped (offline)"), "{msg}");
        }
        assert!(
            msg.contains("hint: download `harmless-base/test.jsonl.gz`"),
            "{msg}"
        );
        assert!(msg.contains("--data"), "{msg}");
    }

    #[cfg(feature = "hub")]
    #[test]
    fn unreachable_hub_fails_fast() {
        let root = tempfile::tempdir().unwrap();
        // Port 9 on localhost: nothing listens there, the connection is refused.
        let opts = LocateOptions::default()
            .with_cache_dir(root.path().join("cache"))
            .with_endpoint("http://127.0.0.1:9")
            .with_connect_timeout(Duration::from_secs(2));
        let start = Instant::now();
        // A name no shared folder holds: the tests run from the repository root, whose
        // `../shared` has the real file (found through the current directory).
        let name = "not-in-any-shared-folder.jsonl.gz";
        let err = locate_hh_with(None, root.path(), name, &opts).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(5));
        let msg = err.to_string();
        assert!(msg.contains("http://127.0.0.1:9 is unreachable"), "{msg}");
    }

    /// Tries the real hub with a short timeout: on a machine without network it must
    /// fail within seconds. Ignored by default: with network it downloads ~700 KB.
    #[cfg(feature = "hub")]
    #[test]
    #[ignore = "uses the network"]
    fn real_hub_fails_fast_or_downloads() {
        let root = tempfile::tempdir().unwrap();
        let opts = LocateOptions::default()
            .with_cache_dir(root.path().join("cache"))
            .with_connect_timeout(Duration::from_secs(3));
        let start = Instant::now();
        match locate_hh_with(None, root.path(), DEV_FILE, &opts) {
            Ok(path) => assert!(path.is_file()),
            Err(e) => {
                println!("{e}");
                assert!(
                    start.elapsed() < Duration::from_secs(6),
                    "{:?}",
                    start.elapsed()
                );
            }
        }
    }
}
