"""Builds the starter model's training set from an emoji package in the npm registry.

    .venv-parity/bin/python engine/starter/prepare_data.py [--set twitter|google] [--keep-flags]

Fetches, with `npm pack` into ~/.cache/pingvas-starter (never the repository):
- emoji-datasource-<set>@16.0.0: emoji.json (names, short names, categories, sort order) and one
  64×64 RGBA PNG per emoji; the data is MIT, the images are Twemoji (CC-BY 4.0) or Noto (Apache-2.0),
  as the package README states; this script checks those statements and records them;
- emojilib@4.0.3 (MIT): CLDR-style names and keywords for each emoji.

Writes to --out (default ~/.cache/pingvas-starter/dataset):
- images.npy: uint8 [N, 64, 64, 3], each PNG composited on white;
- entries.json: one object per image (index, emoji, name, aliases, keywords, category,
  subcategory, captions) plus the source, versions and licence text to attribute;
- contact.png: every image in a grid, to look at.

Skin-tone variants are not separate entries (each entry uses its default, yellow image), so a name
means one picture. Country and subdivision flags (262 near-identical striped rectangles named after
places) and the five skin-tone swatches are left out unless --keep-flags; the other flags
(chequered, pirate, rainbow, ...) stay.
"""

import argparse
import collections
import hashlib
import io
import json
import pathlib
import re
import subprocess
import tarfile

import numpy as np
from PIL import Image

CACHE = pathlib.Path.home() / ".cache" / "pingvas-starter"
VERSION = "16.0.0"
EMOJILIB = "4.0.3"
SIZE = 64

# What the package README says about each image set's licence; checked, not assumed.
LICENCES = {
    "twitter": {
        "package": "emoji-datasource-twitter",
        "readme": "Twitter images are available under the [Creative Commons Attribution 4.0 license]",
        "spdx": "CC-BY-4.0",
        "attribution": (
            "Emoji images: Twemoji, Copyright 2019 Twitter, Inc and other contributors "
            "(https://github.com/jdecked/twemoji, v16.0.1), licensed under CC-BY 4.0 "
            "(https://creativecommons.org/licenses/by/4.0/). Taken from the npm package "
            "emoji-datasource-twitter@16.0.0 (emoji data MIT, Copyright (c) 2013 Cal Henderson), "
            "composited on white, and used to train this model; the model's outputs are "
            "adaptations of those images."
        ),
    },
    "google": {
        "package": "emoji-datasource-google",
        "readme": "Android/Google/Noto images, are available under the [Apache License 2.0]",
        "spdx": "Apache-2.0",
        "attribution": (
            "Emoji images: Noto Emoji, Copyright Google Inc. (https://github.com/googlefonts/noto-emoji, "
            "v2.048), licensed under the Apache License 2.0 (flag images: public domain). Taken from "
            "the npm package emoji-datasource-google@16.0.0 (emoji data MIT, Copyright (c) 2013 "
            "Cal Henderson), composited on white, and used to train this model."
        ),
    },
}

LEFT_OUT_SUBCATEGORIES = {"country-flag", "subdivision-flag", "skin-tone"}

# Keywords too general to stand alone as a caption or to add anything.
STOP = {
    "face", "flag", "nation", "country", "banner", "symbol", "sign", "emoji", "person", "human",
    "object", "objects", "thing", "blue-square", "orange-square", "purple-square", "red-square",
    "words", "word", "and", "of", "the", "a", "an", "with", "in", "on", "for", "to",
}


def npm_pack(spec: str) -> pathlib.Path:
    """`npm pack SPEC` into the cache, once; the tarball's path."""
    name, version = spec.rsplit("@", 1)
    tarball = CACHE / f"{name}-{version}.tgz"
    if not tarball.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "pack", spec, "--silent"], cwd=CACHE, check=True, stdout=subprocess.DEVNULL)
    return tarball


def read_members(tarball: pathlib.Path, wanted) -> dict:
    out = {}
    with tarfile.open(tarball) as tar:
        for member in tar:
            if member.isfile() and wanted(member.name):
                out[member.name.removeprefix("package/")] = tar.extractfile(member).read()
    return out


def chars(unified: str) -> str:
    return "".join(chr(int(cp, 16)) for cp in unified.split("-"))


def words(text: str) -> str:
    """'flag_san_marino' / 'FIELD-HOCKEY STICK' -> 'flag san marino' / 'field-hockey stick'."""
    text = text.replace("_", " ").replace(":", "").lower()
    return re.sub(r"\s+", " ", text).strip()


