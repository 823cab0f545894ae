"""Every metric a run logs, declared once (name: meaning), with which are cheap and which full, the metrics table's
first columns, and what a summary and a sweep's results table carry of each member's last row. Read by the
evaluation (neural.evaluation), the trainer's summary, the sweeps' results tables and readers; no torch here, so
that help and readers stay light."""

# The cheap metrics, measured at every evaluation.
CHEAP = {
    "train/loss": "mean cross-entropy on the member's training pairs D'",
    "test/loss": "mean cross-entropy on every other pair",
    "train/acc": "accuracy on D'",
    "test/acc": "accuracy on every other pair",
    "test/acc_unseen": "accuracy on pairs never trained on in any stage (an ungrokking child's parent's split too)",
    "test/acc_no_mirror": "accuracy on test pairs whose mirror (b, a) is not in D'",
    "train/label_logit": "mean centred logit of the label on D'",
    "norm/total": "L2 norm of all parameters",
}
# The full metrics, measured at the log-spaced evaluations and at a member's last row; by the task they need.
FULL_CYCLIC = {"gini/W_E": "Gini of W_E's Fourier component norms", "gini/W_L": "Gini of W_L's (= W_out W_U)"}
FULL_FOURIER = {
    "train/o_t": "Appendix C's trigonometric logit at the correct class", "test/o_t": "the same (input-independent)",
    "train/o_m": "Appendix C's memorisation logit at the correct class, mean over D'",
    "test/o_m": "the same over the other pairs",
    "restricted_loss": "Nanda's restricted loss (key frequencies and constant only, test pairs)",
    "excluded_loss": "Nanda's excluded loss (key frequencies removed, training pairs)",
    "n_key_freqs": "number of key frequencies (90% of W_L's Fourier norm, at most 10)",
}
# Measured by the trainer at full evaluations (it holds AdamW's moments): where AdamW has become L2 gradient descent.
FULL_ADAM = {
    "adam/small_v": "share of parameters whose bias-corrected sqrt(v) is below AdamW's eps",
    "adam/alpha_eff": "-<g, w>/|w|^2, g the training gradient: the L2 strength it balances (wd eps in eps's regime)",
}
FIRST = ("step", "member", "train/loss", "test/loss", "train/acc", "test/acc", "norm/total")  # the table's first

# A member's last row as its summary.json's "final" holds it, and the part of it a sweep's results table carries
# (the test-pair o_m and Nanda's two losses stay in each ensemble's summary).
FINAL = ("train/loss", "test/loss", "train/acc", "test/acc", "test/acc_unseen", "test/acc_no_mirror",
         "train/label_logit", "norm/total", "train/o_t", "train/o_m", "test/o_m", "restricted_loss", "excluded_loss",
         *FULL_ADAM)
RESULTS = FINAL[:10] + tuple(FULL_ADAM)
