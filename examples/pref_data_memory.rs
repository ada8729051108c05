//! Streaming preference data: peak memory and throughput on a large synthetic JSONL file.
//!
//! Writes a synthetic pairwise JSON Lines file of `--size-mb` MB (plain strings and
//! conversations, some soft labels and margins), then streams it through
//! `JsonlReader` → `PreferencePair` → `PairChunks` (chat template + tokenisation, a chunk of
//! `--chunk` records at a time) → `PairBatches` (length-grouped padded batches of each chunk,
//! collated to tensors for the first `--collate` chunks), keeping nothing but counters. It
//! prints records/s, MB/s, tokens, the tokenisation report and the peak resident set size
//! (`VmHWM` of `/proc/self/status`) before and after streaming: the peak stays near the
//! chunk's size, not the file's.
//!
//! Measured on the 2-core development machine (shared with other builds, load ≈ 8): a
//! 1000 MB file of 873,739 pairs streamed in 739 s (1,183 records/s, 1.4 MB/s, 0.35 M
//! tokens/s; the Hugging Face tokenizer's encoding dominates) with a peak RSS of 27.4 MB
//! (11.1 MB before streaming).
//!
//! ```text
//! cargo run --release --example pref_data_memory                   # 1 GB file in /tmp
//! cargo run --release --example pref_data_memory -- --size-mb 4096 --path /tmp/big.jsonl
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::Device;
use clap::Parser;

