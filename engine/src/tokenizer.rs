//! The CLIP BPE tokenizer, as transformers' `CLIPTokenizer` runs it for diffusers pipelines:
//! `tokenizer(prompt, padding="max_length", max_length=77, truncation=True)`.
//!
//! The steps, in its order: split the text on the special tokens (kept whole); clean each piece
//! the way its `BasicTokenizer` does when `ftfy` is absent (drop control and format characters,
//! turn whitespace into spaces, space out CJK ideographs, NFC, split on whitespace, lower-case);
//! cut with CLIP's pattern; map every UTF-8 byte to its printable stand-in; apply the merges by
//! rank; look the pieces up (unknown → `<|endoftext|>`). Then `<|startoftext|>` + at most
//! `max_length - 2` ids + `<|endoftext|>`, padded with the model's pad token (SD 1.x pads with
//! `<|endoftext|>`, SD 2.x with `!`).

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Mutex,
};

use regex::Regex;
use unicode_general_category::{GeneralCategory, get_general_category};
use unicode_normalization::UnicodeNormalization;

/// The start-of-text token.
pub const BOS: &str = "<|startoftext|>";
/// The end-of-text token (also the unknown token, and SD 1.x's padding).
pub const EOS: &str = "<|endoftext|>";
/// CLIP's context length.
pub const DEFAULT_MAX_LENGTH: usize = 77;

/// CLIP's pre-tokenising pattern (transformers compiles it with `re.IGNORECASE`).
const PATTERN: &str =
    r"(?i)<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+";

/// Why a tokenizer could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not what a CLIP tokenizer needs.
    #[error("{path} is not a valid CLIP tokenizer file: {why}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

/// A loaded CLIP tokenizer.
#[derive(Debug)]
pub struct ClipTokenizer {
    encoder: HashMap<String, u32>,
    ranks: HashMap<(String, String), usize>,
    byte_encoder: [char; 256],
    pattern: Regex,
    /// Special tokens, longest first: the text is split on them before anything else.
    specials: Vec<(String, u32)>,
    bos: u32,
    eos: u32,
    pad: u32,
    max_length: usize,
    /// Merges of recently seen pre-tokens. Prompts come from users, so it is bounded (no account can
    /// grow it for good): at most [`BPE_CACHE_ENTRIES`] words of at most [`BPE_CACHE_TOKEN_CHARS`] characters.
    cache: Mutex<HashMap<String, Vec<String>>>,
}

/// The most pre-tokens the merge cache holds; when full it starts over, which costs one BPE
/// run per word (microseconds) and keeps its memory under a few MiB whatever prompts arrive.
pub const BPE_CACHE_ENTRIES: usize = 16_384;
/// Longer pre-tokens are merged every time: real words are short, and a long run of letters
/// is what someone filling the cache would send.
pub const BPE_CACHE_TOKEN_CHARS: usize = 32;

/// GPT-2/CLIP's byte → character table: printable bytes stand for themselves, the others are
/// moved above U+00FF, so every byte string becomes a string without spaces or controls.
fn bytes_to_unicode() -> [char; 256] {
    let printable =
        |b: u32| (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b);
    let mut table = ['\0'; 256];
    let mut next = 256;
    for (byte, slot) in table.iter_mut().enumerate() {
        let byte = u32::try_from(byte).unwrap_or_default();
        let code = if printable(byte) {
            byte
        } else {
            next += 1;
            next - 1
        };
        *slot = char::from_u32(code).unwrap_or('\0');
    }
    table
}

fn is_cjk(c: char) -> bool {
    matches!(u32::from(c),
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

/// BERT's `_is_control`: any "C*" category except tab, newline and carriage return.
fn is_control(c: char) -> bool {
    if matches!(c, '\t' | '\n' | '\r') {
        return false;
    }
    matches!(
        get_general_category(c),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::Unassigned
            | GeneralCategory::PrivateUse
            | GeneralCategory::Surrogate
    )
}

/// BERT's `_is_whitespace`: space, tab, newline, carriage return, or a space separator.
fn is_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r') || get_general_category(c) == GeneralCategory::SpaceSeparator
}

/// transformers' `BasicTokenizer(strip_accents=False, do_split_on_punc=False)`, joined with
/// spaces, as `CLIPTokenizer._tokenize` uses it when `ftfy` is not installed.
fn basic_clean(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\0' || c == '\u{FFFD}' || is_control(c) {
            continue;
        }
        if is_whitespace(c) {
            cleaned.push(' ');
        } else if is_cjk(c) {
            cleaned.push(' ');
            cleaned.push(c);
            cleaned.push(' ');
        } else {
            cleaned.push(c);
        }
    }
    let normalized: String = cleaned.nfc().collect();
    normalized.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>().join(" ")
}

