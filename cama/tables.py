"""Tables: the victims' clean-accuracy table and small printing helpers."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .literature import literature
from .records import versions, write_text_atomic


def victims_frame(rows: list[dict]) -> pd.DataFrame:
    """Long table ``dataset, victim, test_acc_mean, test_acc_std, val_acc_mean, n_seeds, …`` from per-seed rows."""
    df = pd.DataFrame(rows)
    g = df.groupby(["dataset", "victim"], sort=False)
    out = g.agg(test_acc_mean=("test_acc", "mean"), test_acc_std=("test_acc", lambda s: s.std(ddof=0)),
                val_acc_mean=("val_acc", "mean"), n_seeds=("seed", "nunique"),
                epochs_mean=("epochs", "mean")).reset_index()
    lit = [literature(d, v) for d, v in zip(out.dataset, out.victim)]
    out["errica2020"] = [x["errica2020"] for x in lit]
    out["xu2019"] = [x["xu2019"] for x in lit]
    return out


def victims_markdown(df: pd.DataFrame, commands: list[str]) -> str:
    lines = ["# Victims: clean test accuracy", "",
             "Produced by " + " and ".join(f"`{c}`" for c in commands) + "  ", f"Versions: {versions()}", "",
             "Test accuracy (%) mean ± std over seeds (stratified 80/10/10 split per seed, early stopping on "
             "validation accuracy). Literature: Errica et al. ICLR 2020 (10-fold CV) and Xu et al. ICLR 2019; "
             "other protocols, shown for context.", ""]
    def lit(v):
        return "–" if v is None or pd.isna(v) else f"{v:.1f}"

    table = pd.DataFrame({
        "dataset": df.dataset, "victim": df.victim,
        "test acc (ours)": [f"{100 * m:.1f} ± {100 * s:.1f}" for m, s in zip(df.test_acc_mean, df.test_acc_std)],
        "seeds": df.n_seeds, "Errica 2020": df.errica2020.map(lit), "Xu 2019": df.xu2019.map(lit)})
    return "\n".join(lines) + "\n" + table.to_markdown(index=False, tablefmt="github") + "\n"


def write_victims_table(rows: list[dict], out_dir: str | Path, command: str, append: bool = False
                        ) -> tuple[Path, Path]:
    """``victims.csv`` (mean ± std per dataset × victim), ``victims.md`` and the per-seed rows
    behind them (``victims_seeds.csv``, with the command that produced each). ``append`` keeps
    the rows of an earlier table and replaces only the (dataset, victim, seed) rows given here."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    per_seed = pd.DataFrame(rows)[["dataset", "victim", "seed", "val_acc", "test_acc", "epochs"]].assign(command=command)
    seeds_csv = out_dir / "victims_seeds.csv"
    if append and seeds_csv.is_file():
        old = pd.read_csv(seeds_csv)
        key = ["dataset", "victim", "seed"]
        old = old[~old.set_index(key).index.isin(per_seed.set_index(key).index)]
        per_seed = pd.concat([old, per_seed], ignore_index=True)
    df = victims_frame(per_seed.to_dict("records"))
    csv, md = out_dir / "victims.csv", out_dir / "victims.md"
    write_text_atomic(seeds_csv, per_seed.to_csv(index=False, float_format="%.4f"))
    write_text_atomic(csv, df.to_csv(index=False, float_format="%.4f"))
    write_text_atomic(md, victims_markdown(df, list(dict.fromkeys(per_seed["command"]))))
    return csv, md
