"""Business logic: carts, checkout, the order state machine; no driver imports."""
