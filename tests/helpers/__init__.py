"""Helpers shared by the tests of several files (imported as `helpers.<module>`;
pyproject's pytest `pythonpath` puts tests/ on the path)."""
