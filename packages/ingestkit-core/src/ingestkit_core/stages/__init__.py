"""Stages: steps between processing and storing (see :mod:`ingestkit_core.stages.base`)."""

from ingestkit_core.stages.base import Stage

__all__ = ["Stage"]
