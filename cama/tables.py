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


def victims_markdown(df: pd.DataFrame, command: str) -> str:
    lines = ["# Victims: clean test accuracy", "",
             f"Produced by `{command}`  ", f"Versions: {versions()}", "",
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


def write_victims_table(rows: list[dict], out_dir: str | Path, command: str) -> tuple[Path, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    df = victims_frame(rows)
    csv, md = out_dir / "victims.csv", out_dir / "victims.md"
    write_text_atomic(csv, df.to_csv(index=False, float_format="%.4f"))
    write_text_atomic(md, victims_markdown(df, command))
    return csv, md
