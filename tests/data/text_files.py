"""Small CSVs of short reviews for `data.text` (and configs/data/reviews.csv): positive ones use
words of praise, negative ones words of blame, both padded with neutral words."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

GOOD = [
    "great",
    "wonderful",
    "loved",
    "superb",
    "brilliant",
    "moving",
    "funny",
    "charming",
    "delightful",
    "masterpiece",
]
BAD = ["awful", "boring", "hated", "dull", "terrible", "clumsy", "tedious", "weak", "forgettable", "mess"]
NEUTRAL = [
    "the",
    "film",
    "movie",
    "plot",
    "actors",
    "story",
    "was",
    "a",
    "and",
    "it",
    "this",
    "with",
    "of",
    "scenes",
    "ending",
    "music",
    "cast",
]


def review(positive: bool, rng: np.random.Generator) -> str:
    words = list(rng.choice(NEUTRAL, size=int(rng.integers(4, 12))))
    own = GOOD if positive else BAD
    for _ in range(int(rng.integers(1, 4))):
        words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(own)))
    text = " ".join(words).capitalize()
    return text + str(rng.choice([".", "!", "..."]))


def write_reviews(path: Path, n: int = 200, seed: int = 0, extra: bool = False) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["review", "stars", "sentiment"] if extra else ["review", "sentiment"])
        for i in range(n):
            positive = bool(i % 2)
            row = [review(positive, rng)]
            if extra:
                row.append(int(rng.integers(1, 6)))
            w.writerow([*row, "positive" if positive else "negative"])
    return path


if __name__ == "__main__":  # regenerates configs/data/reviews.csv
    write_reviews(Path(__file__).resolve().parents[2] / "configs" / "data" / "reviews.csv", n=300, seed=1)
