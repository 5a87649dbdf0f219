"""Choose invalidation paths: cover every changed URL, evict the fewest unchanged ones.

Standard library only. The problem, exactly:

- every changed URL must be covered, by its own path or by a directory wildcard ``/d/*``
  (which covers every URL that starts with ``/d/``, the directory form ``/d/`` included);
- at most ``max_paths`` paths in all, at most 15 of them wildcards (CloudFront's in-progress
  limit for wildcards, so the purge fits one batch);
- among the covers that fit, minimise the unchanged URLs evicted, then the wildcards, then
  the paths. When every changed URL fits the budget as its own path, nothing unchanged is
  evicted and no wildcard is used.

It is solved exactly by dynamic programming over the directory trie, pruned to the
directories that hold a changed URL (only a wildcard there can cover one). For each
directory and each number of wildcards w, a Pareto list of (exact paths left, unchanged
URLs evicted) holds every choice worth keeping; children combine like knapsacks, capped
by the budget. A tie keeps the deeper wildcard, so ``/*`` comes only as a last resort.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

from cloudfront_purge.changed.changes import encode_url
from cloudfront_purge.model import rules

#: Chosen with the benchmark (docs/changed-only.md): on its deploys 30 paths evict almost
#: nothing that a larger budget would keep (15 still evicts 4% of the unchanged objects),
#: and one deploy a day at the full budget stays inside CloudFront's 1,000 free paths a
#: month (30 x 30 = 900).
DEFAULT_MAX_PATHS = 30
#: One batch: CloudFront holds at most 3,000 file paths in progress per distribution.
MAX_MAX_PATHS = rules.MAX_FILES_PER_BATCH
MAX_WILDCARDS = rules.MAX_WILDCARDS_PER_BATCH
_NONE = 1 << 62  # no choice reaches this (k, wildcards) cell


def validate_max_paths(value: object, *, field: str = "max_paths") -> int:
    """A whole number of paths from 1 to 3,000; numeric strings as CloudFormation sends them."""
    number: object = value
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if isinstance(number, bool) or not isinstance(number, int):
        raise rules.RuleError(f"{field} must be a whole number of paths, got {value!r}")
    if not 1 <= number <= MAX_MAX_PATHS:
        raise rules.RuleError(
            f"{field} is {number}; it must be between 1 and {MAX_MAX_PATHS:,} "
            "(one invalidation batch)"
        )
    return number


@dataclass(frozen=True)
class Cover:
    """The chosen paths (encoded, sorted) and what they cost."""

    paths: tuple[str, ...]
    evicted: int
    wildcards: int

    @property
    def files(self) -> int:
        return len(self.paths) - self.wildcards


# A selection of wildcards, joined without copying: None, a directory, or a pair.
_Selection = str | tuple["_Selection", "_Selection"] | None
# (exact paths left, unchanged URLs evicted, wildcards chosen), k ascending, cost descending.
_Frontier = list[tuple[int, int, _Selection]]
# wildcards used -> frontier
_Table = dict[int, _Frontier]


def choose_paths(
    changed: Iterable[str], unchanged: Iterable[str], *, max_paths: int = DEFAULT_MAX_PATHS
) -> Cover:
    """The optimal cover of ``changed`` raw URL paths (see the module docstring).

    Args:
        changed: raw (not yet encoded) URL paths that must be invalidated.
        unchanged: raw URL paths of the site whose responses did not change.
        max_paths: the path budget, 1 to 3,000.

    Raises:
        RuleError: max_paths out of range, or a changed URL that is not a path.
    """
    budget = validate_max_paths(max_paths)
    wanted = sorted(set(changed))
    if not wanted:
        return Cover(paths=(), evicted=0, wildcards=0)
    for url in wanted:
        if not url.startswith("/") or "*" in url:
            raise rules.RuleError(f"changed URL {url!r} must start with '/' and hold no '*'")
    if len(wanted) <= budget:
        return Cover(paths=_encoded(wanted), evicted=0, wildcards=0)
    max_wildcards = min(MAX_WILDCARDS, budget)

    direct: dict[str, int] = {}
    for url in wanted:
        node = _directory(url)
        direct[node] = direct.get(node, 0) + 1
    children: dict[str, list[str]] = {}
    nodes: set[str] = set()
    for leaf in direct:
        node = leaf
        while node not in nodes:
            nodes.add(node)
            if node == "/":
                break
            parent = _directory(node[:-1])
            children.setdefault(parent, []).append(node)
            node = parent
    # Sorted once, every directory's count is two binary searches: the URLs under "/d/"
    # sort between "/d/" and "/d0" ("0" is the character after "/").
    ordered = sorted(set(unchanged))
    evictable = {
        node: bisect_left(ordered, node[:-1] + "0") - bisect_left(ordered, node) for node in nodes
    }

    table = _solve("/", direct, children, evictable, budget, max_wildcards)
    best: tuple[int, int, int, _Selection] | None = None
    for w in sorted(table):
        for k, cost, selection in table[w]:
            if k + w <= budget and (best is None or (cost, w, k) < best[:3]):
                best = (cost, w, k, selection)
    assert best is not None  # "/*" alone always fits a budget of 1 or more
    cost, _, _, selection = best
    wildcards = sorted(_flatten(selection))
    covered = [url for url in wanted if not _under_any(url, set(wildcards))]
    return Cover(
        paths=tuple(sorted([*_encoded(covered), *(encode_url(w) + "*" for w in wildcards)])),
        evicted=cost,
        wildcards=len(wildcards),
    )


def _solve(
    root: str,
    direct: dict[str, int],
    children: dict[str, list[str]],
    evictable: dict[str, int],
    budget: int,
    max_wildcards: int,
) -> _Table:
    """Post-order, without recursion (a site can be deeper than Python's stack)."""
    order: list[str] = []
    stack = [root]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(children.get(node, ()))
    tables: dict[str, _Table] = {}
    for node in reversed(order):
        own = direct.get(node, 0)
        table: _Table = {0: [(own, 0, None)]} if own <= budget else {}
        for child in sorted(children.get(node, ())):
            table = _merge(table, tables.pop(child), budget, max_wildcards)
        table.setdefault(1, []).append((0, evictable[node], node))
        tables[node] = _prune(table)
    return tables[root]


def _merge(a: _Table, b: _Table, budget: int, max_wildcards: int) -> _Table:
    """Every way to combine a choice of ``a`` with one of ``b``, best per (wildcards, k)."""
    costs: dict[int, list[int]] = {}
    picks: dict[int, list[tuple[_Selection, _Selection]]] = {}
    for wa in sorted(a):
        for wb in sorted(b):
            w = wa + wb
            if w > max_wildcards:
                break
            room = budget - w
            if w not in costs:
                costs[w] = [_NONE] * (room + 1)
                picks[w] = [(None, None)] * (room + 1)
            best, pick = costs[w], picks[w]
            for ka, ca, sa in a[wa]:
                if ka > room:
                    break
                for kb, cb, sb in b[wb]:
                    k = ka + kb
                    if k > room:
                        break
                    # Strictly better only: the first combination found wins a tie.
                    if ca + cb < best[k]:
                        best[k] = ca + cb
                        pick[k] = (sa, sb)
    table: _Table = {}
    for w in sorted(costs):
        frontier: _Frontier = []
        for k, cost in enumerate(costs[w]):
            if cost < _NONE and (not frontier or cost < frontier[-1][1]):
                sa, sb = picks[w][k]
                frontier.append((k, cost, _join(sa, sb)))
        if frontier:
            table[w] = frontier
    return table


def _prune(table: _Table) -> _Table:
    """Keep only choices no other beats on wildcards, exact paths and evictions at once."""
    out: _Table = {}
    # Best cost reachable with at most this many exact paths, over the fewer-wildcard lists.
    lower: list[tuple[int, int]] = []
    for w in sorted(table):
        kept: _Frontier = []
        best_cost: int | None = None
        # Stable sort: among equal (k, cost) the first made (the deeper wildcard) stays.
        for k, cost, selection in sorted(table[w], key=lambda e: (e[0], e[1])):
            if best_cost is not None and cost >= best_cost:
                continue
            if _beaten(lower, k, cost):
                continue
            kept.append((k, cost, selection))
            best_cost = cost
        if kept:
            out[w] = kept
            lower = _frontier_union(lower, [(k, c) for k, c, _ in kept])
    return out


def _beaten(frontier: list[tuple[int, int]], k: int, cost: int) -> bool:
    best: int | None = None
    for fk, fc in frontier:
        if fk > k:
            break
        best = fc
    return best is not None and best <= cost


def _frontier_union(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for k, cost in sorted(a + b):
        if not out or cost < out[-1][1]:
            out.append((k, cost))
    return out


def _join(a: _Selection, b: _Selection) -> _Selection:
    if a is None:
        return b
    if b is None:
        return a
    return (a, b)


def _flatten(selection: _Selection) -> list[str]:
    out: list[str] = []
    stack = [selection]
    while stack:
        item = stack.pop()
        if item is None:
            continue
        if isinstance(item, str):
            out.append(item)
        else:
            stack.extend(item)
    return out


def _directory(url: str) -> str:
    """The directory a URL sits in: everything up to its last "/" ("/a/" for "/a/" too)."""
    return url[: url.rfind("/") + 1]


def _under_any(url: str, directories: set[str]) -> bool:
    end = 0
    while (end := url.find("/", end) + 1) > 0:
        if url[:end] in directories:
            return True
    return False


def _encoded(urls: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(encode_url(u) for u in urls))


def evicted_by(paths: Iterable[str], unchanged: Iterable[str]) -> int:
    """How many unchanged raw URLs a set of encoded paths evicts (for reports and tests)."""
    exact = set()
    prefixes = []
    for path in paths:
        if path.endswith("*"):
            prefixes.append(path[:-1])
        else:
            exact.add(path)
    count = 0
    for url in unchanged:
        encoded = encode_url(url)
        if encoded in exact or any(encoded.startswith(p) for p in prefixes):
            count += 1
    return count