fn read(path: &Path) -> Result<String, TokenizerError> {
    std::fs::read_to_string(path).map_err(|source| TokenizerError::Read { path: path.to_owned(), source })
}

/// The `content` of a special token in `special_tokens_map.json` (a string or `{"content": …}`).
fn token_content(value: &serde_json::Value) -> Option<String> {
    value.as_str().or_else(|| value.get("content").and_then(|c| c.as_str())).map(str::to_owned)
}

impl ClipTokenizer {
    /// Loads a diffusers `tokenizer/` folder: `vocab.json`, `merges.txt`, and the pad token and
    /// `model_max_length` from `special_tokens_map.json` / `tokenizer_config.json` when present.
    ///
    /// # Errors
    /// A missing or malformed file, named.
    pub fn from_dir(dir: &Path) -> Result<Self, TokenizerError> {
        let config_path = dir.join("tokenizer_config.json");
        let config: serde_json::Value = match std::fs::read_to_string(&config_path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| TokenizerError::Invalid { path: config_path.clone(), why: e.to_string() })?,
            Err(_) => serde_json::Value::Null,
        };
        let specials_path = dir.join("special_tokens_map.json");
        let specials: serde_json::Value = match std::fs::read_to_string(&specials_path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| TokenizerError::Invalid { path: specials_path.clone(), why: e.to_string() })?,
            Err(_) => serde_json::Value::Null,
        };
        let pad = token_content(&specials["pad_token"])
            .or_else(|| token_content(&config["pad_token"]))
            .unwrap_or_else(|| EOS.to_owned());
        let max_length = config["model_max_length"]
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| (2..=DEFAULT_MAX_LENGTH * 64).contains(n))
            .unwrap_or(DEFAULT_MAX_LENGTH);
        let vocab_path = dir.join("vocab.json");
        let merges_path = dir.join("merges.txt");
        Self::from_parts(&read(&vocab_path)?, &read(&merges_path)?, &pad, max_length).map_err(
            |(file, why)| TokenizerError::Invalid {
                path: if file == "vocab" { vocab_path } else { merges_path },
                why,
            },
        )
    }

    /// A tokenizer from the text of `vocab.json` and `merges.txt`, padding with `pad_token`.
    ///
    /// # Errors
    /// Which file (`"vocab"` or `"merges"`) is malformed, and why.
    pub fn from_parts(
        vocab_json: &str,
        merges_txt: &str,
        pad_token: &str,
        max_length: usize,
    ) -> Result<Self, (&'static str, String)> {
        let encoder: HashMap<String, u32> =
            serde_json::from_str(vocab_json).map_err(|e| ("vocab", e.to_string()))?;
        let id = |token: &str| {
            encoder.get(token).copied().ok_or(("vocab", format!("no {token:?} in the vocabulary")))
        };
        let (bos, eos, pad) = (id(BOS)?, id(EOS)?, id(pad_token)?);
        // As transformers: the first line is a version header, and at most 49152 - 256 - 2 merges count.
        let mut ranks = HashMap::new();
        for (rank, line) in merges_txt.trim().lines().skip(1).take(49_152 - 256 - 2).enumerate() {
            let mut parts = line.split(' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(a), Some(b), None) if !a.is_empty() && !b.is_empty() => {
                    // A repeated merge keeps its later rank, as Python's dict(zip(…)) does.
                    ranks.insert((a.to_owned(), b.to_owned()), rank);
                }
                _ => return Err(("merges", format!("line {} is not two symbols: {line:?}", rank + 2))),
            }
        }
        let mut specials: Vec<(String, u32)> =
            [BOS, EOS, pad_token].into_iter().map(|t| (t.to_owned(), encoder[t])).collect();
        specials.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        specials.dedup();
        Ok(Self {
            encoder,
            ranks,
            byte_encoder: bytes_to_unicode(),
            pattern: Regex::new(PATTERN).map_err(|e| ("vocab", e.to_string()))?,
            specials,
            bos,
            eos,
            pad,
            max_length,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The context length ids are padded or cut to.
    #[must_use]
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// The merges of one pre-token (already in byte stand-ins), lowest rank first.
    fn bpe(&self, token: &str) -> Vec<String> {
        if let Ok(cache) = self.cache.lock()
            && let Some(hit) = cache.get(token)
        {
            return hit.clone();
        }
        let mut word: Vec<String> = token.chars().map(String::from).collect();
        if let Some(last) = word.last_mut() {
            last.push_str("</w>");
        }
        while word.len() > 1 {
            let best = word
                .windows(2)
                .filter_map(|pair| {
                    self.ranks.get(&(pair[0].clone(), pair[1].clone())).map(|rank| (*rank, pair))
                })
                .min_by_key(|(rank, _)| *rank)
                .map(|(_, pair)| (pair[0].clone(), pair[1].clone()));
            let Some((first, second)) = best else { break };
            let mut merged = Vec::with_capacity(word.len());
            let mut i = 0;
            while i < word.len() {
                if i + 1 < word.len() && word[i] == first && word[i + 1] == second {
                    merged.push(format!("{first}{second}"));
                    i += 2;
                } else {
                    merged.push(word[i].clone());
                    i += 1;
                }
            }
            word = merged;
        }
        if token.chars().count() <= BPE_CACHE_TOKEN_CHARS
            && let Ok(mut cache) = self.cache.lock()
        {
            if cache.len() >= BPE_CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(token.to_owned(), word.clone());
        }
        word
    }

    /// How many pre-tokens the merge cache holds now (at most [`BPE_CACHE_ENTRIES`]).
    #[must_use]
    pub fn cached_words(&self) -> usize {
        self.cache.lock().map_or(0, |cache| cache.len())
    }

    /// The text split at special tokens: `(piece, Some(id))` for a special token.
    fn split_specials<'t>(&self, text: &'t str) -> Vec<(&'t str, Option<u32>)> {
        let mut pieces = Vec::new();
        let mut rest = text;
        let mut plain_start = 0;
        let mut offset = 0;
        while !rest.is_empty() {
            if let Some((token, id)) =
                self.specials.iter().find(|(token, _)| rest.starts_with(token.as_str()))
            {
                if plain_start < offset {
                    pieces.push((&text[plain_start..offset], None));
                }
                pieces.push((&text[offset..offset + token.len()], Some(*id)));
                offset += token.len();
                plain_start = offset;
            } else {
                offset += rest.chars().next().map_or(1, char::len_utf8);
            }
            rest = &text[offset..];
        }
        if plain_start < text.len() {
            pieces.push((&text[plain_start..], None));
        }
        pieces
    }

    /// The BPE tokens of `text`, without special tokens added.
    #[must_use]
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        let mut tokens = Vec::new();
        for (piece, special) in self.split_specials(text) {
            if special.is_some() {
                tokens.push(piece.to_owned());
                continue;
            }
            let cleaned = basic_clean(piece);
            for found in self.pattern.find_iter(&cleaned) {
                let mapped: String =
                    found.as_str().bytes().map(|b| self.byte_encoder[usize::from(b)]).collect();
                tokens.extend(self.bpe(&mapped));
            }
        }
        tokens
    }

    /// The ids of `text` without special tokens (unknown pieces become `<|endoftext|>`).
    #[must_use]
    pub fn ids(&self, text: &str) -> Vec<u32> {
        self.tokenize(text).iter().map(|t| self.encoder.get(t).copied().unwrap_or(self.eos)).collect()
    }

    /// What a diffusers pipeline feeds the text encoder: `<|startoftext|>`, the ids cut to
    /// `max_length - 2`, `<|endoftext|>`, then padding to `max_length`.
    #[must_use]
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut ids = Vec::with_capacity(self.max_length);
        ids.push(self.bos);
        ids.extend(self.ids(text).into_iter().take(self.max_length.saturating_sub(2)));
        ids.push(self.eos);
        ids.resize(self.max_length, self.pad);
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_map_to_printable_stand_ins_one_to_one() {
        let table = bytes_to_unicode();
        assert_eq!((table[usize::from(b'a')], table[usize::from(b' ')], table[0]), ('a', 'Ġ', 'Ā'));
        let mut seen: Vec<char> = table.to_vec();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 256);
    }

    #[test]
    fn cleaning_follows_berts_basic_tokenizer() {
        assert_eq!(basic_clean("  A\tB\u{200B}c\u{00A0}東京 "), "a bc 東 京");
        assert_eq!(basic_clean("e\u{0301}"), "é", "NFC");
    }
}
