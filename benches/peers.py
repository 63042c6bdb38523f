"""Ratios of backprop to the fastest peer, from the JSON lines of benches/peers.sh.

    python benches/peers.py session PEERS.jsonl BACKPROP.jsonl
    python benches/peers.py pairs PAIRS.jsonl     (lines "ROUND peer|backprop {json}")
    python benches/peers.py t6 PEERS.jsonl BACKPROP.jsonl

T6 (the restart experiment end to end) is held to issue 14's goals: backprop's whole process at
least 3.0 times as fast as JAX's vmap, and its SGD steps per second at least 1.6 times the
single-thread per-sample rate of `backprop bench` on the same step (80 % of two cores).

Per-sample rows (T1) are held to issue 5's goals: at least the fastest peer on 2-8-1, 1.5 times it
on the three larger networks. The mini-batch (T2) is held to at least the fastest peer measured
(the goal names JAX and numpy; scikit-learn, the other peer, is slower). Standard library only.
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


def timed(r):
    """A single-thread T1 or T2 figure (not a kernel, a limit or an unavailable peer)."""
    return r.get("task") in ("T1", "T2") and r.get("threads", 1) == 1 and bool(r.get("median"))


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def fmt(x):
    for div, unit in ((1e6, " M"), (1e3, " k")):
        if x >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def session(peer_path, backprop_path):
    best = {}
    for r in filter(timed, load(peer_path)):
        if r["impl"] != "backprop" and (key(r) not in best or r["median"] > best[key(r)][1]):
            best[key(r)] = (r["impl"], r["median"])
    ours = {key(r): r["median"] for r in load(backprop_path) if r.get("impl") == "backprop" and timed(r)}
    print("\nbackprop against the fastest peer (medians)\n")
    print("| task | network | dtype | backprop | fastest peer | ratio | goal |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    missed = missing = 0
    for k in sorted(set(ours) | set(best), key=order):
        if k not in ours or k not in best:
            missing += 1
            mine = fmt(ours[k]) if k in ours else "missing"
            theirs = f"{fmt(best[k][1])} ({best[k][0]})" if k in best else "no peer"
            print(f"| {k[0]} | {k[1]} | {k[2]} | {mine} | {theirs} | - | - |")
            continue
        ratio = ours[k] / best[k][1]
        ok = ratio >= goal(k[0], k[1])
        missed += not ok
        print(f"| {k[0]} | {k[1]} | {k[2]} | {fmt(ours[k])} | {fmt(best[k][1])} ({best[k][0]}) "
              f"| {ratio:.2f} | {goal(k[0], k[1]):.1f} {'met' if ok else '**missed**'} |")
    print(f"\n{missed} row(s) below the goal, {missing} row(s) without both sides")


def pairs(path):
    # (row, round) -> {"peer": the fastest peer line of the round, "backprop": backprop's line}
    rounds = defaultdict(dict)
    with open(path) as f:
        for line in f:
            parts = line.split(" ", 2)
            if len(parts) < 3 or not parts[2].strip().startswith("{"):
                continue
            i, who, r = parts[0], parts[1], json.loads(parts[2])
            if not timed(r):
                continue
            d = rounds[(key(r), i)]
            if who not in d or r["median"] > d[who]["median"]:
                d[who] = r
    ratios = defaultdict(list)
    for (k, i), d in sorted(rounds.items(), key=lambda e: (order(e[0][0]), int(e[0][1]))):
        if "peer" in d and "backprop" in d:
            ratios[k].append((d["backprop"]["median"] / d["peer"]["median"], d["peer"]["impl"]))
        else:
            ratios[k].append((None, "missing"))
    print("\nbackprop / the fastest peer run just before it, round by round\n")
    print("| task | network | dtype | peer | ratios | goal |")
    print("| --- | --- | --- | --- | --- | --- |")
    for k in sorted(ratios, key=order):
        rs = ratios[k]
        peers = sorted({p for r, p in rs if r is not None})
        met = sum(r is not None and r >= goal(k[0], k[1]) for r, _ in rs)
        cells = ", ".join("-" if r is None else f"{r:.2f}" for r, _ in rs)
        print(f"| {k[0]} | {k[1]} | {k[2]} | {', '.join(peers)} | {cells} "
              f"| {goal(k[0], k[1]):.1f}: {met} of {len(rs)} |")


def t6(peer_path, backprop_path):
    peers = [r for r in load(peer_path) if r.get("task") == "T6" and r.get("median")]
    ours = [r for r in load(backprop_path) if r.get("task") == "T6" and r.get("impl") == "backprop"]
    print("\nT6: the restart experiment end to end (32 restarts of 64-32-10 on digits, 2 threads)\n")
    if not ours:
        print("no backprop T6 line")
        return
    me = ours[-1]
    print("| program | seconds (median) | min | max | SGD steps/s | backprop's speed-up | goal |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(f"| backprop restarts | {me['median']:.3g} | {me['min']:.3g} | {me['max']:.3g} "
          f"| {fmt(me['steps_per_s'])} | - | - |")
    for r in peers:
        ratio = r["median"] / me["median"]
        target = 3.0 if r["impl"] == "jax_vmap" else None
        verdict = "-" if target is None else f"{target:.1f} {'met' if ratio >= target else '**missed**'}"
        print(f"| {r['impl']} | {r['median']:.3g} | {r.get('min', r['median']):.3g} "
              f"| {r.get('max', r['median']):.3g} | {fmt(r['steps_per_s'])} | {ratio:.2f} | {verdict} |")
    if not peers:
        print("| (no peer T6 line) | | | | | | |")
    bench = me.get("bench_steps_per_s")
    if bench:
        share = me["steps_per_s"] / bench
        print(f"\nsteps/s of the job / single-thread `backprop bench --net 64-32-10 --activation tanh "
              f"--loss cross-entropy` ({fmt(bench)}): {share:.2f} (goal 1.6: "
              f"{'met' if share >= 1.6 else '**missed**'})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["session"] and len(sys.argv) == 4:
        session(*sys.argv[2:4])
    elif sys.argv[1:2] == ["t6"] and len(sys.argv) == 4:
        t6(*sys.argv[2:4])
    elif sys.argv[1:2] == ["pairs"] and len(sys.argv) == 3:
        pairs(sys.argv[2])
    else:
        sys.exit(__doc__)
