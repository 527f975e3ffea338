"""Imports every module that registers steps or faults, so that the registries are complete."""

from drdrill.drills import faults, steps

__all__ = ["faults", "steps"]
