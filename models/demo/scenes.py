"""A small procedural world of captioned landscapes: the training data of the bundled demo model.

Each scene is drawn natively at any width × height (so aspect ratios change the framing, never crop it) from a
seeded ``Scene`` of attributes, and its caption states exactly those attributes, so a caption can be parsed back
into the ground truth an evaluation compares against. The layout keeps each attribute in a known band of the
frame (sky on top, mountains in the middle, water or grass below, trees in the bottom corners) because the
evaluation's detectors read those bands.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

TIMES = ("dawn", "noon", "dusk", "night")
# Synonyms teach the text encoder that two words can mean one sky; the first word is canonical.
TIME_WORDS: dict[str, tuple[str, ...]] = {
    "dawn": ("dawn", "sunrise"),
    "noon": ("noon", "midday"),
    "dusk": ("dusk", "sunset"),
    "night": ("night",),
}
MOUNTAIN_COLOURS = ("blue", "purple", "red", "green", "grey")
SUN_COLOURS = ("red", "orange", "yellow")
WATERS = ("sea", "lake")

# Sky gradients (zenith, horizon) in RGB.
SKY: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "dawn": ((96, 112, 176), (250, 176, 150)),
    "noon": ((50, 120, 225), (165, 205, 250)),
    "dusk": ((64, 36, 104), (245, 120, 60)),
    "night": ((4, 6, 22), (22, 28, 66)),
}
# Light on the land by time of day: a per-channel multiplier (night is dim and blue, dusk warm).
LIGHT: dict[str, tuple[float, float, float]] = {
    "dawn": (1.0, 0.88, 0.85),
    "noon": (1.0, 1.0, 1.0),
    "dusk": (0.95, 0.75, 0.7),
    "night": (0.4, 0.45, 0.65),
}
MOUNTAIN_RGB: dict[str, tuple[int, int, int]] = {
    "blue": (50, 80, 190),
    "purple": (120, 50, 160),
    "red": (185, 45, 40),
    "green": (50, 140, 60),
    "grey": (128, 128, 128),
}
SUN_RGB: dict[str, tuple[int, int, int]] = {"red": (235, 50, 35), "orange": (255, 150, 30), "yellow": (255, 235, 70)}
MOON_RGB = (236, 236, 220)
GRASS_RGB = (95, 150, 60)
TREE_RGB = (20, 62, 30)
WATER_RGB = ((40, 95, 185), (20, 60, 140))  # near the horizon, at the bottom

# Attribute pairs never shown together in training: the held-out half of the evaluation asks for exactly these,
# to measure whether the model composes words it has only seen apart.
HELD_OUT_PAIRS: tuple[tuple[str, str], ...] = (
    ("night", "red"),
    ("noon", "purple"),
    ("dawn", "lake"),
    ("dusk", "snowy"),
    ("moon", "green"),
)

# Where things are, as fractions of the height; the evaluation's detectors rely on these bands.
RIDGE_TOP, RIDGE_LOW = 0.30, 0.45  # the mountain ridge stays inside this band
HORIZON = 0.62  # mountains meet water or grass here
SHORE = 0.86  # with a sea and trees, a strip of grass from here down holds the trees


@dataclass(frozen=True)
class Scene:
    """The ground truth of one picture; ``sun_colour`` is None for the moon or no body."""

    time: str
    body: str | None  # "sun", "moon" or None
    sun_colour: str | None
    mountains: str
    snowy: bool
    water: str | None  # "sea", "lake" or None
    trees: bool
    clouds: bool
    stars: bool

    def tags(self) -> set[str]:
        """Attribute words of this scene, the vocabulary ``HELD_OUT_PAIRS`` is written in."""
        tags = {self.time, self.mountains}
        tags.update(t for t in (self.body, self.water) if t)
        tags.update(name for name, on in (("snowy", self.snowy), ("trees", self.trees)) if on)
        return tags

    def is_held_out(self) -> bool:
        """True when the scene shows a pair of attributes that training never shows together."""
        tags = self.tags()
        return any(a in tags and b in tags for a, b in HELD_OUT_PAIRS)


def sample_scene(rng: random.Random, held_out: bool = False) -> Scene:
    """Draw random attributes; a training scene never holds a held-out pair, and a held-out one always does."""
    while True:
        time = rng.choice(TIMES)
        bodies = {"dawn": ["sun", "moon", None], "noon": ["sun", None], "dusk": ["sun", "moon", None]}
        body = rng.choice(bodies.get(time, ["moon", None]))
        scene = Scene(
            time=time,
            body=body,
            sun_colour=rng.choice(SUN_COLOURS) if body == "sun" else None,
            mountains=rng.choice(MOUNTAIN_COLOURS),
            snowy=rng.random() < 0.35,
            water=rng.choice([*WATERS, None]),
            trees=rng.random() < 0.4,
            clouds=time != "night" and rng.random() < 0.35,
            stars=time == "night" and rng.random() < 0.5,
        )
        if scene.is_held_out() == held_out:
            return scene


def caption(scene: Scene, rng: random.Random) -> str:
    """Describe ``scene`` in the demo grammar; the sun's colour is named only sometimes, the rest always."""
    mountains = f"{'snowy ' if scene.snowy else ''}{scene.mountains} mountains"
    time_word = rng.choice(TIME_WORDS[scene.time])
    if scene.body == "sun":
        article = "an" if scene.sun_colour == "orange" else "a"
        body = f"{article} {scene.sun_colour} sun" if rng.random() < 0.6 else "the sun"
        head = f"{body} over {mountains}"
    elif scene.body == "moon":
        head = f"{rng.choice(['a', 'the'])} moon over {mountains}"
    else:
        head = mountains
    clauses = []
    if scene.water:
        clauses.append("by the sea" if scene.water == "sea" else "by a lake")
    if scene.trees:
        clauses.append("with trees")
    if scene.clouds:
        clauses.append("with clouds")
    if scene.stars:
        clauses.append("under stars")
    rng.shuffle(clauses)
    return " ".join([head, f"at {time_word}", *clauses])


