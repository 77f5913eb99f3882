#!/usr/bin/env python3
"""The figures table that tools/gpu/run.sh prints last, from the JSON its benchmarks wrote in OUT:
the training step (ours against PyTorch eager and torch.compile, same GPU, same run) and
harmonization (ours end to end with the network stage inside; PyTorch's network alone).

  figures.py OUT
"""
import json
import os
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f) if path.endswith(".json") else [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError):
        return None


def train_table(out):
    cols = [("ours fp32", "train-ours-fp32.json"), ("torch eager fp32", "train-torch-eager-fp32.json"),
            ("ours tf32", "train-ours-tf32.json"), ("torch eager tf32", "train-torch-eager-tf32.json"),
            ("torch.compile tf32", "train-torch-compile-tf32.json")]
    ms = {}
    for name, f in cols:
        for r in load(os.path.join(out, f)) or []:
            ms[(name, r["size"], r["batch"])] = r["train_step_ms"]
    if not ms:
        return []
    keys = sorted({(s, b) for (_, s, b) in ms})
    lines = ["training step, ms (ratio: ours / PyTorch at the same precision; < 1 is faster)",
             "| size | batch | " + " | ".join(n for n, _ in cols) + " | ours/eager fp32 | ours/eager tf32 | ours/compile tf32 |",
             "|---" * (len(cols) + 5) + "|"]
    for s, b in keys:
        v = [ms.get((n, s, b)) for n, _ in cols]

        def ratio(a, r):
            return f"{a / r:.2f}" if a and r else "-"
        cells = [f"{x:.1f}" if x else "-" for x in v]
        lines.append(f"| {s} | {b} | " + " | ".join(cells) + f" | {ratio(v[0], v[1])} | {ratio(v[2], v[3])} | {ratio(v[2], v[4])} |")
    return lines


def harmonize_table(out):
    ours = load(os.path.join(out, "harmonize-ours.json"))
    eager = load(os.path.join(out, "harmonize-torch-eager.jsonl")) or []
    comp = load(os.path.join(out, "harmonize-torch-compile.jsonl")) or []
    if not ours and not eager:
        return []
    lines = ["harmonization on the GPU: ours end to end (read to written) and its network stage; PyTorch network only",
             "| case | ours end to end | ours network | torch eager network | torch.compile network |", "|---|---|---|---|---|"]
    torch_s = {("eager", r["size"]): r["seconds"] for r in eager}
    torch_s.update({("compile", r["size"]): r["seconds"] for r in comp})
    for c in (ours or {}).get("cases", []):
        size = "128x128" if "2 mm IXI volume" in c["case"] else "224x192" if "1 mm" in c["case"] else None
        if "volumes_per_minute" in c:
            lines.append(f"| {c['case']} | {c['seconds']:.2f} s ({c['volumes_per_minute']:.0f} volumes/min) | | | |")
            continue
        net = c.get("stages_ms", {}).get("network")
        e, k = torch_s.get(("eager", size)), torch_s.get(("compile", size))
        lines.append(f"| {c['case']} | {c['seconds']:.3f} s | {net:.0f} ms | " + (f"{1e3 * e:.0f} ms" if e else "-") + " | "
                     + (f"{1e3 * k:.0f} ms" if k else "-") + " |")
    if not ours:
        for (mode, size), s in sorted(torch_s.items()):
            lines.append(f"| {size} slices | - | - | {mode}: {1e3 * s:.0f} ms | |")
    return lines


def main():
    out = sys.argv[1]
    lines = train_table(out) + harmonize_table(out)
    print("\n".join(lines) if lines else "figures: none measured (the GPU steps did not run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
