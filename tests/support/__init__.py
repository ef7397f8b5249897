"""Helpers the tests share: free ports, settings for a test broker, waiting for a fact."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The checkout the tests run from: where README.md, docs/ and the Makefile are."""
