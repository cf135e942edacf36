"""Analytic detectors that read a demo scene's attributes back from pixels, so the model is scored without a human.

Each detector reduces one band of the frame (see the layout constants in ``scenes``) to a few numbers, and a
nearest-centroid rule turns them into a label. The centroids are fitted on the generator's own renders and the
detectors are validated on other renders and on VAE reconstructions before any model output is judged, so a
detector that cannot read the ground truth is caught instead of blamed on the model.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from models.demo.scenes import HORIZON, TIMES, Scene, lit, make_example

# The attributes judged, each as a function of the ground truth giving its label.
LABELS = {
    "time": lambda s: s.time,
    "body": lambda s: s.body or "none",
    "sun_colour": lambda s: s.sun_colour,
    "mountains": lambda s: s.mountains,
    "snowy": lambda s: s.snowy,
    "water": lambda s: s.water or "none",
    "trees": lambda s: s.trees,
    "clouds": lambda s: s.clouds,
    "stars": lambda s: s.stars,
}


def _band(img: np.ndarray, top: float, bottom: float, left: float = 0.0, right: float = 1.0) -> np.ndarray:
    h, w = img.shape[:2]
    y0, y1 = int(top * h), max(int(top * h) + 1, int(bottom * h))
    x0, x1 = int(left * w), max(int(left * w) + 1, int(right * w))
    return img[y0:y1, x0:x1].astype(np.float32)


def _median(px: np.ndarray) -> np.ndarray:
    return np.median(px.reshape(-1, 3), axis=0)


def _erode(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary erosion by a square: what survives is at least 2·radius+1 pixels thick both ways."""
    if radius <= 0:
        return mask
    padded = np.pad(mask, radius, constant_values=False)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (2 * radius + 1, 2 * radius + 1))
    return np.asarray(windows.all(axis=(-1, -2)))


def _sky_outliers(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of the upper sky that stand out from their row (sun, moon, clouds, stars), and the sky itself."""
    sky = _band(img, 0.0, 0.28)
    background = np.median(sky, axis=1, keepdims=True)
    return np.abs(sky - background).sum(-1) > 90, sky


def features(img: np.ndarray) -> dict[str, np.ndarray]:
    """The numbers each detector reads, from an H × W × 3 uint8 image of any size."""
    h, w = img.shape[:2]
    outliers, sky = _sky_outliers(img)
    # The disc is thicker than any cloud or star, so eroding by a bit under its radius leaves only the disc.
    r = min(0.065 * np.sqrt(w * h), 0.09 * h)
    core = _erode(outliers, max(1, int(0.55 * r)))
    disc = sky[core] if core.any() else np.zeros((1, 3), np.float32)
    disc_rgb = disc.mean(0)
    saturation = (disc.max(-1) - disc.min(-1)).mean()
    # Clouds are wide: the longest run of columns holding pale outliers, once the disc's columns are set aside.
    pale = outliers & ((sky.max(-1) - sky.min(-1)) < 60)
    disc_cols = np.flatnonzero(core.any(0))
    cols = pale.any(0)
    if disc_cols.size:
        cols[max(0, int(disc_cols.min() - r)) : int(disc_cols.max() + r + 1)] = False
    run = best = 0
    for c in cols:
        run = run + 1 if c else 0
        best = max(best, run)
    # Stars are single bright pixels: brightness well above the mean of their 3 × 3 neighbourhood.
    lum = sky.mean(-1)
    padded = np.pad(lum, 1, mode="edge")
    local = np.lib.stride_tricks.sliding_window_view(padded, (3, 3)).mean(axis=(-1, -2))
    specks = (lum - local) > 40
    rock = _median(_band(img, 0.48, 0.58))
    # Snow is near-white lit by the time of day: one score per time, the centroids sort out which applies.
    ridge = _band(img, 0.28, 0.47)
    snow = [np.linalg.norm(ridge - lit((245, 245, 250), t), axis=-1) < 45 for t in TIMES]
    mid = _median(_band(img, 0.76, 0.84, 0.42, 0.58))
    sides = (_median(_band(img, 0.64, 0.70, 0.02, 0.12)) + _median(_band(img, 0.64, 0.70, 0.88, 0.98))) / 2
    corners = np.concatenate([_band(img, 0.78, 0.95, 0.0, 0.25), _band(img, 0.78, 0.95, 0.75, 1.0)], axis=1)
    grass = _median(_band(img, HORIZON + 0.02, HORIZON + 0.06))
    dark = corners.mean(-1)
    return {
        "time": np.concatenate([_median(_band(img, 0.0, 0.05)), _median(_band(img, 0.2, 0.27))]),
        "body": np.array([core.sum() / max(1.0, np.pi * (0.45 * r) ** 2), saturation / 100]),
        "sun_colour": disc_rgb / 255,
        "mountains": rock / 255,
        "snowy": np.array([m.mean() * 10 for m in snow]),
        "water": np.concatenate([mid, sides]) / 255,
        "trees": np.array([(dark < 0.55 * np.quantile(dark, 0.9)).mean() * 5, grass.mean() / 255]),
        "clouds": np.array([best / w * 5]),
        "stars": np.array([specks.mean() * 100]),
    }


@dataclass
class Detectors:
    """Nearest-centroid detectors: per attribute, the mean feature of each ground-truth label."""

    # Keyed by (label, time of day): light changes every colour, so one label has one centroid per time.
    centroids: dict[str, dict[tuple[object, str], np.ndarray]] = field(default_factory=dict)

    def fit(self, examples: list[tuple[np.ndarray, Scene]]) -> Detectors:
        """Fit centroids from rendered images and their ground truth."""
        feats = [(features(img), scene) for img, scene in examples]
        for name, label_of in LABELS.items():
            groups: dict[tuple[object, str], list[np.ndarray]] = {}
            for f, scene in feats:
                label = label_of(scene)
                if label is not None and (name != "stars" or scene.time == "night"):
                    groups.setdefault((label, scene.time), []).append(f[name])
            self.centroids[name] = {label: np.mean(v, axis=0) for label, v in groups.items()}
        return self

    def detect(self, img: np.ndarray) -> dict[str, object]:
        """Label every attribute of ``img``."""
        f = features(img)
        return {
            name: min(centroids, key=lambda key: float(np.sum((f[name] - centroids[key]) ** 2)))[0]
            for name, centroids in self.centroids.items()
        }


def judge(detected: dict[str, object], scene: Scene) -> dict[str, bool]:
    """Which of the attributes a caption states came out right (sun colour only when a sun is asked for)."""
    checks = {}
    for name, label_of in LABELS.items():
        want = label_of(scene)
        if want is None or (name == "stars" and scene.time != "night"):
            continue
        checks[name] = detected[name] == want
    return checks


def calibration_set(n: int, seed: int) -> list[tuple[np.ndarray, Scene]]:
    """Renders of training-distribution scenes at random buckets, for fitting or validating the detectors."""
    from models.demo.architecture import random_bucket

    rng = random.Random(seed)
    out = []
    for i in range(n):
        w, h = random_bucket(rng)
        img, _, scene = make_example(seed * 100_000 + i, w, h, held_out=i % 3 == 0)
        out.append((img, scene))
    return out
