"""Where a build's time goes: the build profiled, beside the bare encode of each kind of text it embeds.

    python benchmarks/profile_build.py [--every 20] [--corpus benchmarks/work/registry/corpus]

Takes every Nth page of an imported ESCO + O*NET corpus (bench_registry.py / bench_scale.py make one),
builds it once under cProfile, then encodes the chunk, sentence and occupation-name texts that build
embedded, each kind on its own, in the same process. Writes benchmarks/results/build_profile.{json,md}.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.embedding import MiniLMEmbedder  # noqa: E402
from assistant.index import build_index, load_index  # noqa: E402
from assistant.settings import Settings  # noqa: E402

# The build's own stages, as functions the profile can name (cumulative seconds of each).
STAGES = {"read and clean pages": "load_corpus", "model encode (all texts)": "encode",
          "chunking (token counts)": "chunk_document", "sentences": "sentences_of",
          "registry facets and names": "enrich", "write and swap": "_write_and_swap"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=20)
    parser.add_argument("--corpus", type=Path, default=REPO / "benchmarks" / "work" / "registry" / "corpus")
    args = parser.parse_args()
    embedder = MiniLMEmbedder()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        for page in sorted(args.corpus.iterdir())[args.every - 1::args.every]:
            shutil.copy(page, corpus / page.name)
        settings = Settings(corpus_dir=corpus, index_dir=Path(tmp) / "index", embedder="minilm")
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        manifest = build_index(settings, embedder)
        profile.disable()
        build_s = time.perf_counter() - started
        index = load_index(settings, embedder.name)
        texts = {"chunks": [c.embed_text for c in index.chunks],
                 "sentences": ([index.documents[s.doc_id].text[s.start:s.end] for s in index.sentences]
                               if manifest.sentence_vectors else []),
                 "occupation names": [n.name for o in index.registry.occupations for n in o.names]}
    stats = pstats.Stats(profile).stats
    stages = {label: round(max((v[3] for (path, _, fn), v in stats.items()
                                if fn == name and "assistant" in path), default=0.0), 2)
              for label, name in STAGES.items()}
    bare = {}
    for kind, items in texts.items():
        t = time.perf_counter()
        embedder.encode(items, batch_size=settings.encode_batch_size)
        seconds = time.perf_counter() - t
        bare[kind] = {"texts": len(items), "s": round(seconds, 2),
                      "per_s": round(len(items) / seconds, 1) if seconds else None}
    result = {"pages": manifest.document_count, "build_s": round(build_s, 2), "stages_s": stages,
              "bare_encode": bare,
              "build_over_bare_chunk_encode": round(bare["chunks"]["s"] / build_s, 3),
              "bare_all_texts_s": round(sum(b["s"] for b in bare.values()), 2)}
    out = REPO / "benchmarks" / "results"
    (out / "build_profile.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md = ["# Where a build's time goes", "", f"`python benchmarks/profile_build.py --every {args.every}`: "
          f"{manifest.document_count} pages, {manifest.chunk_count} chunks, one process.", "",
          "| measure | seconds |", "|---|---|", f"| whole build | {result['build_s']} |"]
    md += [f"| build stage: {label} (cumulative) | {s} |" for label, s in stages.items()]
    md += [f"| bare encode of the {kind} ({b['texts']} texts, {b['per_s']}/s) | {b['s']} |" for kind, b in bare.items()]
    md += [f"| bare encode of everything the build embeds | {result['bare_all_texts_s']} |",
           f"| build throughput ÷ bare chunk-encode throughput | {result['build_over_bare_chunk_encode']} |"]
    (out / "build_profile.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))


if __name__ == "__main__":
    main()
