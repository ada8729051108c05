//! Streaming tokenisation: pairs read lazily (e.g. from a multi-gigabyte JSON Lines file)
//! are tokenised a chunk at a time, so neither the file nor its records are ever all in
//! memory.

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
/// numbers in errors) count records from the start of the stream. A read error from the
/// source (`Err(e)`) is passed through as `Err` after the records before it are yielded,
/// and the iteration goes on with the next record.
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
    next_record: usize,
    report: TokenizeReport,
    pending_error: Option<PairChunkError>,
    done: bool,
}

/// An error of a [`PairChunks`] stream: a tokenisation error, or the source's own.
#[derive(Debug, thiserror::Error)]
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
    /// Streams `source` in chunks of `chunk_size` (≥ 1) records.
    pub fn new(
        source: I,
        tokenizer: &'a Tokenizer,
        template: ChatTemplate,
        cfg: &'a TokenizeConfig,
        chunk_size: usize,
    ) -> Result<Self, TokenizeError> {
        if chunk_size == 0 {
            return Err(TokenizeError::InvalidConfig {
                field: "chunk_size",
                expected: "at least 1".into(),
                got: "0".into(),
            });
        }
        Ok(Self {
            source,
            encoder: Encoder::new(tokenizer, cfg)?,
            template,
            chunk_size,
            next_record: 0,
            report: TokenizeReport::default(),
            pending_error: None,
            done: false,
        })
    }

    /// Running totals over the chunks yielded so far.
    pub fn report(&self) -> &TokenizeReport {
        &self.report
    }
}

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
        if self.done {
            return None;
        }
        let mut out = Vec::with_capacity(self.chunk_size);
        let mut report = TokenizeReport::default();
        let mut seen = 0;
        while seen < self.chunk_size {
            let Some(item) = self.source.next() else {
                self.done = true;
                break;
            };
            let record = self.next_record;
            self.next_record += 1;
            seen += 1;
            let result = match item {
                Ok(pair) => {
                    tokenize_pair(&self.encoder, &pair, record, &self.template, &mut report)
                        .map_err(PairChunkError::from)
                }
                Err(e) => Err(PairChunkError::Source {
                    record,
                    message: e.to_string(),
                }),
            };
            match result {
                Ok(Some(p)) => out.push(p),
                Ok(None) => {}
                Err(e) => {
                    self.pending_error = Some(e);
                    break;
                }
            }
        }
        if seen == 0 || (out.is_empty() && report.records == 0) {
            return self.pending_error.take().map(Err);
        }
        self.report.merge(&report);
        Some(Ok((out, report)))
    }
}
