"""Ratios of backprop to the fastest peer, from the JSON lines of benches/peers.sh.

    python benches/peers.py session PEERS.jsonl BACKPROP.jsonl
    python benches/peers.py pairs PAIRS.jsonl     (lines "ROUND peer|backprop {json}")

Per-sample rows (T1) are held to issue 5's goals: at least the fastest peer on 2-8-1, 1.5 times it
on the three larger networks; the mini-batch (T2) to at least JAX and numpy. Standard library only.
"""
import json
import sys
from collections import defaultdict

NETS = ["2-8-1", "64-32-10", "784-128-10", "256-256-256-10"]


def goal(task, net):
    return 1.0 if task == "T2" or net == "2-8-1" else 1.5


def key(r):
    return (r["task"], r.get("net") or "784-256-10", r["dtype"])


def order(k):
    task, net, dtype = k
    return (task, dtype != "f64", NETS.index(net) if net in NETS else len(NETS))


def fastest(rows):
    """The fastest single-thread peer of each row: (impl, median)."""
    best = {}
    for r in rows:
        if r.get("task") not in ("T1", "T2") or r.get("threads", 1) != 1 or not r.get("median"):
            continue
        if r["impl"] == "backprop":
            continue
        k = key(r)
        if k not in best or r["median"] > best[k][1]:
            best[k] = (r["impl"], r["median"])
    return best


def fmt(x):
    for div, unit in ((1e6, " M"), (1e3, " k")):
        if x >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def session(peer_path, backprop_path):
    load = lambda p: [json.loads(l) for l in open(p) if l.strip().startswith("{")]
    best = fastest(load(peer_path))
    ours = {key(r): r["median"] for r in load(backprop_path) if r.get("impl") == "backprop"}
    print("\nbackprop against the fastest peer (medians)\n")
    print("| task | network | dtype | backprop | fastest peer | ratio | goal |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    missed = 0
    for k in sorted(ours, key=order):
        if k not in best:
            continue
        ratio = ours[k] / best[k][1]
        ok = ratio >= goal(k[0], k[1])
        missed += not ok
        print(f"| {k[0]} | {k[1]} | {k[2]} | {fmt(ours[k])} | {fmt(best[k][1])} ({best[k][0]}) "
              f"| {ratio:.2f} | {goal(k[0], k[1]):.1f} {'met' if ok else '**missed**'} |")
    print(f"\n{missed} row(s) below the goal")


def pairs(path):
    rounds = defaultdict(dict)
    for line in open(path):
        i, who, text = line.split(" ", 2)
        r = json.loads(text)
        rounds[(key(r), i)][who] = r
    ratios = defaultdict(list)
    for (k, i), d in sorted(rounds.items(), key=lambda e: (order(e[0][0]), int(e[0][1]))):
        if "peer" in d and "backprop" in d:
            ratios[k].append((d["backprop"]["median"] / d["peer"]["median"], d["peer"]["impl"]))
    print("\nbackprop / the peer run just before it, round by round\n")
    print("| task | network | dtype | peer | ratios | goal |")
    print("| --- | --- | --- | --- | --- | --- |")
    for k in sorted(ratios, key=order):
        rs = ratios[k]
        met = sum(r >= goal(k[0], k[1]) for r, _ in rs)
        print(f"| {k[0]} | {k[1]} | {k[2]} | {rs[0][1]} | {', '.join(f'{r:.2f}' for r, _ in rs)} "
              f"| {goal(k[0], k[1]):.1f}: {met} of {len(rs)} |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["session"]:
        session(*sys.argv[2:4])
    elif sys.argv[1:2] == ["pairs"]:
        pairs(sys.argv[2])
    else:
        sys.exit(__doc__)
