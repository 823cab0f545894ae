"""1-layer transformers on modular arithmetic (paper Appendix B): tasks, ensemble model, trainer, analysis."""