def parse_caption(text: str) -> dict[str, str | bool | None]:
    """Read back the attributes a caption states (a sun colour of None means unstated)."""
    words = text.lower().replace(",", " ").split()
    canonical = {w: t for t, ws in TIME_WORDS.items() for w in ws}
    body = "sun" if "sun" in words else "moon" if "moon" in words else None
    before_mountains = words[: words.index("mountains")] if "mountains" in words else words
    sun_words = [w for w in words[: words.index("sun")] if w in SUN_COLOURS] if body == "sun" else []
    return {
        "time": next((canonical[w] for w in words if w in canonical), None),
        "body": body,
        "sun_colour": sun_words[-1] if sun_words else None,
        "mountains": next((w for w in reversed(before_mountains) if w in MOUNTAIN_COLOURS), None),
        "snowy": "snowy" in words,
        "water": "sea" if "sea" in words else "lake" if "lake" in words else None,
        "trees": "trees" in words,
        "clouds": "clouds" in words,
        "stars": "stars" in words,
    }


def lit(rgb: tuple[int, int, int], time: str) -> np.ndarray:
    """``rgb`` as the land shows it at ``time``: the time's light multiplies each channel."""
    return np.array(rgb, dtype=np.float32) * np.array(LIGHT[time], dtype=np.float32)


