fn rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
        .collect::<Vec<_>>()
        .join(" ")
}
fn main() {
    rlhf_core::allocator::tune_for_training();
    let path = std::path::Path::new(".cache/gemma3/gemma-3-270m-q4_k_m.gguf");
    println!("start {}", rss());
    let dev = lm::select_device().unwrap().autodiff();
    let model = lm::checkpoint::load_gemma3_gguf(path, &dev).unwrap();
    println!("model {}", rss());
    let file = gguf::GgufFile::open(path).unwrap();
    println!("file {}", rss());
    let tok = lm::gguf_tokenizer::tokenizer_from_gguf(&file).unwrap();
    println!("tokenizer {}", rss());
    drop(file);
    println!("file dropped {}", rss());
    drop(tok);
    println!("tok dropped {}", rss());
    drop(model);
    println!("model dropped {}", rss());
}
