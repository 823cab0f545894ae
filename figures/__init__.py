"""Matplotlib renderers of the paper's figures from saved run directories (never trains or simulates)."""
