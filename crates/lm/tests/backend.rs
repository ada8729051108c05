//! The suites run on the backend `RLHF_DEVICE` names (scripts/test-wgpu.sh, test-tch.sh).

mod common;

#[test]
fn suites_run_on_the_requested_backend() {
    let dev = common::device();
    let name = format!("{dev:?}").to_ascii_lowercase();
    println!("lm test device: {dev:?}");
    match std::env::var("RLHF_DEVICE")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "" | "flex" | "cpu" => assert!(name.contains("flex"), "{name}"),
        "wgpu" => assert!(name.contains("wgpu"), "{name}"),
        "tch" | "libtorch" | "tch-cuda" => assert!(name.contains("torch"), "{name}"),
        "cuda" => assert!(name.contains("cuda"), "{name}"),
        other => panic!("unknown RLHF_DEVICE {other}"),
    }
}
