"""The build's encode beside the bare model encode of the same texts, side by side in one process.

    python benchmarks/bench_encode_order.py [--every 20] [--rounds 2] [--corpus benchmarks/work/registry/corpus]

Takes every Nth page of the imported ESCO + O*NET corpus (bench_registry.py makes it), chunks it as the
build does and collects the occupation names the build embeds. Then, alternating in each round, encodes
the same texts two ways with the real model (batch 32, as `Settings.encode_batch_size`):

- bare: one `embedder.encode` call over all texts (sentence-transformers sorts them by length inside);
- build: `vectorcache.Encoder`, as the build calls it (distinct texts only, slices of 512 in corpus order).

So it shows whether the build's way of calling the model loses throughput against the bare encode.

Writes benchmarks/results/encode_order.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assistant.chunking import chunk_document  # noqa: E402
from assistant.corpus import parse  # noqa: E402
from assistant.embedding import MiniLMEmbedder  # noqa: E402
from assistant.occupations.registry import build_registry  # noqa: E402
from assistant.vectorcache import Encoder  # noqa: E402

BATCH = 32


def texts_of(corpus: Path, every: int, embedder: MiniLMEmbedder) -> dict[str, list[str]]:
    docs = [parse(p.read_text(encoding="utf-8"), p) for p in sorted(corpus.glob("*.md"))[every - 1::every]]
    chunks = [c.embed_text for d in docs for c in chunk_document(d, embedder.count_tokens, 256)]
    names = [n.name for o in build_registry(docs) for n in o.names]
    return {"passages": chunks, "occupation names": names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--corpus", type=Path, default=REPO / "benchmarks" / "work" / "registry" / "corpus")
    args = parser.parse_args()
    embedder = MiniLMEmbedder()
    kinds = texts_of(args.corpus, args.every, embedder)
    ways = {"bare": lambda t: embedder.encode(t, batch_size=BATCH),
            "build": lambda t: Encoder(embedder, {}, batch_size=BATCH, progress=False)(t, "x")}
    seconds: dict[str, dict[str, list[float]]] = {k: {w: [] for w in ways} for k in kinds}
    embedder.encode(kinds["passages"][:64], batch_size=BATCH)  # warm the model once
    for _ in range(args.rounds):
        for kind, texts in kinds.items():
            for way, run in ways.items():
                started = time.perf_counter()
                run(texts)
                seconds[kind][way].append(time.perf_counter() - started)
    rows, result = [], {"every": args.every, "rounds": args.rounds, "batch_size": BATCH, "kinds": {}}
    for kind, texts in kinds.items():
        med = {w: statistics.median(s) for w, s in seconds[kind].items()}
        result["kinds"][kind] = {"texts": len(texts), "distinct": len(set(texts)),
                                 "seconds": {w: [round(x, 2) for x in s] for w, s in seconds[kind].items()},
                                 "build_over_bare": round(med["bare"] / med["build"], 3)}
        for way in ways:
            rows.append(f"| {kind} ({len(texts):,} texts) | {way} | {med[way]:.2f} | "
                        f"{len(texts) / med[way]:.1f} | {med['bare'] / med[way]:.3f} |")
    out = REPO / "benchmarks" / "results"
    (out / "encode_order.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md = ["# The build's encode beside the bare encode", "",
          f"`python benchmarks/bench_encode_order.py --every {args.every} --rounds {args.rounds}`: every "
          f"{args.every}th page of the ESCO + O*NET corpus, batch {BATCH}, medians of {args.rounds} alternating rounds.",
          "", "| texts | how | seconds | texts/s | throughput ÷ bare |", "|---|---|---|---|---|", *rows]
    (out / "encode_order.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))


if __name__ == "__main__":
    main()
