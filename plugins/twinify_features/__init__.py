"""Built-in feature distributions and the missing-value wrapper."""
