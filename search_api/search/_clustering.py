"""Average-linkage clustering of a few hundred items (pooling opportunities).

Pure numpy: the projects of one country and theme are at most a few hundred, so the textbook
O(n³) agglomeration with the Lance–Williams update is fast enough and needs no extra dependency.
Average linkage (not single) because inside one country and theme every project is somewhat
similar to the next: single linkage would chain them all into one group.

Groups are capped (``max_size``): a staff member can call a dozen authorities, not 28 (issue 9
found a first group of 24 projects mixing latrines, boreholes and mains). A merge that would
pass the cap is never made, so a large coherent topic comes out as several groups of at most
``max_size``, each still made of its closest members.
"""

from __future__ import annotations

import numpy as np

#: Above this many projects, only the first ones (by the caller's order) are clustered.
MAX_CLUSTERED = 1000


def average_linkage(similarity: np.ndarray, threshold: float,
                    max_size: int | None = None) -> list[list[int]]:
    """Groups of items whose average pairwise similarity stays ≥ ``threshold``.

    Starts from singletons and repeatedly merges the two groups with the highest average
    similarity while it is at least ``threshold`` and their union holds at most ``max_size``
    items. Returns every group (singletons included), each sorted, largest first."""
    n = len(similarity)
    if n == 0:
        return []
    sim = np.array(similarity, dtype=np.float64)
    np.fill_diagonal(sim, -np.inf)
    sizes = np.ones(n)
    alive = np.ones(n, dtype=bool)
    members: list[list[int]] = [[i] for i in range(n)]
    while alive.sum() > 1:
        flat = int(np.argmax(sim))
        a, b = divmod(flat, n)
        if sim[a, b] == -np.inf or sim[a, b] < threshold:  # -inf: every pair left is blocked
            break
        # Lance–Williams for average linkage: the merged row is the size-weighted mean.
        merged = (sizes[a] * sim[a] + sizes[b] * sim[b]) / (sizes[a] + sizes[b])
        sim[a, :] = merged
        sim[:, a] = merged
        sim[a, a] = -np.inf
        sim[b, :] = -np.inf
        sim[:, b] = -np.inf
        sizes[a] += sizes[b]
        alive[b] = False
        if max_size is not None:
            # A pair that would pass the cap is blocked for good (groups only grow); -inf
            # also carries through later Lance–Williams means, which is right: a bigger
            # group than a blocked one is blocked too.
            blocked = sizes + sizes[a] > max_size
            sim[a, blocked] = -np.inf
            sim[blocked, a] = -np.inf
        members[a].extend(members[b])
        members[b] = []
    groups = [sorted(m) for i, m in enumerate(members) if alive[i]]
    groups.sort(key=lambda g: (-len(g), g[0]))
    return groups


def split(similarity: np.ndarray, max_size: int) -> list[list[int]]:
    """Cut a group into parts of at most ``max_size`` items, each made of close items
    (average linkage run to the end under the cap); parts sorted, largest first."""
    if len(similarity) <= max_size:
        return [list(range(len(similarity)))]
    return average_linkage(similarity, -np.inf, max_size)


def mean_pairwise(similarity: np.ndarray, group: list[int]) -> float:
    """Average similarity over the distinct pairs of ``group`` (1.0 for a single item)."""
    if len(group) < 2:
        return 1.0
    block = similarity[np.ix_(group, group)]
    k = len(group)
    return float((block.sum() - np.trace(block)) / (k * (k - 1)))