def article(phrase: str) -> str:
    if re.match(r"^(\d|one |two |three |a |an |the )", phrase) or re.search(r"[^suio]s$", phrase):
        return phrase
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def captions_for(name, aliases, keywords, category, subcategory, unique_keywords):
    """The caption templates: the name bare, with an article, as 'X emoji', the other names, the
    name with a few keywords or its category, and keywords that belong to this emoji alone."""
    out = [name, article(name), f"{name} emoji", f"an emoji of {article(name)}"]
    for alias in aliases:
        out += [alias, article(alias), f"{alias} emoji"]
    extra = [k for k in keywords if k not in STOP and k not in name.split()][:4]
    if extra:
        out.append(f"{article(name)}, {', '.join(extra[:2])}")
        out.append(f"{name}, {' '.join(extra)}")
    out.append(f"{name}, {category.lower().replace('&', 'and')}")
    out.append(f"{article(name)}, {subcategory.replace('-', ' ')}")
    for k in keywords:
        if k in unique_keywords and k not in STOP:
            out += [k, article(k)]
    seen, result = set(), []
    for c in out:
        c = re.sub(r"\s+", " ", c).strip()
        if c and c not in seen:
            seen.add(c)
            result.append(c)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=sorted(LICENCES), default="twitter")
    parser.add_argument("--keep-flags", action="store_true", help="keep country/subdivision flags")
    parser.add_argument("--out", type=pathlib.Path, default=CACHE / "dataset")
    args = parser.parse_args()
    lic = LICENCES[args.set]

    tarball = npm_pack(f"{lic['package']}@{VERSION}")
    image_dir = f"package/img/{args.set}/64/"
    files = read_members(tarball, lambda n: n.startswith(image_dir) or n.count("/") == 1)
    package = json.loads(files["package.json"])
    readme = files["README.md"].decode()
    assert package["version"] == VERSION and package["license"] == "MIT", package
    assert lic["readme"] in readme, f"the README no longer states the {args.set} images' licence"
    assert "Permission is hereby granted" in files["LICENSE"].decode()
    emoji = json.loads(files["emoji.json"])

    lib_tar = npm_pack(f"emojilib@{EMOJILIB}")
    lib_files = read_members(lib_tar, lambda n: n in ("package/dist/emoji-en-US.json", "package/LICENSE", "package/package.json"))
    assert json.loads(lib_files["package.json"])["license"] == "MIT"
    keywords_by_char = json.loads(lib_files["dist/emoji-en-US.json"])

    raw = []
    skipped = collections.Counter()
    for e in sorted(emoji, key=lambda e: e["sort_order"]):
        if not e[f"has_img_{args.set}"]:
            skipped["no image"] += 1
            continue
        if e["subcategory"] in LEFT_OUT_SUBCATEGORIES and not (args.keep_flags and "flag" in e["subcategory"]):
            skipped[e["subcategory"]] += 1
            continue
        char = chars(e["unified"])
        kws = keywords_by_char.get(char) or (keywords_by_char.get(chars(e["non_qualified"])) if e["non_qualified"] else None) or []
        # emojilib's first keyword is the CLDR short name ("raising_hands"); Unicode's name
        # ("PERSON RAISING BOTH HANDS IN CELEBRATION") and the :short_names: become aliases.
        name = words(kws[0]) if kws else words(e["name"])
        aliases = [words(e["name"])] + [words(s.replace("-", " ")) for s in e["short_names"]]
        kws = [k for k in dict.fromkeys(words(k) for k in kws[1:]) if re.fullmatch(r"[a-z][a-z' -]+", k) and len(k) > 2]
        raw.append((e, char, name, [a for a in dict.fromkeys(aliases) if a != name], kws))

    # A name means one picture: a second entry with the same name (e.g. two tuxedo sequences)
    # keeps only its aliases that nobody else uses.
    names = collections.Counter(r[2] for r in raw)
    alias_count = collections.Counter(a for r in raw for a in set(r[3]))
    keyword_count = collections.Counter(k for r in raw for k in set(r[4]))
    unique_keywords = {k for k, c in keyword_count.items() if c == 1}
    taken = set()
    entries, images = [], []
    for e, char, name, aliases, kws in raw:
        aliases = [a for a in aliases if alias_count[a] == 1 and names[a] == 0]
        if name in taken:
            if not aliases:
                skipped["duplicate name"] += 1
                continue
            name, aliases = aliases[0], aliases[1:]
        taken.add(name)
        png = files[f"img/{args.set}/64/{e['image']}"]
        rgba = Image.open(io.BytesIO(png)).convert("RGBA")
        if rgba.size != (SIZE, SIZE):
            rgba = rgba.resize((SIZE, SIZE), Image.LANCZOS)
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        white.alpha_composite(rgba)
        images.append(np.asarray(white.convert("RGB"), dtype=np.uint8))
        entries.append({
            "index": len(entries),
            "emoji": char,
            "unified": e["unified"],
            "name": name,
            "aliases": aliases,
            "keywords": kws,
            "category": e["category"],
            "subcategory": e["subcategory"],
            "captions": captions_for(name, aliases, kws, e["category"], e["subcategory"], unique_keywords),
        })

    args.out.mkdir(parents=True, exist_ok=True)
    images = np.stack(images)
    np.save(args.out / "images.npy", images)
    meta = {
        "source": f"{lic['package']}@{VERSION} (npm), keywords from emojilib@{EMOJILIB} (npm, MIT)",
        "tarball_sha256": hashlib.sha256(tarball.read_bytes()).hexdigest(),
        "image_set": args.set,
        "image_licence": lic["spdx"],
        "attribution": lic["attribution"],
        "size": SIZE,
        "left_out": dict(skipped),
        "entries": entries,
    }
    (args.out / "entries.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")

    cols = 48
    rows = -(-len(images) // cols)
    sheet = Image.new("RGB", (cols * 32, rows * 32), "white")
    for i, im in enumerate(images):
        sheet.paste(Image.fromarray(im).resize((32, 32), Image.BOX), ((i % cols) * 32, (i // cols) * 32))
    sheet.save(args.out / "contact.png")

    per_cat = collections.Counter(e["category"] for e in entries)
    captions = sum(len(e["captions"]) for e in entries)
    print(f"{len(entries)} entries, {captions} captions ({captions / len(entries):.1f} each) from {meta['source']}")
    print(f"left out: {dict(skipped)}")
    print("per category: " + ", ".join(f"{k} {v}" for k, v in per_cat.most_common()))
    print(f"images {images.shape} -> {args.out}")


if __name__ == "__main__":
    main()
