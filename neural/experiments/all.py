"""The toolkit's experiments, registered by importing their modules; ORDER is the order the paper's argument, the
demo and the report take them (whatever order modules happen to be imported in)."""
from neural.experiments import grokking, efficiency, ungrok, compare, semigrok, scaling  # noqa: F401

ORDER = ("train", "efficiency", "ungrok", "compare", "semigrok", "scaling")
