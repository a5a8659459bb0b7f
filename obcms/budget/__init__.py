"""Budget: distribution of an amount over the children of a node, and its records."""
