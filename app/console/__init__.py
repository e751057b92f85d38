"""Audit console."""
