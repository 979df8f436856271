//! The CLIP tokenizer against transformers' `CLIPTokenizer` on the committed tiny vocabulary
//! (`tests/fixtures/`, made by `parity/make_fixtures.py`): the same BPE tokens and the same
//! padded ids for every golden prompt, with SD 1.x and SD 2.x padding.

// Test helpers fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use engine::tokenizer::{BPE_CACHE_ENTRIES, ClipTokenizer};
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
fn the_merge_cache_stays_bounded_whatever_prompts_arrive() {
    // Every distinct word users send must not stay in memory for good. Words of letters only:
    // digits are pre-tokens of their own.
    let letters = |mut n: usize| -> String {
        let mut word = String::from("zq");
        while n > 0 {
            word.push(char::from(b'a' + u8::try_from(n % 26).unwrap()));
            n /= 26;
        }
        word
    };
    let tokenizer = ClipTokenizer::from_dir(&fixtures().join("tiny-sd1/tokenizer")).unwrap();
    let first = tokenizer.tokenize("a photo of a penguin");
    let mut most = 0;
    for batch in 0..(BPE_CACHE_ENTRIES / 500 + 4) {
        let prompt: Vec<String> = (0..500).map(|i| letters(batch * 500 + i + 1)).collect();
        assert!(tokenizer.tokenize(&prompt.join(" ")).len() >= prompt.len());
        most = most.max(tokenizer.cached_words());
        assert!(most <= BPE_CACHE_ENTRIES, "{most} cached");
    }
    assert!(most > BPE_CACHE_ENTRIES - 500, "the cache filled ({most}) before starting over");
    assert!(tokenizer.cached_words() < most);
    let before = tokenizer.cached_words();
    let long_word = "q".repeat(5_000);
    assert!(tokenizer.tokenize(&long_word).len() > 1);
    assert_eq!(tokenizer.cached_words(), before, "a 5,000-letter word is not cached");
    assert_eq!(tokenizer.tokenize("a photo of a penguin"), first, "results do not depend on the cache");
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
