"""The penalty weight decay applies: ||theta||^q with q = 2 (AdamW's decoupled decay is the L2 norm's), the
paper's setting throughout. Its own module so that code needing only the number imports no scipy."""
Q_L2 = 2.0
