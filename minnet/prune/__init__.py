"""Pruning: scores, masks, model-level pruning, surgery, schedules, loops."""

from .base import prunable_layers, unit_axis, weight_names
