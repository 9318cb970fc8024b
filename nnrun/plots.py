"""Figures for a run folder. matplotlib is imported here only, with the Agg backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def curves(history: list[dict[str, float]], out_dir: Path, title: str, kept_epoch: int | None = None) -> list[Path]:
    """loss.png and one PNG per metric: train vs validation by epoch.

    `kept_epoch`, the epoch whose weights the model holds, is marked on each (a dashed line
    and a dot on the validation curve, or the training one without validation).
    """
    if not history:
        return []
    plt = pyplot()
    written = []
    keys = [k for k in history[0] if k not in ("epoch", "learning_rate") and not k.startswith("val_")]
    epochs = [r["epoch"] for r in history]
    for key in keys:
        fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
        ax.plot(epochs, [r.get(key) for r in history], label=f"train {key}")
        if f"val_{key}" in history[0]:
            ax.plot(epochs, [r.get(f"val_{key}") for r in history], label=f"validation {key}")
        _mark_kept(ax, history, key, kept_epoch)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.set_title(f"{title}: {key}")
        if key == "loss" and all((r.get(key) or 0) > 0 for r in history):
            values = [r[key] for r in history]
            if max(values) / max(min(values), 1e-12) > 100:
                ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = out_dir / f"{key}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    lrs = [r.get("learning_rate") for r in history]
    if len(set(lrs)) > 1:
        fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
        ax.plot(epochs, lrs)
        ax.set_xlabel("epoch")
        ax.set_ylabel("learning rate")
        ax.set_title(f"{title}: learning rate")
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        path = out_dir / "learning_rate.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written


def _mark_kept(ax: Any, history: list[dict[str, float]], key: str, kept_epoch: int | None) -> None:
    row = next((r for r in history if r.get("epoch") == kept_epoch), None)
    if row is None:
        return
    shown = f"val_{key}" if row.get(f"val_{key}") is not None else key
    last = kept_epoch == history[-1].get("epoch")
    label = f"kept weights (epoch {kept_epoch}{', the last' if last else ''})"
    ax.axvline(kept_epoch, color="0.4", linestyle="--", linewidth=1, zorder=1)
    ax.plot([kept_epoch], [row.get(shown)], "o", color="black", markersize=6, label=label, zorder=3)


def confusion_matrix(matrix: list[list[int]], names: list[str], path: Path, title: str) -> Path:
    plt = pyplot()
    k = len(matrix)
    fig, ax = plt.subplots(figsize=(max(4, 0.6 * k + 2), max(3.5, 0.6 * k + 1.5)), dpi=100)
    im = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(im, ax=ax)
    ax.set_xticks(range(k), names, rotation=45 if k > 4 else 0)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title}: confusion matrix (test)")
    peak = max(max(r) for r in matrix) or 1
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                str(matrix[i][j]),
                ha="center",
                va="center",
                color="white" if matrix[i][j] > peak / 2 else "black",
            )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
