"""Trains the starter model's CLIP tokenizer: byte-level BPE in CLIP's layout on the dataset's
captions, and writes vocab.json, merges.txt, tokenizer_config.json and special_tokens_map.json
(the files transformers' CLIPTokenizer and engine/src/tokenizer.rs read).

    .venv-parity/bin/python engine/starter/train_tokenizer.py [--merges 3500] [--data DIR] [--out DIR]

The vocabulary starts with CLIP's 256 byte symbols and their end-of-word forms, so every string
tokenizes (a word never seen falls back to pieces, down to single bytes) and never maps to the
unknown token; then one token per learned merge, then <|startoftext|> and <|endoftext|>.

Words are split exactly as CLIPTokenizer splits them without ftfy (its BasicTokenizer clean-up and
lower-casing, then its regex), so the merges are learned on the pieces the tokenizer will see.
Ties between equally frequent pairs go to the smaller pair, so the result is deterministic.
"""

import argparse
import collections
import json
import pathlib
import tempfile

import regex
from transformers import CLIPTokenizer
from transformers.models.clip.tokenization_clip import bytes_to_unicode

CACHE = pathlib.Path.home() / ".cache" / "pingvas-starter"
FIXTURE = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "tiny-sd1" / "tokenizer"

ODD_PROMPTS = [
    "a red apple",
    "ünïcode 🐧 xyzzy!!",
    "A Penguin Wearing a TUXEDO, studio lighting!!",
    "東京の夜景 and ペンギン",
    "zero\u200bwidth and soft\u00adhyphen",
    "supercalifragilisticexpialidocious",
    "",
]


def pre_tokenizer():
    """CLIPTokenizer's own clean-up and split (from the committed fixture tokenizer)."""
    reference = CLIPTokenizer(str(FIXTURE / "vocab.json"), str(FIXTURE / "merges.txt"))
    assert reference.fix_text is None, "uninstall ftfy: the engine follows the BasicTokenizer path"

    def split(text):
        text = " ".join(reference.nlp.tokenize(text))
        return regex.findall(reference.pat, text)

    return split


def train_bpe(word_counts: collections.Counter, merges: int):
    byte_encoder = bytes_to_unicode()
    words = []  # [symbols, count]
    for word, count in sorted(word_counts.items()):
        symbols = [byte_encoder[b] for b in word.encode("utf-8")]
        symbols[-1] += "</w>"
        words.append([symbols, count])
    pairs = collections.Counter()
    where = collections.defaultdict(set)  # pair -> indices of words that contain it
    for i, (symbols, count) in enumerate(words):
        for pair in zip(symbols, symbols[1:]):
            pairs[pair] += count
            where[pair].add(i)
    learned = []
    for _ in range(merges):
        pairs = +pairs  # drop pairs counted down to zero
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        learned.append(best)
        merged = best[0] + best[1]
        for i in sorted(where.pop(best, ())):
            symbols, count = words[i]
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] -= count
            out, j = [], 0
            while j < len(symbols):
                if j < len(symbols) - 1 and (symbols[j], symbols[j + 1]) == best:
                    out.append(merged)
                    j += 2
                else:
                    out.append(symbols[j])
                    j += 1
            words[i][0] = out
            for pair in zip(out, out[1:]):
                pairs[pair] += count
                where[pair].add(i)
        pairs.pop(best, None)
    base = list(byte_encoder.values())
    vocab = base + [c + "</w>" for c in base]
    seen = set(vocab)
    for a, b in learned:
        if a + b not in seen:  # a merge may rebuild a token another merge made
            seen.add(a + b)
            vocab.append(a + b)
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    return {token: i for i, token in enumerate(vocab)}, learned


def write(out: pathlib.Path, vocab: dict, merges: list):
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (out / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")
    # The special-token files exactly as the fixture's (transformers' save_pretrained output).
    with tempfile.TemporaryDirectory() as scratch:
        tok = CLIPTokenizer(str(out / "vocab.json"), str(out / "merges.txt"), pad_token="<|endoftext|>")
        tok.model_max_length = 77
        tok.save_pretrained(scratch)
        for name in ("tokenizer_config.json", "special_tokens_map.json"):
            (out / name).write_text((pathlib.Path(scratch) / name).read_text(encoding="utf-8"), encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=pathlib.Path, default=CACHE / "dataset")
    parser.add_argument("--out", type=pathlib.Path, default=CACHE / "tokenizer")
    parser.add_argument("--merges", type=int, default=3500)
    args = parser.parse_args()

    entries = json.loads((args.data / "entries.json").read_text(encoding="utf-8"))["entries"]
    split = pre_tokenizer()
    counts = collections.Counter()
    for e in entries:
        for caption in e["captions"]:
            counts.update(split(caption))
    vocab, merges = train_bpe(counts, args.merges)
    write(args.out, vocab, merges)

    tok = CLIPTokenizer.from_pretrained(str(args.out))
    assert tok.pad_token == tok.eos_token == "<|endoftext|>" and tok.model_max_length == 77
    unk = tok.unk_token_id
    lengths, whole = [], 0
    for e in entries:
        ids = tok(e["name"]).input_ids
        assert unk not in ids[1:-1], e["name"]
        lengths.append(len(ids) - 2)
        whole += all(t.endswith("</w>") for t in tok.tokenize(e["name"]))
    for prompt in ODD_PROMPTS:
        ids = tok(prompt, padding="max_length", max_length=77, truncation=True).input_ids
        inner = ids[1 : ids.index(tok.eos_token_id, 1)]
        assert unk not in inner, (prompt, tok.tokenize(prompt))
        print(f"  {prompt!r:48} -> {tok.tokenize(prompt)}")
    print(f"vocabulary of {len(vocab)} tokens ({len(merges)} merges) from {len(counts)} distinct words -> {args.out}")
    print(f"names: {sum(lengths) / len(lengths):.2f} tokens each on average, longest {max(lengths)}; "
          f"{whole}/{len(entries)} names split only at word boundaries")


if __name__ == "__main__":
    main()
