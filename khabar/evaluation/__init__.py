"""Evaluation measures: PAN text-reuse measures, clustering measures."""
