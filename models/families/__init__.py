"""The model families the engine runs, one adapter module each, recognised by their diffusers pipeline class.

Adding a family is one new module (an adapter satisfying ``base.FamilyAdapter``, with its flags' mapping and
sources in its docstring, and a ``REGISTRATION``), one line in ``FAMILIES``, and its tests.
"""

from __future__ import annotations

from typing import Any

from models.families import flux, flux2_klein, sd, sd3, z_image
from models.families.base import FamilyAdapter, Registration

FAMILIES: tuple[Registration, ...] = (
    sd.REGISTRATION,
    sd3.REGISTRATION,
    flux.REGISTRATION,
    flux2_klein.REGISTRATION,
    z_image.REGISTRATION,
)

__all__ = ["FAMILIES", "FamilyAdapter", "Registration", "by_class_name", "for_pipeline", "names"]


def for_pipeline(pipe: Any) -> Registration | None:
    """The family of a loaded pipeline (by its class, subclasses included), or None."""
    return next((family for family in FAMILIES if isinstance(pipe, family.pipelines)), None)


def by_class_name(name: str) -> Registration | None:
    """The family whose pipeline class is called ``name`` (model_index.json's ``_class_name``), or None."""
    return next((family for family in FAMILIES if any(cls.__name__ == name for cls in family.pipelines)), None)


def names() -> str:
    """The families, for messages: "Stable Diffusion 1/2/XL, Stable Diffusion 3/3.5, FLUX.1, …"."""
    return ", ".join(family.name for family in FAMILIES)
