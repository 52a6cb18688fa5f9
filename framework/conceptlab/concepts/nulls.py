"""Random directions: the null every filter's verdicts are read against (method.md section 8)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from conceptlab.values import Concept

__all__ = ["null_concepts"]


def null_concepts(candidates: Sequence[Concept], count: int, rng: np.random.Generator) -> list[Concept]:
    """``count`` random sparse and ``count`` random dense directions on the candidates' layers.

    Sparse directions have the candidates' median number of non-zeros, on random
    units, with normal weights; dense ones are ``N(0, I) / dim`` (the paper's random
    concept). Each direction is matched to a candidate, cycling through them in
    order: it takes the candidate's layer, and its provenance names the candidate
    (``matched``) and copies its ``sign`` and ``steps`` when it has them, so that a
    filter can give it prototypes by the same rule as the candidate's.
    """
    if not candidates or count <= 0:
        return []
    nonzeros = int(np.median([np.count_nonzero(c.vector) for c in candidates]))
    out = []
    for kind in ("sparse", "dense"):
        for i in range(count):
            template = candidates[i % len(candidates)]
            dim = np.asarray(template.vector).size
            if kind == "sparse":
                vector = np.zeros(dim)
                support = rng.choice(dim, size=max(1, min(nonzeros, dim)), replace=False)
                vector[support] = rng.normal(size=len(support))
            else:
                vector = rng.normal(size=dim) / dim
            provenance = {"null": kind, "nonzeros": int(np.count_nonzero(vector)), "matched": template.id}
            provenance |= {key: template.provenance[key] for key in ("sign", "steps") if key in template.provenance}
            out.append(Concept(f"null-{kind}-{i:04d}", template.layer, vector, provenance, {}))
    return out