#[path = "common/bench.rs"]
mod bench;
use lm::tokenizer::{SpecialTokens, Tokenizer};
use pref_data::{
    BatchConfig, BatchSource, ChatTemplate, JsonlReader, Message, PairBatches, PairChunks,
    PreferencePair, Text, TokenizeConfig,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

#[derive(Parser, Debug)]
#[command(about = "Peak memory and throughput of streaming preference data")]
struct Args {
    /// Size of the synthetic file in MB (10^6 bytes).
    #[arg(long, default_value_t = 1000)]
    size_mb: u64,
    /// Where to write it.
    #[arg(long, default_value = "/tmp/pref_data_memory.jsonl")]
    path: PathBuf,
    /// Reuse an existing file at `--path` instead of writing one.
    #[arg(long)]
    reuse: bool,
    /// Keep the file afterwards.
    #[arg(long)]
    keep: bool,
    /// Records per tokenisation chunk.
    #[arg(long, default_value_t = 4096)]
    chunk: usize,
    /// Collate the batches of this many chunks to tensors (collation costs time, not memory).
    #[arg(long, default_value_t = 4)]
    collate: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

const WORDS: [&str; 24] = [
    "the",
    "model",
    "answer",
    "question",
    "because",
    "data",
    "preference",
    "human",
    "helpful",
    "harmless",
    "reward",
    "policy",
    "a",
    "is",
    "of",
    "and",
    "to",
    "in",
    "why",
    "how",
    "please",
    "explain",
    "briefly",
    "example",
];

fn sentence(rng: &mut StdRng, words: usize) -> String {
    let mut s = String::with_capacity(words * 7);
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(WORDS[rng.random_range(0..WORDS.len())]);
        if rng.random_range(0..12) == 0 {
            s.push_str(&rng.random_range(0..10_000u32).to_string());
        }
    }
    s
}

fn synthetic_pair(rng: &mut StdRng) -> PreferencePair {
    let n = rng.random_range(20..120);
    let prompt = sentence(rng, n);
    let n = rng.random_range(10..80);
    let chosen = sentence(rng, n);
    let n = rng.random_range(10..80);
    let rejected = sentence(rng, n);
    let mut pair = if rng.random_range(0..2) == 0 {
        PreferencePair::new(prompt, format!(" {chosen}"), format!(" {rejected}"))
    } else {
        PreferencePair::new(
            Text::Chat(vec![
                Message::new("system", "Be helpful."),
                Message::new("user", prompt),
            ]),
            Text::Chat(vec![Message::new("assistant", chosen)]),
            Text::Chat(vec![Message::new("assistant", rejected)]),
        )
    };
    if rng.random_range(0..4) == 0 {
        pair.p_chosen = rng.random_range(0.5..1.0);
    }
    if rng.random_range(0..4) == 0 {
        pair.margin = Some(rng.random_range(0.0..3.0));
    }
    pair
}

/// Peak and current resident set size in MiB, from `/proc/self/status`.
fn rss_mb() -> (f64, f64) {
    let field = |key| bench::status_mib(key).unwrap_or(f64::NAN);
    (field("VmHWM:"), field("VmRSS:"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let target = args.size_mb * 1_000_000;

    if !(args.reuse && args.path.is_file()) {
        let t0 = Instant::now();
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&args.path)?);
        let (mut bytes, mut n) = (0u64, 0u64);
        while bytes < target {
            let line = serde_json::to_string(&synthetic_pair(&mut rng))?;
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
            bytes += line.len() as u64 + 1;
            n += 1;
        }
        out.flush()?;
        let s = t0.elapsed().as_secs_f64();
        println!(
            "wrote {n} records, {:.0} MB, to {} in {s:.1} s",
            bytes as f64 / 1e6,
            args.path.display()
        );
    }
    let file_mb = std::fs::metadata(&args.path)?.len() as f64 / 1e6;

    // A small BPE tokenizer trained on the vocabulary of the generator.
    let corpus: Vec<String> = (0..2000).map(|_| sentence(&mut rng, 40)).collect();
    let mut corpus = corpus;
    corpus.push("system: user: assistant: Be helpful.".into());
    let tokenizer = Tokenizer::train_bpe_from_iter(&corpus, 1024, &SpecialTokens::default(), 2)?;

    let (peak_before, rss_before) = rss_mb();
    println!(
        "before streaming: peak RSS {peak_before:.1} MB, RSS {rss_before:.1} MB (file {file_mb:.0} MB)"
    );

    let cfg = TokenizeConfig {
        max_prompt_len: 256,
        max_completion_len: 128,
        ..Default::default()
    };
    let batch_cfg = BatchConfig {
        batch_size: 16,
        ..Default::default()
    };
    let device = Device::flex();
    let t0 = Instant::now();
    let reader = JsonlReader::<PreferencePair>::open_as(&args.path)?;
    let mut chunks = PairChunks::new(
        reader.map(|r| r.map(|(_, p)| p)),
        &tokenizer,
        ChatTemplate::Plain,
        &cfg,
        args.chunk,
    )?;
    let (mut tokens, mut padding, mut batches, mut collated) = (0usize, 0usize, 0usize, 0usize);
    let mut n_chunks = 0usize;
    let mut records = 0usize;
    for chunk in &mut chunks {
        let (pairs, chunk_report) = chunk?;
        records += chunk_report.records;
        let source = PairBatches::new(pairs, tokenizer.pad_id(), &batch_cfg)?;
        tokens += source.tokens();
        padding += source.padding_tokens();
        batches += source.len();
        if n_chunks < args.collate {
            for i in 0..source.len() {
                let b = source.batch(i, &device);
                collated += b.num_pairs();
            }
        }
        n_chunks += 1;
        if n_chunks.is_multiple_of(100) {
            let (peak, rss) = rss_mb();
            let s = t0.elapsed().as_secs_f64();
            eprintln!(
                "  {records} records, {:.0} rec/s, peak RSS {peak:.1} MB, RSS {rss:.1} MB",
                records as f64 / s
            );
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let report = chunks.report().clone();
    let (peak, rss) = rss_mb();
    println!("{report}");
    println!(
        "streamed {file_mb:.0} MB in {secs:.1} s: {:.0} records/s, {:.1} MB/s, {:.2} M tokens/s \
         ({tokens} tokens in chosen+rejected rows, {batches} batches, padding {:.1}% of padded \
         tokens, {collated} pairs collated to tensors)",
        report.records as f64 / secs,
        file_mb / secs,
        tokens as f64 / secs / 1e6,
        100.0 * padding as f64 / (tokens + padding) as f64,
    );
    println!(
        "peak RSS {peak:.1} MB (before streaming {peak_before:.1} MB), RSS now {rss:.1} MB; \
         chunk {} records",
        args.chunk
    );
    if !args.keep && !args.reuse {
        std::fs::remove_file(&args.path)?;
    }
    Ok(())
}
