"""Experiments built from member specs: the sweep runner (runner.py) and one module per experiment."""
