"""Core of the CMK gallery image builder: request model, encryption mapping, and the `python -m core` CLI."""
