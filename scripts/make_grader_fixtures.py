#!/usr/bin/env python3
"""Reference values for the rlaif-judge text-similarity metrics.

Writes crates/rlaif-judge/tests/fixtures/similarity.json: for each (input, reference)
pair, the values of the Python libraries our Rust metrics reproduce:

- fuzzy_match: rapidfuzz.fuzz.ratio(input, reference) / 100 (no processor);
- bleu:  nltk.translate.bleu_score.sentence_bleu([reference.split()], input.split());
- gleu:  nltk.translate.gleu_score.sentence_gleu([reference.split()], input.split());
- meteor_exact_stem: nltk meteor_score([reference.split()], input.split()) with a
  WordNet that has no synsets (exact + Porter-stem matching only: what the Rust metric
  computes without a synonym source);
- meteor_wordnet: the same with NLTK's WordNet 3.0 (only when it can be loaded:
  set NLTK_DATA to a folder holding corpora/wordnet; Debian's wordnet-base and
  wordnet-sense-index packages carry the WordNet 3.0 files, plus a `lexnames` file
  written from the lexnames(5WN) manual page). NLTK's synonym stage compares WordNet
  lemma names of the *stemmed* hypothesis word with *stemmed* reference words, so it
  rarely fires ("car" ~ "auto" does; "car" ~ "automobile" does not);
- rouge_1 .. rouge_5, rouge_l: rouge_score RougeScorer(use_stemmer=False)
  .score(reference, input)[...].fmeasure.

Also porter.json: nltk PorterStemmer().stem(w) for a word list.

Needs: pip install rapidfuzz nltk rouge-score
"""

import json
import os
import sys
import warnings

import nltk
import rapidfuzz
from nltk.stem.porter import PorterStemmer
from nltk.translate.bleu_score import sentence_bleu
from nltk.translate.gleu_score import sentence_gleu
from nltk.translate.meteor_score import meteor_score
from rapidfuzz import fuzz
from rouge_score import rouge_scorer

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "rlaif-judge", "tests", "fixtures")

PAIRS = [
    ("The cat sat on the mat.", "The cat sat on the mat."),
    ("the cat sat on a mat", "the cat sat on the mat"),
    ("It is a guide to action which ensures that the military always obeys the commands of the party",
     "It is a guide to action that ensures that the military will forever heed Party commands"),
    ("Paris", "Paris"),
    ("paris", "Paris"),
    ("The capital of France is Paris.", "Paris"),
    ("Lyon", "Paris"),
    ("", "Paris"),
    ("Paris", ""),
    ("", ""),
    ("running dogs were barking loudly", "the dog runs and barks loud"),
    ("a quick brown fox jumps over the lazy dog", "the quick brown fox jumped over the lazy dogs"),
    ("the the the the the the the", "the cat is on the mat"),
    ("Answer: 42", "42"),
    ("The patient presents with acute myocardial infarction and elevated troponin levels.",
     "Acute myocardial infarction; troponin elevated."),
    ("Café déjà vu — naïve über straße", "cafe deja vu naive uber strasse"),
    ("He bought a new car yesterday", "Yesterday he purchased a brand new automobile"),
    ("one two three four five six", "six five four three two one"),
    ("x", "x y"),
    ("  leading and   trailing  spaces ", "leading and trailing spaces"),
    ("The answer is B because the second option matches.", "B"),
    ("I drove my car to work", "I drove my auto to work"),
    ("happily generalization relational conditional hopping", "happy general relate condition hop"),
]

WORDS = """caresses ponies ties cats agreed plastered motoring sing conflated hopping filing happy
relational generalization dying lying skies news innings running ran runs barking barks loudly
loud dogs dog jumped jumps purchased automobile conditional rational valency hesitancy digitizer
conformabli radicalli differentli vileli analogousli vietnamization predication operator feudalism
decisiveness hopefulness callousness formaliti sensitiviti sensibiliti triplicate formative
formalize electriciti electrical hopeful goodness revival allowance inference airliner gyroscopic
adjustable defensible irritant replacement adjustment dependent adoption homologou communism
activate angulariti homologous effective bowdlerize probate rate cease controll roll
generously fully logically anthropology archaeology yyyy syzygy toy boyish sky""".split()


class NoWordNet:
    def synsets(self, word):
        return []


def main():
    warnings.simplefilter("ignore")
    scorer = rouge_scorer.RougeScorer(
        ["rouge1", "rouge2", "rouge3", "rouge4", "rouge5", "rougeL"], use_stemmer=False
    )
    wordnet = None
    try:
        from nltk.corpus import wordnet as wn

        wn.synsets("dog")
        wordnet = wn
    except LookupError:
        print("WordNet not found: meteor_wordnet left out", file=sys.stderr)
    cases = []
    for inp, ref in PAIRS:
        h, r = inp.split(), ref.split()
        rs = scorer.score(ref, inp)
        case = {
            "input": inp,
            "reference": ref,
            "fuzzy_match": fuzz.ratio(inp, ref) / 100.0,
            "bleu": float(sentence_bleu([r], h)),
            "gleu": float(sentence_gleu([r], h)),
            "meteor_exact_stem": float(meteor_score([r], h, wordnet=NoWordNet())),
            "rouge_1": rs["rouge1"].fmeasure,
            "rouge_2": rs["rouge2"].fmeasure,
            "rouge_3": rs["rouge3"].fmeasure,
            "rouge_4": rs["rouge4"].fmeasure,
            "rouge_5": rs["rouge5"].fmeasure,
            "rouge_l": rs["rougeL"].fmeasure,
        }
        if wordnet is not None:
            case["meteor_wordnet"] = float(meteor_score([r], h, wordnet=wordnet))
        cases.append(case)
    versions = {
        "rapidfuzz": rapidfuzz.__version__,
        "nltk": nltk.__version__,
        "rouge_score": "0.1.2",
        "python": sys.version.split()[0],
    }
    with open(os.path.join(OUT, "similarity.json"), "w") as f:
        json.dump({"versions": versions, "cases": cases}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    stemmer = PorterStemmer()
    with open(os.path.join(OUT, "porter.json"), "w") as f:
        json.dump({w: stemmer.stem(w) for w in WORDS}, f, indent=0, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(cases)} cases and {len(WORDS)} stems to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
