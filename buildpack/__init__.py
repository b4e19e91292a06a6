"""buildpack-python: a classic (bin/detect, bin/compile, bin/release) Python buildpack."""
