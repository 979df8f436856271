//! The CLIP tokenizer against transformers' `CLIPTokenizer` on the committed tiny vocabulary
//! (`tests/fixtures/`, made by `parity/make_fixtures.py`): the same BPE tokens and the same
//! padded ids for every golden prompt, with SD 1.x and SD 2.x padding.

// Test helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use engine::tokenizer::ClipTokenizer;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn golden() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("tokenizer_golden.json")).unwrap()).unwrap()
}

fn check(tokenizer: &ClipTokenizer, style: &str) {
    let golden = golden();
    let prompts = golden["prompts"].as_array().unwrap();
    assert!(prompts.len() >= 10);
    for (i, prompt) in prompts.iter().enumerate() {
        let prompt = prompt.as_str().unwrap();
        let tokens: Vec<String> = serde_json::from_value(golden[style]["tokens"][i].clone()).unwrap();
        assert_eq!(tokenizer.tokenize(prompt), tokens, "{style} tokens of {prompt:?}");
        let ids: Vec<u32> = serde_json::from_value(golden[style]["input_ids"][i].clone()).unwrap();
        assert_eq!(tokenizer.encode(prompt), ids, "{style} ids of {prompt:?}");
    }
}

#[test]
fn sd1_tokens_and_padded_ids_match_transformers() {
    let tokenizer = ClipTokenizer::from_dir(&fixtures().join("tiny-sd1/tokenizer")).unwrap();
    assert_eq!(tokenizer.max_length(), 77);
    check(&tokenizer, "sd1");
}

#[test]
fn sd2_padding_with_an_exclamation_mark_matches_transformers() {
    // The SD2-style model's folder names "!" as its pad token.
    check(&ClipTokenizer::from_dir(&fixtures().join("tiny-sd2/tokenizer")).unwrap(), "sd2");
    let dir = fixtures().join("tiny-sd1/tokenizer");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let tokenizer = ClipTokenizer::from_parts(&read("vocab.json"), &read("merges.txt"), "!", 77).unwrap();
    check(&tokenizer, "sd2");
}

#[test]
fn a_missing_or_corrupt_tokenizer_folder_is_a_clear_error() {
    let missing = ClipTokenizer::from_dir(&fixtures().join("no-such-model/tokenizer")).unwrap_err();
    assert!(
        missing.to_string().starts_with("cannot read ") && missing.to_string().contains("vocab.json"),
        "{missing}"
    );
    let corrupt = ClipTokenizer::from_parts("{\"a\": 1}", "#version: 0.2\n", "!", 77).unwrap_err();
    assert_eq!(corrupt.0, "vocab");
    assert!(corrupt.1.contains("<|startoftext|>"), "{}", corrupt.1);
}
