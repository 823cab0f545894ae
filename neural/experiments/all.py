"""The toolkit's experiments, registered in the order the paper's argument and the report take them."""
from neural.experiments import grokking, efficiency, ungrok, compare, semigrok  # noqa: F401
