"""Final evaluation on the test split with scikit-learn: the numbers for metrics.json,
the rows for predictions.csv and the confusion matrix."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnrun.data import Dataset


def probabilities(raw: np.ndarray) -> np.ndarray:
    """Model outputs -> (n, k) class probabilities (k = 2 for a 1-unit binary output)."""
    raw = np.asarray(raw, dtype="float64")
    if raw.ndim == 1:
        raw = raw[:, None]
    if raw.shape[1] == 1:
        p = np.clip(raw[:, 0], 0.0, 1.0)
        return np.stack([1 - p, p], axis=1)
    return raw


def true_classes(data: Dataset, y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    return y.reshape(-1).astype("int64")


def evaluate(outputs: np.ndarray, data: Dataset, threshold: float = 0.5) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Test metrics and per-row predictions."""
    from sklearn import metrics as skm

    if data.task == "regression":
        pred = np.asarray(outputs, dtype="float64").reshape(len(outputs), -1)
        true = np.asarray(data.y_test, dtype="float64").reshape(len(pred), -1)
        result: dict[str, Any] = {
            "mse": float(skm.mean_squared_error(true, pred)),
            "mae": float(skm.mean_absolute_error(true, pred)),
            "r2": float(skm.r2_score(true, pred)) if len(true) > 1 else float("nan"),
        }
        return result, regression_rows(pred, true, data.test_rows)

    probs = probabilities(outputs)
    finite = np.isfinite(probs).all()
    true = true_classes(data, data.y_test)
    k = max(probs.shape[1], data.n_classes or 2)
    pred = predicted_classes(probs, data.task, threshold)
    labels = list(range(k))
    names = data.class_names or [str(i) for i in labels]
    average = "binary" if k == 2 else "macro"
    # one call for the three (what precision_score, recall_score and f1_score each compute in full)
    precision, recall, f1, _ = skm.precision_recall_fscore_support(true, pred, average=average, zero_division=0)
    result = {
        "accuracy": float(skm.accuracy_score(true, pred)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
    }
    roc = float("nan")
    if finite and len(set(true.tolist())) == k:
        try:
            roc = float(
                skm.roc_auc_score(true, probs[:, 1]) if k == 2 else skm.roc_auc_score(true, probs, multi_class="ovr")
            )
        except ValueError:
            pass
    result["roc_auc"] = roc
    result["confusion_matrix"] = skm.confusion_matrix(true, pred, labels=labels).tolist()
    result["class_names"] = names
    result["threshold"] = threshold if k == 2 else None
    return result, class_rows(probs, pred, names, true, data.test_rows)


def predicted_classes(probs: np.ndarray, task: str, threshold: float) -> np.ndarray:
    """Class indices: `p(class 1) > threshold` for a binary task, else the most probable class."""
    if probs.shape[1] == 2 and task == "binary":
        return (probs[:, 1] > threshold).astype("int64")
    return probs.argmax(axis=1)


def class_rows(
    probs: np.ndarray,
    pred: np.ndarray,
    names: list[str],
    true: np.ndarray | None = None,
    index: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """predictions.csv rows: row, target (when known), predicted, one p_<class> per class."""
    rows: list[dict[str, Any]] = []
    for i in range(len(pred)):
        row: dict[str, Any] = {"row": int(index[i]) if index is not None else i}
        if true is not None:
            row["target"] = names[true[i]]
        row["predicted"] = names[pred[i]]
        for j, n in enumerate(names[: probs.shape[1]]):
            row[f"p_{n}"] = float(probs[i, j])
        rows.append(row)
    return rows


def regression_rows(
    pred: np.ndarray, true: np.ndarray | None = None, index: np.ndarray | None = None
) -> list[dict[str, Any]]:
    """predictions.csv rows: row, target (when known), prediction; `_<j>` suffixes for several outputs."""
    rows: list[dict[str, Any]] = []
    for i in range(len(pred)):
        row: dict[str, Any] = {"row": int(index[i]) if index is not None else i}
        for j in range(pred.shape[1]):
            suffix = "" if pred.shape[1] == 1 else f"_{j}"
            if true is not None:
                row[f"target{suffix}"] = float(true[i, j])
            row[f"prediction{suffix}"] = float(pred[i, j])
        rows.append(row)
    return rows


def baseline(data: Dataset, loss: Any) -> dict[str, Any]:
    """What a model that ignores its inputs scores, per split: run.json's `baseline`.

    `majority_rate` (classifiers): the share of the most frequent class in each split, the
    accuracy of always answering that class.
    `constant_loss`: `loss` of the best constant guess learnt from the training split (its
    class frequencies, or its mean target) on each split. The diagnosis compares curves with
    these: accuracy near the majority rate is chance level, a loss far above the constant
    guess's has blown up.
    """
    splits = {"train": data.y_train, "validation": data.y_val}
    y_train = np.asarray(data.y_train)
    out: dict[str, Any] = {}
    if data.task == "regression":
        guess = np.asarray(y_train, dtype="float64").reshape(len(y_train), -1).mean(axis=0)
    else:
        k = max(data.n_classes or 2, 2)
        counts = np.bincount(true_classes(data, y_train), minlength=k).astype("float64")
        freq = counts / max(counts.sum(), 1.0)
        out["majority_rate"] = {
            name: float(np.bincount(true_classes(data, y), minlength=k).max() / len(y))
            for name, y in splits.items()
            if len(y)
        }
        # the model's output format: one probability (1-unit binary) or one per class
        binary_column = y_train.ndim == 2 and y_train.shape[1] == 1
        guess = freq[1:2] if binary_column else freq
    losses: dict[str, float] = {}
    for name, y in splits.items():
        if not len(y):
            continue
        pred = np.broadcast_to(guess, (len(y), *guess.shape)).astype("float32")
        try:
            value = float(np.mean(np.asarray(loss(np.asarray(y), pred))))
        except Exception:  # noqa: BLE001 - a loss that cannot score a constant simply has no baseline
            continue
        if math.isfinite(value):
            losses[name] = value
    out["constant_loss"] = losses
    return out


def with_inputs(rows: list[dict[str, Any]], inputs: Any) -> list[dict[str, Any]]:
    """Prediction rows with each row's input columns (a DataFrame in original units) after
    `row`; an input named like a prediction column gets an `input_` prefix. `inputs` None
    (images, sequences) leaves the rows as they are."""
    if inputs is None or len(inputs) != len(rows) or not rows:
        return rows
    taken = set(rows[0])
    frame = inputs.rename(columns={c: f"input_{c}" if str(c) in taken else str(c) for c in inputs.columns})
    for c in frame.columns:  # float32 sources: 20.57, not 20.56999969482422
        if frame[c].dtype == np.float32:
            frame[c] = [float(str(v)) for v in frame[c]]
    records = frame.to_dict("records")
    return [
        {"row": r["row"], **values, **{k: v for k, v in r.items() if k != "row"}}
        for r, values in zip(rows, records, strict=True)
    ]
