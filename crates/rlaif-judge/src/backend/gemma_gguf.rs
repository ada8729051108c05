//! [`LocalModel`] over Gemma 3 read from a GGUF file (e.g. Gemma 3 270M,
//! `scripts/fetch-gemma3.sh`), the local judge model of the RLAIF example.

use std::path::Path;

use burn::tensor::Device;
use lm::Gemma3;
use pref_data::{ChatTemplate, JinjaTemplate};

use super::{BackendError, LocalModel};

/// The GGUF metadata key of the chat template.
const CHAT_TEMPLATE_KEY: &str = "tokenizer.chat_template";

impl LocalModel<Gemma3> {
    /// Gemma 3 from the GGUF file at `path` on `device`: the weights (quantised tensors
    /// dequantised to f32, [`lm::checkpoint::load_gemma3_gguf`]), the tokenizer rebuilt
    /// from the file's metadata ([`lm::gguf_tokenizer`]), BOS prepended when the file says
    /// so, and the file's chat template (`tokenizer.chat_template`, rendered by
    /// `pref-data`'s [`JinjaTemplate`]) when it has one. The model is named after the
    /// file.
    pub fn gemma3_gguf(path: &Path, device: &Device) -> Result<Self, BackendError> {
        let name = path.file_stem().map_or_else(
            || "gemma3".to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        let fail = |message: String| BackendError::Model {
            model: name.clone(),
            message: format!("{}: {message}", path.display()),
        };
        let file = gguf::GgufFile::open(path).map_err(|e| fail(e.to_string()))?;
        let tokenizer =
            lm::gguf_tokenizer::tokenizer_from_gguf(&file).map_err(|e| fail(e.to_string()))?;
        let add_bos = lm::gguf_tokenizer::add_bos_token(&file).map_err(|e| fail(e.to_string()))?;
        let template = match file.get(CHAT_TEMPLATE_KEY) {
            None => ChatTemplate::Plain,
            Some(_) => {
                let source = file
                    .get_str(CHAT_TEMPLATE_KEY)
                    .map_err(|e| fail(e.to_string()))?;
                let special = tokenizer.special_tokens();
                let tokens = [
                    ("bos_token", special.bos.clone()),
                    ("eos_token", special.eos.clone()),
                ];
                let origin = format!("{} ({CHAT_TEMPLATE_KEY})", path.display());
                let t =
                    JinjaTemplate::new(source, tokens, origin).map_err(|e| fail(e.to_string()))?;
                ChatTemplate::Jinja(std::sync::Arc::new(t))
            }
        };
        drop(file);
        let model =
            lm::checkpoint::load_gemma3_gguf(path, device).map_err(|e| fail(e.to_string()))?;
        Ok(LocalModel::new(name, model, tokenizer, device.clone())
            .with_template(template)
            .with_bos(add_bos))
    }
}