def _ridge(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A mountain ridge: y per column, a few random sinusoids plus sharp peaks, kept inside its band."""
    x = np.linspace(0.0, 1.0, width, dtype=np.float32) * (width / height)  # in units of the height
    y = np.zeros(width, dtype=np.float32)
    for freq in (1.3, 2.9, 6.1):
        y += rng.uniform(0.3, 1.0) / freq * np.sin(2 * np.pi * (freq * x + rng.uniform(0, 1)))
    peaks = np.abs(np.sin(np.pi * (x * rng.uniform(1.2, 2.2) + rng.uniform(0, 1))))
    y -= 0.8 * peaks
    y = (y - y.min()) / max(float(np.ptp(y)), 1e-6)
    return (RIDGE_TOP + (RIDGE_LOW - RIDGE_TOP) * y) * height


def render(scene: Scene, width: int, height: int, seed: int) -> np.ndarray:
    """Draw ``scene`` as a height × width × 3 uint8 RGB array; the seed only moves things, never adds or drops them."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    t = scene.time
    # 1. Sky: a vertical gradient from zenith to horizon.
    zenith, horizon = (np.array(c, dtype=np.float32) for c in SKY[t])
    mix = np.clip(yy / (HORIZON * height), 0, 1)[..., None] ** 1.3
    img = zenith * (1 - mix) + horizon * mix
    if scene.stars:
        sky_px = rng.random((height, width)) < 0.012
        sky_px &= yy < RIDGE_TOP * height
        img[sky_px] = (235, 235, 255)
    # 2. The sun or moon: a disc high in the sky, clear of the clouds' band below it and of the ridge.
    size = np.sqrt(width * height)
    if scene.body:
        r = min(0.065 * size, 0.09 * height)
        cx, cy = rng.uniform(0.15, 0.85) * width, rng.uniform(0.09, 0.15) * height
        d = np.hypot(xx - cx, yy - cy)
        colour = np.array(SUN_RGB[scene.sun_colour] if scene.sun_colour is not None else MOON_RGB, dtype=np.float32)
        glow = np.clip(1 - (d - r) / (1.2 * r), 0, 1)[..., None] * (0.35 if scene.body == "sun" else 0.15)
        img = img * (1 - glow) + colour * glow
        img[d <= r] = colour
    # 3. Clouds: soft flat ellipses, kept above the ridge band so they never look like snow.
    if scene.clouds:
        for _ in range(rng.integers(2, 4)):
            cx, cy = rng.uniform(0, 1) * width, rng.uniform(0.08, 0.2) * height
            a, b = rng.uniform(0.12, 0.22) * size, rng.uniform(0.025, 0.04) * height
            inside = ((xx - cx) / a) ** 2 + ((yy - cy) / b) ** 2
            alpha = np.clip(1.4 * (1 - inside), 0, 1)[..., None] * 0.9
            img = img * (1 - alpha) + np.array((240, 240, 245), dtype=np.float32) * alpha
    # 4. Mountains: ridge to horizon, darker toward the foot; snow caps a band under the highest peaks.
    ridge = _ridge(rng, width, height)
    horizon_y = HORIZON * height
    mountain = (yy >= ridge[None, :]) & (yy < horizon_y)
    shade = 1.0 - 0.25 * np.clip((yy - ridge[None, :]) / (horizon_y - ridge.min()), 0, 1)
    rock = lit(MOUNTAIN_RGB[scene.mountains], t) * shade[..., None]
    img = np.where(mountain[..., None], rock, img)
    if scene.snowy:
        snow = mountain & (yy < ridge[None, :] + 0.05 * height) & (ridge[None, :] < 0.4 * height)
        img[snow] = lit((245, 245, 250), t)
    # 5. Ground: grass, the sea to the bottom (a grass strip when trees stand there), or a lake in grass.
    below = yy >= horizon_y
    # Grass lightens toward the viewer; a smooth ramp, since pixel noise would only cost the VAE capacity.
    near = np.clip((yy - horizon_y) / ((1 - HORIZON) * height), 0, 1)[..., None]
    img = np.where(below[..., None], lit(GRASS_RGB, t) * (0.85 + 0.15 * near), img)
    water = np.zeros_like(below)
    if scene.water == "sea":
        water = below & (yy < SHORE * height) if scene.trees else below
    elif scene.water == "lake":
        ex = ((xx - 0.5 * width) / (0.3 * width)) ** 2 + ((yy - 0.8 * height) / (0.1 * height)) ** 2
        water = below & (ex <= 1)
    if water.any():
        depth = np.clip((yy - horizon_y) / ((1 - HORIZON) * height), 0, 1)[..., None]
        sea = lit(WATER_RGB[0], t) * (1 - depth) + lit(WATER_RGB[1], t) * depth
        img = np.where(water[..., None], sea, img)
    # 6. Trees: conifers standing in the bottom corners, left and right of the lake.
    if scene.trees:
        for _ in range(rng.integers(3, 7)):
            side = rng.integers(0, 2)
            cx = (rng.uniform(0.03, 0.25) if side == 0 else rng.uniform(0.75, 0.97)) * width
            base, tall = rng.uniform(0.93, 1.0) * height, rng.uniform(0.14, 0.2) * height
            half = 0.35 * tall * (yy - (base - tall)) / tall
            tree = (yy >= base - tall) & (yy <= base) & (np.abs(xx - cx) <= half)
            img[tree] = lit(TREE_RGB, t)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_example(seed: int, width: int, height: int, held_out: bool = False) -> tuple[np.ndarray, str, Scene]:
    """One training (or held-out) example: image, caption and ground truth, all fixed by ``seed``."""
    rng = random.Random(seed)
    scene = sample_scene(rng, held_out=held_out)
    return render(scene, width, height, seed), caption(scene, rng), scene
