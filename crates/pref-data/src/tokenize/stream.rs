//! Streaming tokenisation: pairs read lazily (e.g. from a multi-gigabyte JSON Lines file)
//! are tokenised a chunk at a time, so neither the file nor its records are ever all in
//! memory.

use rlhf_core::ConfigError;
use std::collections::VecDeque;

use lm::tokenizer::Tokenizer;

use super::pairs::tokenize_pair;
use super::{Encoder, TokenizeConfig, TokenizeError, TokenizeReport};
use crate::batch::TokenizedPair;
use crate::record::PreferencePair;
use crate::template::ChatTemplate;

/// An iterator over chunks of tokenised pairs, read from an iterator of pairs.
///
/// Each item is one chunk of up to `chunk_size` input records, tokenised, with the report
/// of that chunk; [`PairChunks::report`] holds the running total. `group` (and record
/// numbers in errors) count records from the start of the stream. An error (the source's
/// `Err(e)`, or a record that fails to tokenise) is yielded as `Err` after the records
/// before it, and the iteration can go on with the next record. Each chunk is tokenised on
/// several threads ([`PairChunks::threads`]); the output is the same for any number.
///
/// ```no_run
/// use pref_data::{JsonlReader, PreferencePair, ChatTemplate, TokenizeConfig, PairChunks};
/// # fn tok() -> lm::tokenizer::Tokenizer { unimplemented!() }
/// let tokenizer = tok();
/// let reader = JsonlReader::<PreferencePair>::open_as("pairs.jsonl")?;
/// let cfg = TokenizeConfig::default();
/// let mut chunks = PairChunks::new(reader.map(|r| r.map(|(_, p)| p)), &tokenizer,
///                                  ChatTemplate::Plain, &cfg, 4096)?;
/// for chunk in &mut chunks {
///     let (pairs, _report) = chunk.map_err(|e| e.to_string())?;
///     // ... write `pairs` out, or batch them ...
/// }
/// println!("{}", chunks.report());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PairChunks<'a, I> {
    source: I,
    encoder: Encoder<'a>,
    template: ChatTemplate,
    chunk_size: usize,
    threads: usize,
    next_record: usize,
    report: TokenizeReport,
    /// Records read but not yet tokenised (after an error cut a chunk short), and source
    /// errors, in stream order, with their record numbers.
    queue: VecDeque<(usize, Result<PreferencePair, String>)>,
    pending_error: Option<PairChunkError>,
    done: bool,
}

/// An error of a [`PairChunks`] stream: a tokenisation error, or the source's own.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PairChunkError {
    /// Tokenisation failed on a record.
    #[error(transparent)]
    Tokenize(#[from] TokenizeError),
    /// The source failed to produce record `record`.
    #[error("record #{record}: {message}")]
    Source {
        /// Index of the record in the stream.
        record: usize,
        /// The source's error, as text.
        message: String,
    },
}

impl<'a, I, E> PairChunks<'a, I>
where
    I: Iterator<Item = Result<PreferencePair, E>>,
    E: std::fmt::Display,
{
    /// Streams `source` in chunks of `chunk_size` (≥ 1) records, tokenising each chunk on
    /// as many threads as the machine has cores (see [`threads`](Self::threads)).
    pub fn new(
        source: I,
        tokenizer: &'a Tokenizer,
        template: ChatTemplate,
        cfg: &'a TokenizeConfig,
        chunk_size: usize,
    ) -> Result<Self, TokenizeError> {
        if chunk_size == 0 {
            return Err(ConfigError::new("chunk_size", "at least 1", 0).into());
        }
        Ok(Self {
            source,
            encoder: Encoder::new(tokenizer, cfg)?,
            template,
            chunk_size,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            next_record: 0,
            report: TokenizeReport::default(),
            queue: VecDeque::new(),
            pending_error: None,
            done: false,
        })
    }

    /// Tokenises each chunk on `threads` (≥ 1) threads, in contiguous slices. The output
    /// does not depend on it.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Running totals over the chunks yielded so far.
    pub fn report(&self) -> &TokenizeReport {
        &self.report
    }

    /// Reads from the source until the queue holds a chunk or the source ends.
    fn fill(&mut self) {
        while !self.done && self.queue.len() < self.chunk_size {
            match self.source.next() {
                Some(item) => {
                    let record = self.next_record;
                    self.next_record += 1;
                    self.queue
                        .push_back((record, item.map_err(|e| e.to_string())));
                }
                None => self.done = true,
            }
        }
    }
}

/// What one thread made of its slice: the pairs and report of the records before its first
/// error, and that error with its position in the slice.
type SliceOutcome = (
    Vec<TokenizedPair>,
    TokenizeReport,
    Option<(usize, TokenizeError)>,
);

impl<I, E> Iterator for PairChunks<'_, I>
where
    I: Iterator<Item = Result<PreferencePair, E>>,
    E: std::fmt::Display,
{
    type Item = Result<(Vec<TokenizedPair>, TokenizeReport), PairChunkError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.pending_error.take() {
            return Some(Err(e));
        }
        self.fill();
        // The longest run of records at the front of the queue, up to a chunk.
        let mut batch: Vec<(usize, PreferencePair)> = Vec::with_capacity(self.chunk_size);
        while batch.len() < self.chunk_size {
            match self.queue.front() {
                Some((_, Ok(_))) => {
                    let Some((record, Ok(pair))) = self.queue.pop_front() else {
                        unreachable!("front is a record")
                    };
                    batch.push((record, pair));
                }
                Some((record, Err(message))) => {
                    if batch.is_empty() {
                        let e = PairChunkError::Source {
                            record: *record,
                            message: message.clone(),
                        };
                        self.queue.pop_front();
                        return Some(Err(e));
                    }
                    break;
                }
                None => break,
            }
        }
        if batch.is_empty() {
            return None;
        }
        let per_thread = batch.len().div_ceil(self.threads);
        let (encoder, template) = (&self.encoder, &self.template);
        let tokenize_slice = |slice: &[(usize, PreferencePair)]| -> SliceOutcome {
            let mut out = Vec::with_capacity(slice.len());
            let mut report = TokenizeReport::default();
            for (i, (record, pair)) in slice.iter().enumerate() {
                match tokenize_pair(encoder, pair, *record, template, &mut report) {
                    Ok(Some(p)) => out.push(p),
                    Ok(None) => {}
                    Err(e) => return (out, report, Some((i, e))),
                }
            }
            (out, report, None)
        };
        let outcomes: Vec<SliceOutcome> = if per_thread >= batch.len() {
            vec![tokenize_slice(&batch)]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = batch
                    .chunks(per_thread)
                    .map(|slice| scope.spawn(move || tokenize_slice(slice)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("tokenisation thread panicked"))
                    .collect()
            })
        };
        let mut pairs = Vec::with_capacity(batch.len());
        let mut report = TokenizeReport::default();
        for (t, (p, r, err)) in outcomes.into_iter().enumerate() {
            pairs.extend(p);
            report.merge(&r);
            if let Some((i, e)) = err {
                // Records after the failing one go back to the queue, in order.
                let failed = t * per_thread + i;
                for item in batch.drain(failed + 1..).rev() {
                    self.queue.push_front((item.0, Ok(item.1)));
                }
                if pairs.is_empty() && report.records == 0 {
                    return Some(Err(e.into()));
                }
                self.pending_error = Some(e.into());
                break;
            }
        }
        self.report.merge(&report);
        Some(Ok((pairs, report)))
    }
}
