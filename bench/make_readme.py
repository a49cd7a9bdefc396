"""Fold bench/results/*.md into bench/README.md (headings demoted one level):  python bench/make_readme.py"""
from pathlib import Path

root = Path(__file__).resolve().parent
order = ["learning", "speed", "test_suite", "dqn", "atari", "reinforce", "tabular", "recurrent", "dqn_recurrent", "recurrent_act", "autoencoders",
         "tracking", "sweep"]
files = [root / "results" / f"{n}.md" for n in order if (root / "results" / f"{n}.md").exists()]
files += [p for p in sorted((root / "results").glob("*.md")) if p not in files]
out = ["# gymkit benchmarks", "",
       "Every figure here was measured on one of this project's 2-core CPU machines (24 GiB, no GPU;",
       "the CPU model is given with each result), with the command shown beside it. Learning claims",
       "are rates over many seeds (`learning`, first). Several benchmarks ran at the same time as",
       "other work (load averages of 5-15 on 2 cores), which inflates absolute wall times 2-4x:",
       "speed claims are therefore given as ratios measured in the same run, and each section says",
       "under what load it was measured. The per-area source files are in `bench/results/`.", "",
       "Contents: " + ", ".join(f"[{p.stem}](#{p.stem})" for p in files), ""]
for p in files:
    out.append(f'<a id="{p.stem}"></a>')
    out.append("")
    for line in p.read_text().splitlines():
        out.append("#" + line if line.startswith("#") else line)
    out.append("")
(root / "README.md").write_text("\n".join(out))
print(len(out))
